/**
 * Examples as JSON lines: one example object per line (`task`, `prompt`,
 * `answer`, `phase`, `promptTokens` and the task's metadata). Files are
 * written atomically — a temporary file beside the target, then a rename —
 * so an interrupted write never leaves a truncated dataset.
 *
 * @module
 */

import { writeFileAtomic } from "@metatokens/tensor/fs";
import { preview, quote } from "@metatokens/tensor/quote";
import { type BaseExample, TASK_NAMES, type TaskExample, type TaskList, type TaskName } from "./example.ts";

/**
 * The JSONL text of examples (one line each, trailing newline).
 *
 * @example
 * ```ts
 * import { examplesToJsonl } from "@metatokens/tasks/jsonl";
 * const ex = { task: "parity" as const, prompt: "Bits: 1 _PAUSE_ Q: … _PAUSE_", answer: "1", phase: 1, promptTokens: 15, bits: [1], prefixLength: 1 };
 * console.log(examplesToJsonl([ex]).split("\n").length); // 2
 * ```
 */
export function examplesToJsonl(examples: Iterable<TaskExample>): string {
  let out = "";
  for (const ex of examples) out += JSON.stringify(ex) + "\n";
  return out;
}

/** Where a line is, for messages: `<source> line <n>`. */
type Where = string;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The own property `key` of `obj` (undefined when absent or inherited). */
function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function fieldError(where: Where, key: string, value: unknown, expected: string): TypeError {
  return new TypeError(
    value === undefined
      ? `${where} has no ${key}: expected ${expected}`
      : `${where} has ${key} ${preview(value)}: expected ${expected}`,
  );
}

function str(where: Where, obj: Record<string, unknown>, key: string): string {
  const value = own(obj, key);
  if (typeof value !== "string") throw fieldError(where, key, value, "a string");
  return value;
}

function int(
  where: Where,
  obj: Record<string, unknown>,
  key: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const value = own(obj, key);
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw fieldError(
      where,
      key,
      value,
      max === Number.MAX_SAFE_INTEGER
        ? min === 0 ? "a non-negative integer" : `an integer ≥ ${min}`
        : `an integer in [${min}, ${max}]`,
    );
  }
  return value as number;
}

function lists(where: Where, obj: Record<string, unknown>): TaskList[] {
  const value = own(obj, "lists");
  if (!Array.isArray(value) || value.length === 0) {
    throw fieldError(where, "lists", value, "a non-empty array of { category, items }");
  }
  return value.map((list: unknown, i: number) => {
    const key = `lists[${i}]`;
    if (!isObject(list)) throw fieldError(where, key, list, "{ category, items }");
    const items = own(list, "items");
    if (!Array.isArray(items) || !items.every((item) => typeof item === "string")) {
      throw fieldError(where, `${key}.items`, items, "an array of strings");
    }
    return { category: str(where, list, "category"), items: [...items] as string[] };
  });
}

/** Reads the task-specific fields of an example whose base fields are read, refusing a missing or bad one. */
function taskFields(where: Where, ex: Record<string, unknown>, base: BaseExample): TaskExample {
  switch (base.task) {
    case "list-recall": {
      const l = lists(where, ex);
      const target = int(where, ex, "target", 0, l.length - 1);
      return {
        ...base,
        task: "list-recall",
        lists: l,
        target,
        j: int(where, ex, "j", 1, l[target].items.length),
      };
    }
    case "segment-counting": {
      const l = lists(where, ex);
      const target = int(where, ex, "target", 0, l.length - 1);
      return { ...base, task: "segment-counting", lists: l, target, item: str(where, ex, "item") };
    }
    case "parity": {
      const bits = own(ex, "bits");
      if (!Array.isArray(bits) || bits.length === 0 || !bits.every((b) => b === 0 || b === 1)) {
        throw fieldError(where, "bits", bits, "a non-empty array of 0 and 1");
      }
      const prefixLength = int(where, ex, "prefixLength", 1, bits.length);
      return { ...base, task: "parity", bits: [...bits] as number[], prefixLength };
    }
    case "copying":
      return {
        ...base,
        task: "copying",
        document: str(where, ex, "document"),
        start: int(where, ex, "start"),
        prefixWords: int(where, ex, "prefixWords"),
        spanWords: int(where, ex, "spanWords"),
        suffixWords: int(where, ex, "suffixWords"),
        copyTokens: int(where, ex, "copyTokens"),
        distanceTokens: int(where, ex, "distanceTokens"),
      };
  }
}

/**
 * Reads one parsed JSONL line as an example: the base fields of every
 * example and the fields of its task (List Recall: `lists`, `target`, `j`;
 * Segment Counting: `lists`, `target`, `item`; Parity: `bits`,
 * `prefixLength`; Copying: `document`, `start`, the word and token counts),
 * each an own property of the right type and range. Unknown keys are left
 * out of the result.
 *
 * @param value The parsed line.
 * @param where `<source> line <n>`, for messages.
 * @throws {TypeError} A missing or malformed field, named.
 */
function readExample(value: unknown, where: Where): TaskExample {
  if (!isObject(value)) throw new TypeError(`${where} is ${preview(value)}: expected an example object`);
  const task = own(value, "task");
  if (!(TASK_NAMES as readonly unknown[]).includes(task)) {
    throw new TypeError(`${where} has task ${preview(task)}: expected one of ${TASK_NAMES.join(", ")}`);
  }
  const base: BaseExample = {
    task: task as TaskName,
    prompt: str(where, value, "prompt"),
    answer: str(where, value, "answer"),
    phase: int(where, value, "phase"),
    promptTokens: int(where, value, "promptTokens"),
  };
  return taskFields(where, value, base);
}

/**
 * Parses JSONL text back into examples; blank lines are skipped. Each line
 * must be a complete example of its task (the base fields and the task's
 * own, typed and in range); a line that is not JSON or has a missing or bad
 * field is an error naming `source`, the line and the field, quoting at most
 * about 200 characters of it.
 *
 * @example
 * ```ts
 * import { parseExamplesJsonl } from "@metatokens/tasks/jsonl";
 * const text = '{"task":"parity","prompt":"Bits: 1 _PAUSE_","answer":"1","phase":1,"promptTokens":5,"bits":[1],"prefixLength":1}\n';
 * console.log(parseExamplesJsonl(text)[0].answer); // "1"
 * ```
 */
export function parseExamplesJsonl(text: string, source = "JSONL text"): TaskExample[] {
  const out: TaskExample[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim().length === 0) return;
    const where = `${source} line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new SyntaxError(
        `${where} is not JSON (${(e as Error).message.slice(0, 200)}): ${quote(line, 80)}`,
      );
    }
    out.push(readExample(value, where));
  });
  return out;
}

/**
 * Decodes a JSONL file's bytes as UTF-8, refusing invalid bytes (never
 * replacing them) with the line and byte offset of the first one, then
 * parses it with {@linkcode parseExamplesJsonl}.
 *
 * @param bytes The file's contents.
 * @param source The file, for messages.
 * @throws {TypeError} Invalid UTF-8 (`<source> line <n> is not valid UTF-8 …`) or a bad example.
 * @throws {SyntaxError} A line that is not JSON.
 *
 * @example
 * ```ts
 * import { parseExamplesJsonlBytes } from "@metatokens/tasks/jsonl";
 * const bytes = new Uint8Array([0x7b, 0xff, 0x7d, 0x0a]);
 * try { parseExamplesJsonlBytes(bytes, "a.jsonl"); } catch (e) { console.log((e as Error).message); }
 * // a.jsonl line 1 is not valid UTF-8 (byte 0xff at offset 1)
 * ```
 */
export function parseExamplesJsonlBytes(bytes: Uint8Array, source: string): TaskExample[] {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw invalidUtf8(bytes, source);
  }
  return parseExamplesJsonl(text, source);
}

/** The error for the first invalid UTF-8 sequence of `bytes`, with its line and offset. */
function invalidUtf8(bytes: Uint8Array, source: string): TypeError {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let line = 1, start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x0a) continue;
    try {
      decoder.decode(bytes.subarray(start, i));
    } catch {
      // The first bad byte: the longest prefix of the line that decodes ends before it.
      let lo = start, hi = i; // bytes[start, lo) decode; bytes[start, hi) do not
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        try {
          new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(start, mid), { stream: true });
          lo = mid;
        } catch {
          hi = mid;
        }
      }
      return new TypeError(
        `${source} line ${line} is not valid UTF-8 (byte 0x${
          bytes[lo].toString(16).padStart(2, "0")
        } at offset ${lo}); expected UTF-8 text`,
      );
    }
    line++;
    start = i + 1;
  }
  return new TypeError(`${source} is not valid UTF-8; expected UTF-8 text`);
}

/**
 * Writes examples to a JSONL file atomically and durably (`@metatokens/tensor/fs`:
 * temporary file, fsync, rename, fsync of the folder).
 *
 * @example
 * ```ts
 * import { generateDataset, readExamplesJsonl, writeExamplesJsonl } from "@metatokens/tasks";
 * const dir = Deno.makeTempDirSync();
 * const examples = generateDataset("parity", 1, 3, 7);
 * await writeExamplesJsonl(`${dir}/parity.jsonl`, examples);
 * console.log((await readExamplesJsonl(`${dir}/parity.jsonl`)).length); // 3
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function writeExamplesJsonl(path: string, examples: Iterable<TaskExample>): Promise<void> {
  await writeFileAtomic(path, examplesToJsonl(examples));
}

/**
 * Reads a JSONL file of examples ({@linkcode parseExamplesJsonlBytes}: UTF-8
 * only, every field of every task checked); errors name the file and line.
 *
 * @example
 * ```ts
 * import { readExamplesJsonl } from "@metatokens/tasks/jsonl";
 * const dir = Deno.makeTempDirSync();
 * const line = { task: "parity", prompt: "p", answer: "1", phase: 2, promptTokens: 1, bits: [1, 0], prefixLength: 1 };
 * Deno.writeTextFileSync(`${dir}/a.jsonl`, JSON.stringify(line) + "\n");
 * console.log((await readExamplesJsonl(`${dir}/a.jsonl`))[0].phase); // 2
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function readExamplesJsonl(path: string): Promise<TaskExample[]> {
  return parseExamplesJsonlBytes(await Deno.readFile(path), `"${path}"`);
}
