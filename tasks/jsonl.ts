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
import { TASK_NAMES, type TaskExample } from "./example.ts";

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

/**
 * Parses JSONL text back into examples; blank lines are skipped. A line that
 * is not JSON or lacks a field is an error naming `source` and the line, quoting
 * at most about 200 characters of it.
 *
 * @example
 * ```ts
 * import { parseExamplesJsonl } from "@metatokens/tasks/jsonl";
 * const text = '{"task":"parity","prompt":"Bits: 1 _PAUSE_","answer":"1","phase":1,"promptTokens":5}\n';
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
    const ex = value as Record<string, unknown>;
    if (typeof ex !== "object" || ex === null || Array.isArray(ex)) {
      throw new TypeError(`${where} is ${preview(value)}: expected an example object`);
    }
    if (!(TASK_NAMES as readonly unknown[]).includes(ex.task)) {
      throw new TypeError(
        `${where} has task ${preview(ex.task)}: expected one of ${TASK_NAMES.join(", ")}`,
      );
    }
    for (const key of ["prompt", "answer"]) {
      if (typeof ex[key] !== "string") {
        throw new TypeError(`${where} has ${key} ${preview(ex[key])}: expected a string`);
      }
    }
    for (const key of ["phase", "promptTokens"]) {
      if (!Number.isInteger(ex[key]) || (ex[key] as number) < 0) {
        throw new TypeError(
          `${where} has ${key} ${preview(ex[key])}: expected a non-negative integer`,
        );
      }
    }
    out.push(ex as unknown as TaskExample);
  });
  return out;
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
 * Reads a JSONL file of examples; errors name the file and line.
 *
 * @example
 * ```ts
 * import { readExamplesJsonl } from "@metatokens/tasks/jsonl";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/a.jsonl`, '{"task":"copying","prompt":"p","answer":"a","phase":2,"promptTokens":1}\n');
 * console.log((await readExamplesJsonl(`${dir}/a.jsonl`))[0].phase); // 2
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function readExamplesJsonl(path: string): Promise<TaskExample[]> {
  return parseExamplesJsonl(await Deno.readTextFile(path), `"${path}"`);
}
