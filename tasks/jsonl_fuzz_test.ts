/**
 * Seeded fuzzing of the task JSONL reader (issue 14): files of generated
 * examples, edited at random (JSON values, text, bytes, invalid UTF-8) and by
 * known-invalid edits (a task's field removed or mistyped, a bad byte), read
 * with {@linkcode parseExamplesJsonlBytes}. Every case must end in examples
 * that satisfy their task's schema, or in a `TypeError` / `SyntaxError` naming
 * the line, within a bounded time; known-invalid files are never accepted.
 * `METATOKENS_FUZZ_CASES` scales it (`deno task fuzz`).
 */

import assert from "node:assert/strict";
import { fuzz, type FuzzCase, JSON_BREAKERS, NASTY_VALUES, pick } from "../tensor/_testing/fuzz.ts";
import type { Rng } from "@metatokens/tensor/rng";
import { generateDataset } from "./dataset.ts";
import { TASK_NAMES, type TaskExample } from "./example.ts";
import { parseExamplesJsonlBytes } from "./jsonl.ts";

/** The fields of each task besides the base ones, and what a valid value is. */
const TASK_FIELDS: Record<string, string[]> = {
  "list-recall": ["lists", "target", "j"],
  "segment-counting": ["lists", "target", "item"],
  "parity": ["bits", "prefixLength"],
  "copying": ["document", "start", "prefixWords", "spanWords", "suffixWords", "copyTokens", "distanceTokens"],
};
const BASE_FIELDS = ["task", "prompt", "answer", "phase", "promptTokens"];
const STRING_FIELDS = new Set(["prompt", "answer", "item", "document"]);

const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

/** What an accepted example must satisfy, checked independently of the reader. */
function checkAccepted(ex: TaskExample): void {
  assert.ok(TASK_NAMES.includes(ex.task));
  assert.equal(typeof ex.prompt, "string");
  assert.equal(typeof ex.answer, "string");
  assert.ok(isCount(ex.phase) && isCount(ex.promptTokens));
  for (const key of [...BASE_FIELDS, ...TASK_FIELDS[ex.task]]) assert.ok(Object.hasOwn(ex, key), key);
  switch (ex.task) {
    case "parity":
      assert.ok(ex.bits.length > 0 && ex.bits.every((b) => b === 0 || b === 1));
      assert.ok(
        Number.isSafeInteger(ex.prefixLength) && ex.prefixLength >= 1 && ex.prefixLength <= ex.bits.length,
      );
      break;
    case "list-recall":
    case "segment-counting":
      assert.ok(
        ex.lists.every((l) => typeof l.category === "string" && l.items.every((i) => typeof i === "string")),
      );
      assert.ok(Number.isSafeInteger(ex.target) && ex.target >= 0 && ex.target < ex.lists.length);
      if (ex.task === "list-recall") assert.ok(ex.j >= 1 && ex.j <= ex.lists[ex.target].items.length);
      else assert.equal(typeof ex.item, "string");
      break;
    case "copying":
      assert.equal(typeof ex.document, "string");
      for (
        const k of [
          "start",
          "prefixWords",
          "spanWords",
          "suffixWords",
          "copyTokens",
          "distanceTokens",
        ] as const
      ) {
        assert.ok(isCount(ex[k]), k);
      }
  }
}

const encoder = new TextEncoder();

/** A known-invalid edit of one line's example: a task field or a base field removed or mistyped. */
function invalidLine(rng: Rng, ex: Record<string, unknown>): string {
  const fields = [...BASE_FIELDS, ...TASK_FIELDS[ex.task as string]];
  const key = pick(rng, fields);
  if (rng.int(2) === 0) delete ex[key];
  else {
    ex[key] = key === "task"
      ? pick(rng, ["xor", "", "List Recall", "toString", null])
      : pick(rng, [null, true, {}, -1, 1.5, 2 ** 53, ["x"], STRING_FIELDS.has(key) ? 1 : "1"]);
  }
  return JSON.stringify(ex);
}

function randomLineEdit(rng: Rng, ex: Record<string, unknown>): string {
  switch (rng.int(4)) {
    case 0: {
      const key = pick(rng, Object.keys(ex));
      ex[key] = pick(rng, NASTY_VALUES);
      return JSON.stringify(ex);
    }
    case 1: {
      const line = JSON.stringify(ex);
      const at = rng.int(line.length + 1);
      const insert = pick(rng, [...JSON_BREAKERS, "\n", "é"]);
      return line.slice(0, at) + insert + line.slice(at + rng.int(3));
    }
    case 2: {
      const lists = ex.lists as { items: unknown[] }[] | undefined;
      if (lists && lists.length > 0) pick(rng, lists).items.push(pick(rng, NASTY_VALUES));
      else if (Array.isArray(ex.bits)) ex.bits.push(pick(rng, [0, 1, 2, "1", null]));
      return JSON.stringify(ex);
    }
    default:
      return JSON.stringify(ex).slice(0, rng.int(200));
  }
}

Deno.test("task JSONL fuzz: seeded edits read as valid examples or end in a typed error naming the line", async () => {
  const pool = TASK_NAMES.flatMap((task) => generateDataset(task, 1, 8, 14));
  const summary = await fuzz(
    { name: "task JSONL", seed: 14_8, cases: 3000, maxCaseMs: 250 },
    (rng): FuzzCase => {
      const n = 1 + rng.int(4);
      const lines = Array.from({ length: n }, () => JSON.stringify(pick(rng, pool)));
      const target = rng.int(n);
      const kind = rng.int(4);
      let invalid = false, label = "valid";
      let bytes: Uint8Array;
      if (kind === 0) {
        invalid = true;
        label = "invalid field";
        lines[target] = invalidLine(rng, JSON.parse(lines[target]));
        bytes = encoder.encode(lines.join("\n") + "\n");
      } else if (kind === 1) {
        invalid = true;
        label = "invalid UTF-8";
        bytes = encoder.encode(lines.join("\n") + "\n");
        // A byte never valid in UTF-8, a lone continuation byte, or a cut multi-byte sequence.
        const at = rng.int(bytes.length);
        const bad = pick(rng, [[0xff], [0xc0, 0x80], [0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80]]);
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...bad, 0x41, ...bytes.subarray(at)]);
      } else if (kind === 2) {
        label = "random edit";
        lines[target] = randomLineEdit(rng, JSON.parse(lines[target]));
        bytes = encoder.encode(lines.join(pick(rng, ["\n", "\r\n"])));
      } else {
        label = "valid";
        bytes = encoder.encode(lines.join("\n") + pick(rng, ["", "\n", "\n\n  \n"]));
      }
      return {
        invalid,
        label,
        read: () => {
          const examples = parseExamplesJsonlBytes(bytes, "f.jsonl");
          for (const ex of examples) checkAccepted(ex);
          if (kind === 3) assert.equal(examples.length, n);
        },
      };
    },
    (e) =>
      (e instanceof TypeError || e instanceof SyntaxError) &&
      /^f\.jsonl (line \d+ |is not valid UTF-8)/.test(e.message),
  );
  assert.ok(summary.invalid > summary.cases / 3, `only ${summary.invalid} known-invalid cases`);
  assert.ok(summary.accepted > summary.cases / 5, `only ${summary.accepted} accepted cases`);
});
