import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import {
  corpusFormat,
  type DocumentPiece,
  documentsToPieces,
  InvalidUtf8Error,
  readDocumentPieces,
  readLines,
  safeCut,
} from "./documents.ts";
import { encode } from "./tokenizer.ts";

async function collect(it: AsyncIterable<DocumentPiece>): Promise<DocumentPiece[]> {
  const out: DocumentPiece[] = [];
  for await (const p of it) out.push(p);
  return out;
}

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = await Deno.makeTempDir({ prefix: "metatokens-docs-" });
    try {
      await fn(dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  };
}

Deno.test("formats by file name; unknown endings are an error naming the file", () => {
  assert.equal(corpusFormat("a.txt"), "txt");
  assert.equal(corpusFormat("a.jsonl"), "jsonl");
  assert.equal(corpusFormat("c4-train.00000-of-01024.json.gz"), "jsonl.gz");
  assert.equal(corpusFormat("a.jsonl.gz"), "jsonl.gz");
  assert.throws(() => corpusFormat("a.csv"), /Cannot read corpus "a\.csv": unsupported file type; expected/);
});

Deno.test(
  ".txt: the whole file is one document, or one per blank-line separated paragraph",
  withDir(async (dir) => {
    const path = join(dir, "a.txt");
    await Deno.writeTextFile(path, "First para\nline two.\n\n  \nSecond para.\r\n\n\n");
    const whole = await collect(readDocumentPieces(path));
    assert.deepEqual(whole, [{ text: "First para\nline two.\n\n  \nSecond para.\r\n\n\n", end: true }]);
    const paras = await collect(readDocumentPieces(path, { txt: "paragraphs" }));
    assert.deepEqual(paras, [{ text: "First para\nline two.", end: true }, {
      text: "Second para.",
      end: true,
    }]);
    await Deno.writeTextFile(join(dir, "empty.txt"), "");
    assert.deepEqual(await collect(readDocumentPieces(join(dir, "empty.txt"))), []);
    assert.throws(
      () => readDocumentPieces(path, { txt: "lines" as "file" }),
      /Cannot split text files by "lines"/,
    );
  }),
);

Deno.test("safe cuts never change GPT-2 tokens: pieces of a long text encode exactly like the whole", async () => {
  const parts = [
    "The  quick brown fox's tail,\n\n\nand a newline\nthen 123 456 words.\n",
    "  Indented\tline with tabs\n\n",
    "Café naïve don't you'll 日本語 text\r\nmore\n",
  ];
  let text = "";
  for (let i = 0; i < 400; i++) text += parts[i % 3];
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "long.txt");
    await Deno.writeTextFile(path, text);
    const pieces = await collect(readDocumentPieces(path, { pieceChars: 500 }));
    assert.ok(pieces.length > 20, `${pieces.length} pieces`);
    assert.equal(pieces.map((p) => p.text).join(""), text);
    assert.deepEqual(pieces.map((p) => p.end), pieces.map((_, i) => i === pieces.length - 1));
    const joined: number[] = [];
    for (const p of pieces) joined.push(...encode(p.text));
    assert.deepEqual(joined, Array.from(encode(text)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(safeCut("one two"), 3);
  assert.equal(safeCut("a\nb"), 2);
  assert.equal(safeCut("a\n\nb"), -1);
  assert.equal(safeCut("a  b"), -1);
});

Deno.test(
  ".jsonl and gzip C4 shards: one document per line's text field, blank lines and empty texts skipped",
  withDir(async (dir) => {
    const lines = '{"text":"Hello world","url":"u"}\n\n{"text":""}\n{"text":"Line _PAUSE_ two\\nsecond"}\n';
    await Deno.writeTextFile(join(dir, "a.jsonl"), lines);
    await Deno.writeFile(
      join(dir, "c4-train.00000-of-01024.json.gz"),
      gzipSync(new TextEncoder().encode(lines)),
    );
    const expected = [{ text: "Hello world", end: true }, { text: "Line _PAUSE_ two\nsecond", end: true }];
    assert.deepEqual(await collect(readDocumentPieces(join(dir, "a.jsonl"))), expected);
    assert.deepEqual(
      await collect(readDocumentPieces(join(dir, "c4-train.00000-of-01024.json.gz"))),
      expected,
    );
  }),
);

Deno.test(
  "invalid JSON lines and missing text fields name the file and the line number",
  withDir(async (dir) => {
    const bad = join(dir, "bad.jsonl");
    await Deno.writeTextFile(bad, '{"text":"ok"}\n{"text": "unterminated\n');
    await assert.rejects(
      () => collect(readDocumentPieces(bad)),
      /Cannot read corpus ".*bad\.jsonl" at line 2: invalid JSON \(.*\); expected one JSON object per line/,
    );
    const noText = join(dir, "notext.jsonl");
    await Deno.writeTextFile(noText, '{"text":"ok"}\n\n{"body":"x","id":3}\n');
    await assert.rejects(
      () => collect(readDocumentPieces(noText)),
      /at line 3: found an object with keys \["body","id"\]; expected a JSON object with a "text" string field/,
    );
    const arr = join(dir, "arr.jsonl");
    await Deno.writeTextFile(arr, "[1,2]\n");
    await assert.rejects(() => collect(readDocumentPieces(arr)), /at line 1: found \[1,2\]/);
  }),
);

Deno.test(
  "non-UTF-8 bytes raise InvalidUtf8Error naming the file; truncated gzip is a clear error",
  withDir(async (dir) => {
    const latin1 = join(dir, "latin1.txt");
    await Deno.writeFile(latin1, new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6f, 0x6b])); // "café ok" in Latin-1
    await assert.rejects(() => collect(readDocumentPieces(latin1)), InvalidUtf8Error);
    await assert.rejects(() => collect(readDocumentPieces(latin1)), /latin1\.txt": it is not valid UTF-8/);
    const gz = gzipSync(new TextEncoder().encode('{"text":"hello"}\n'.repeat(100)));
    const cut = join(dir, "cut.json.gz");
    await Deno.writeFile(cut, gz.subarray(0, gz.length - 10));
    await assert.rejects(() => collect(readDocumentPieces(cut)), /Cannot read corpus ".*cut\.json\.gz"/);
    await assert.rejects(
      () => collect(readDocumentPieces(join(dir, "missing.txt"))),
      /Cannot read corpus ".*missing\.txt"/,
    );
  }),
);

Deno.test(
  "lines stream across chunk boundaries and CRLF endings",
  withDir(async (dir) => {
    const path = join(dir, "big.txt");
    const lines = Array.from({ length: 50000 }, (_, i) => `line ${i} ${"x".repeat(i % 13)}`);
    await Deno.writeTextFile(path, lines.join("\r\n"));
    const got: string[] = [];
    for await (const line of readLines(path)) got.push(line);
    assert.deepEqual(got, lines);
  }),
);

Deno.test("whole documents become single pieces; empty ones are dropped", async () => {
  assert.deepEqual(await collect(documentsToPieces(["a", "", "b"])), [
    { text: "a", end: true },
    { text: "b", end: true },
  ]);
});

Deno.test(
  "issue 14: multi-member and zero-padded gzip shards read whole (as `cat a.gz b.gz` makes)",
  withDir(async (dir) => {
    const a = gzipSync('{"text":"first"}\n'), b = gzipSync('{"text":"second"}\n');
    const multi = join(dir, "multi.jsonl.gz"), padded = join(dir, "padded.json.gz");
    await Deno.writeFile(multi, new Uint8Array([...a, ...b]));
    await Deno.writeFile(padded, new Uint8Array([...a, ...b, ...new Uint8Array(1024)]));
    const expected = [{ text: "first", end: true }, { text: "second", end: true }];
    assert.deepEqual(await collect(readDocumentPieces(multi)), expected);
    assert.deepEqual(await collect(readDocumentPieces(padded)), expected);
    const garbage = join(dir, "garbage.json.gz");
    await Deno.writeFile(garbage, new Uint8Array([...a, 0x42, 0x42]));
    await assert.rejects(
      () => collect(readDocumentPieces(garbage)),
      /Cannot read corpus ".*garbage\.json\.gz": incorrect header check; expected a complete gzip file/,
    );
  }),
);

Deno.test(
  "issue 14: corpus errors quote at most about 200 characters of the line",
  withDir(async (dir) => {
    const huge = "k".repeat(2_000_000);
    const cases = [
      `{"${huge}":1}`,
      `"${huge}"`,
      `[${"1,".repeat(500_000)}1]`,
      `{"text": "${huge}`,
      "[".repeat(100_000) + "]".repeat(100_000),
    ];
    for (const [i, line] of cases.entries()) {
      const path = join(dir, `c${i}.jsonl`);
      await Deno.writeTextFile(path, line + "\n");
      const error = await collect(readDocumentPieces(path)).then(() => null, (e: Error) => e);
      assert.ok(error instanceof SyntaxError || error instanceof TypeError, String(error));
      assert.ok(error.message.length < 700, `case ${i}: ${error.message.length} characters`);
    }
  }),
);
