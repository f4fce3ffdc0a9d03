/**
 * Seeded fuzzing of corpus reading and of token cache manifests (issue 14).
 *
 * Corpus files (`.txt`, `.jsonl`, `.json.gz`) of generated text — long runs
 * without whitespace, non-ASCII, control characters, JSON edits, invalid
 * UTF-8, gzip cut, corrupted, concatenated or padded — are read with
 * {@linkcode readDocumentPieces} and tokenized; each case must end in tokens
 * (ids within the vocabulary) or in a typed "Cannot read corpus …" error
 * within a bounded time. Manifests, valid and edited, are read with
 * {@linkcode parseCacheManifest}; each must end in a manifest that satisfies
 * its invariants or in a typed error, and known-invalid ones are refused.
 * `METATOKENS_FUZZ_CASES` scales both (`deno task fuzz`).
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { fuzz, type FuzzCase, NASTY_VALUES, pick, randomBytes } from "../tensor/_testing/fuzz.ts";
import type { Rng } from "@metatokens/tensor/rng";
import { InvalidUtf8Error, readDocumentPieces } from "./documents.ts";
import { computeSplit, MANIFEST_KEYS, parseCacheManifest } from "./manifest.ts";
import { encode, META_ID } from "./tokenizer.ts";

const WORDS = [
  "the",
  "cat",
  "é",
  "日本",
  "🙂",
  "_PAUSE_",
  "\t",
  "\u0000",
  "'s",
  "123",
  "\r\n",
  "\n\n",
  " ",
  "x",
];

/** Random text: words, spaces and now and then a long run without whitespace. */
function randomText(rng: Rng): string {
  let out = "";
  for (let n = rng.int(40); n > 0; n--) {
    out += rng.int(30) === 0 ? pick(rng, ["a", "7", "é", "-"]).repeat(rng.int(20_000)) : pick(rng, WORDS);
    if (rng.int(2) === 0) out += " ";
  }
  return out;
}

function randomJsonl(rng: Rng): string {
  const lines: string[] = [];
  for (let n = rng.int(6); n > 0; n--) {
    const doc: Record<string, unknown> = { text: randomText(rng) };
    if (rng.int(4) === 0) doc.url = "http://x";
    let line = JSON.stringify(doc);
    switch (rng.int(8)) {
      case 0:
        line = JSON.stringify({ ...doc, text: pick(rng, NASTY_VALUES) });
        break;
      case 1:
        line = JSON.stringify(pick(rng, NASTY_VALUES));
        break;
      case 2: {
        const at = rng.int(line.length + 1);
        line = line.slice(0, at) + pick(rng, ["{", "}", '"', "\\", ",", "\u0000"]) + line.slice(at);
        break;
      }
    }
    lines.push(line);
  }
  return lines.join(pick(rng, ["\n", "\r\n"])) + pick(rng, ["", "\n"]);
}

const encoder = new TextEncoder();

/** A corpus file's name and bytes, sometimes corrupted. */
function corpusFile(rng: Rng): { name: string; bytes: Uint8Array; label: string } {
  const format = pick(rng, ["txt", "jsonl", "json.gz"]);
  let bytes: Uint8Array = encoder.encode(format === "txt" ? randomText(rng) : randomJsonl(rng));
  let label = format;
  if (rng.int(5) === 0) {
    const at = rng.int(bytes.length + 1);
    bytes = Uint8Array.from([...bytes.subarray(0, at), pick(rng, [0xff, 0x80, 0xc3]), ...bytes.subarray(at)]);
    label += " with a bad byte";
  }
  if (format === "json.gz") {
    let gz: Uint8Array = gzipSync(bytes);
    switch (rng.int(6)) {
      case 0:
        gz = gz.subarray(0, rng.int(gz.length + 1));
        label += " cut";
        break;
      case 1: {
        gz = Uint8Array.from(gz);
        for (let k = 1 + rng.int(3); k > 0; k--) gz[rng.int(gz.length)] = rng.int(256);
        label += " corrupted";
        break;
      }
      case 2:
        gz = Uint8Array.from([...gz, ...gzipSync(encoder.encode(randomJsonl(rng)))]);
        label += " two members";
        break;
      case 3:
        gz = Uint8Array.from([...gz, ...new Uint8Array(rng.int(1024))]);
        label += " zero-padded";
        break;
      case 4:
        gz = Uint8Array.from([...gz, ...randomBytes(rng, 1 + rng.int(64))]);
        label += " trailing garbage";
        break;
    }
    bytes = gz;
  }
  return { name: `c.${format}`, bytes, label };
}

Deno.test("corpus fuzz: seeded corpus files tokenize or end in a typed error naming the file, quickly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await fuzz(
      { name: "corpus", seed: 14_7, cases: 1500, maxCaseMs: 2000 },
      async (rng): Promise<FuzzCase> => {
        const file = corpusFile(rng);
        const path = join(dir, file.name);
        await Deno.writeFile(path, file.bytes);
        return {
          invalid: false,
          label: file.label,
          read: async () => {
            for await (const piece of readDocumentPieces(path, { txt: pick(rng, ["file", "paragraphs"]) })) {
              assert.equal(typeof piece.text, "string");
              for (const id of encode(piece.text)) {
                assert.ok(Number.isInteger(id) && id >= 0 && id <= META_ID);
              }
            }
          },
        };
      },
      (e) =>
        (e instanceof InvalidUtf8Error || e instanceof Error) &&
        new RegExp(`^Cannot read corpus "${dir}/c\\.`).test((e as Error).message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A valid manifest of random sizes. */
function validManifest(rng: Rng): Record<string, unknown> {
  const blockSize = 1 + rng.int(512);
  const tokens = 2 * (blockSize + 1) + rng.int(1_000_000);
  const valFraction = pick(rng, [0.05, 0.1, 0.5, 0.01, 0.3]);
  return {
    version: 1,
    tokenizer: "gpt2",
    dtype: "uint16le",
    txt: pick(rng, ["file", "paragraphs"]),
    sources: Array.from(
      { length: rng.int(4) },
      (_, i) => ({ path: `/c/${i}.txt`, size: rng.int(1e9), mtimeMs: 1.7e12 + i }),
    ),
    skipped: rng.int(3) === 0 ? ["/c/bad.txt"] : [],
    documents: rng.int(tokens + 1),
    tokens,
    valFraction,
    blockSize,
    split: computeSplit(tokens, valFraction, blockSize),
  };
}

Deno.test("manifest fuzz: seeded manifests read as consistent or end in a typed error; invalid ones are refused", async () => {
  const summary = await fuzz(
    { name: "manifest", seed: 14_4, cases: 3000, maxCaseMs: 250 },
    (rng): FuzzCase => {
      const m = validManifest(rng);
      const kind = rng.int(4);
      let invalid = false, label = "valid", text = JSON.stringify(m);
      if (kind === 0) {
        invalid = true;
        const key = pick(rng, MANIFEST_KEYS);
        label = `invalid ${key}`;
        if (rng.int(3) === 0) delete m[key];
        else if (key === "split") {
          const s = m.split as { train: number[]; val: number[] };
          m.split = { train: [0, s.train[1] + 1 + rng.int(10)], val: s.val };
        } else if (key === "documents") m.documents = (m.tokens as number) + 1 + rng.int(10);
        else if (key === "sources") m.sources = [{ path: "/a", size: -1, mtimeMs: 0 }];
        else if (key === "skipped") m.skipped = [1];
        else m[key] = pick(rng, [null, "2", -1, 1.5, {}, [], 0]);
        // A valFraction of 0.5 or 1.5 may still be valid numerically; make it surely out of range.
        if (key === "valFraction" && typeof m.valFraction === "number") {
          m.valFraction = pick(rng, [0, -1, 1, 1.5]);
        }
        if (key === "blockSize" && m.blockSize === 0) m.blockSize = -1;
        text = JSON.stringify(m);
      } else if (kind === 1) {
        label = "random edit";
        if (rng.int(2) === 0) {
          m[pick(rng, MANIFEST_KEYS)] = pick(rng, NASTY_VALUES);
          text = JSON.stringify(m);
        } else {
          const at = rng.int(text.length + 1);
          text = text.slice(0, at) + pick(rng, ["{", "}", "[", "]", ",", '"', "1", "-", "e9", "\u0000"]) +
            text.slice(at + rng.int(3));
        }
      } else if (kind === 2) {
        invalid = true;
        label = "unknown key";
        text = JSON.stringify({ ...m, [pick(rng, ["toString", "__proto__x", "extra", "Version"])]: 1 });
      }
      return {
        invalid,
        label,
        read: () => {
          const r = parseCacheManifest(text, "m.json");
          const [a, b] = r.split.train, [c, d] = r.split.val;
          assert.ok(a === 0 && a <= b && b === c && c <= d && d === r.tokens);
          assert.ok(b - a > r.blockSize && d - c > r.blockSize);
          assert.ok(r.documents <= r.tokens && r.valFraction > 0 && r.valFraction < 1);
        },
      };
    },
    (e) =>
      (e instanceof TypeError || e instanceof RangeError || e instanceof SyntaxError) &&
      /^Cannot read token cache manifest "m\.json": /.test(e.message),
  );
  assert.ok(summary.invalid > summary.cases / 3, `only ${summary.invalid} known-invalid cases`);
  assert.ok(summary.accepted > summary.cases / 5, `only ${summary.accepted} accepted cases`);
});
