import assert from "node:assert/strict";
import { generateDataset } from "./dataset.ts";
import { TASK_NAMES, type TaskName } from "./example.ts";
import {
  examplesToJsonl,
  parseExamplesJsonl,
  parseExamplesJsonlBytes,
  readExamplesJsonl,
  writeExamplesJsonl,
} from "./jsonl.ts";

Deno.test("examples of every task round-trip through a JSONL file; one object per line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const examples = TASK_NAMES.flatMap((t) => generateDataset(t, 1, 3, 8));
    const path = `${dir}/tasks.jsonl`;
    await writeExamplesJsonl(path, examples);
    const text = await Deno.readTextFile(path);
    assert.equal(text.split("\n").length, examples.length + 1);
    for (const line of text.trim().split("\n")) {
      const o = JSON.parse(line);
      assert.deepEqual(
        ["prompt", "answer", "phase", "task", "promptTokens"].every((k) => k in o),
        true,
      );
    }
    assert.deepEqual(await readExamplesJsonl(path), examples);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["tasks.jsonl"]); // no temp file left
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writes are atomic: an existing file is replaced whole; a failed write leaves it and no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/d.jsonl`;
    await writeExamplesJsonl(path, generateDataset("parity", 1, 4, 1));
    await writeExamplesJsonl(path, generateDataset("parity", 1, 2, 2));
    assert.equal((await readExamplesJsonl(path)).length, 2);
    const bad = {
      [Symbol.iterator]: function* () {
        yield generateDataset("parity", 1, 1, 3)[0];
        throw new Error("generator died");
      },
    };
    await assert.rejects(() => writeExamplesJsonl(path, bad), /generator died/);
    assert.equal((await readExamplesJsonl(path)).length, 2);
    await assert.rejects(() => writeExamplesJsonl(`${dir}/missing/x.jsonl`, []), Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["d.jsonl"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad lines are errors naming the source, line and field", () => {
  const ok =
    '{"task":"parity","prompt":"p","answer":"1","phase":1,"promptTokens":3,"bits":[1],"prefixLength":1}';
  assert.equal(parseExamplesJsonl(`${ok}\n\n${ok}\n`).length, 2);
  assert.throws(() => parseExamplesJsonl(`${ok}\n{oops`, "f.jsonl"), /f\.jsonl line 2 is not JSON/);
  assert.throws(() => parseExamplesJsonl("[1]"), /line 1 is \[1\]: expected an example object/);
  assert.throws(
    () => parseExamplesJsonl(ok.replace('"parity"', '"xor"')),
    /line 1 has task "xor": expected one of list-recall/,
  );
  assert.throws(
    () => parseExamplesJsonl(ok.replace('"answer":"1"', '"answer":1')),
    /has answer 1: expected a string/,
  );
  assert.throws(
    () => parseExamplesJsonl(ok.replace('"phase":1', '"phase":"1"')),
    /has phase "1": expected a non-negative/,
  );
  assert.equal(examplesToJsonl([]), "");
});

Deno.test("issue 14: errors quote at most about 200 characters of a line", () => {
  const huge = "h".repeat(5_000_000);
  const ok = '"prompt":"p","answer":"a","phase":1,"promptTokens":1';
  const lines = [
    `{"task":"${huge}",${ok}}`,
    `{"task":"parity","prompt":["${huge}"],"answer":"a","phase":1,"promptTokens":1}`,
    `{"task":"parity",${ok.replace('"phase":1', `"phase":"${huge}"`)}}`,
    `["${huge}"]`,
    `{"task": "${huge}`,
    "[".repeat(1_000_000) + "]".repeat(1_000_000),
  ];
  for (const [i, line] of lines.entries()) {
    try {
      parseExamplesJsonl(line, "big.jsonl");
      assert.fail(`line ${i} was accepted`);
    } catch (e) {
      assert.ok(e instanceof SyntaxError || e instanceof TypeError, String(e));
      assert.ok(e.message.length < 600, `line ${i}: ${e.message.length} characters`);
      assert.match(e.message, /^big\.jsonl line 1 /);
    }
  }
});

Deno.test("issue 14 (8): non-UTF-8 bytes are refused with the line, never replaced", async () => {
  const good = examplesToJsonl(generateDataset("parity", 1, 2, 3));
  const bytes = new TextEncoder().encode(good + good);
  const lines = good.split("\n").length - 1;
  // A stray byte inside the third line's prompt.
  const third = new TextEncoder().encode(good).length + 10;
  const bad = Uint8Array.from(bytes);
  bad[third] = 0xff;
  assert.throws(
    () => parseExamplesJsonlBytes(bad, "t.jsonl"),
    {
      name: "TypeError",
      message: `t.jsonl line ${
        lines + 1
      } is not valid UTF-8 (byte 0xff at offset ${third}); expected UTF-8 text`,
    },
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/bad.jsonl`, bad);
    await assert.rejects(
      () => readExamplesJsonl(`${dir}/bad.jsonl`),
      /bad\.jsonl" line 3 is not valid UTF-8/,
    );
    await Deno.writeFile(`${dir}/good.jsonl`, bytes);
    assert.equal((await readExamplesJsonl(`${dir}/good.jsonl`)).length, 4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("issue 14 (8): every task's own fields are required and typed", () => {
  const examples = TASK_NAMES.map((task) => generateDataset(task, 1, 1, 5)[0]);
  assert.deepEqual(parseExamplesJsonl(examplesToJsonl(examples)), examples);
  const edits: [string, (ex: Record<string, unknown>) => void, RegExp][] = [
    ["parity", (ex) => delete ex.bits, /line 1 has no bits: expected a non-empty array of 0 and 1$/],
    ["parity", (ex) => ex.bits = [1, 2], /has bits \[1,2\]: expected a non-empty array of 0 and 1$/],
    [
      "parity",
      (ex) => ex.prefixLength = 10_000,
      /has prefixLength 10000: expected an integer in \[1, \d+\]$/,
    ],
    ["list-recall", (ex) => delete ex.lists, /has no lists: expected a non-empty array/],
    ["list-recall", (ex) => ex.target = -1, /has target -1: expected an integer in \[0, \d+\]$/],
    ["list-recall", (ex) => ex.j = 0, /has j 0: expected an integer in \[1, \d+\]$/],
    [
      "list-recall",
      (ex) => (ex.lists as { items: unknown[] }[])[0].items = [1],
      /has lists\[0\]\.items \[1\]/,
    ],
    ["segment-counting", (ex) => delete ex.item, /has no item: expected a string$/],
    ["copying", (ex) => ex.start = 1.5, /has start 1\.5: expected a non-negative integer$/],
    ["copying", (ex) => delete ex.document, /has no document: expected a string$/],
    ["copying", (ex) => ex.promptTokens = 2 ** 60, /has promptTokens 1152921504606847000/],
  ];
  for (const [task, edit, message] of edits) {
    const ex = JSON.parse(JSON.stringify(examples[TASK_NAMES.indexOf(task as TaskName)]));
    edit(ex);
    assert.throws(
      () => parseExamplesJsonl(JSON.stringify(ex), "e.jsonl"),
      { name: "TypeError", message },
      task,
    );
  }
  // An inherited field is not a field.
  const parity = JSON.parse(JSON.stringify(examples[2]));
  delete parity.bits;
  assert.throws(
    () => parseExamplesJsonl(JSON.stringify(parity).replace("{", '{"__proto__":{"bits":[1]},')),
    /has no bits/,
  );
});
