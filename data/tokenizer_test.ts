import assert from "node:assert/strict";
import { encode as bpeEncode } from "gpt-tokenizer/encoding/r50k_base";
import {
  decode,
  encode,
  EOT_ID,
  GPT2_VOCAB,
  MAX_PRETOKEN_CHARS,
  META_ID,
  META_TOKEN,
  PADDED_VOCAB,
} from "./tokenizer.ts";

Deno.test("constants match GPT-2 plus one meta token, padded to a multiple of 64", () => {
  assert.equal(EOT_ID, 50256);
  assert.equal(META_ID, 50257);
  assert.equal(META_TOKEN, "_PAUSE_");
  assert.equal(GPT2_VOCAB, 50257);
  assert.equal(PADDED_VOCAB, 50304);
  assert.equal(PADDED_VOCAB % 64, 0);
  assert.ok(PADDED_VOCAB > META_ID);
});

Deno.test("known GPT-2 ids: Hello world is [15496, 995]", () => {
  assert.deepEqual(Array.from(encode("Hello world")), [15496, 995]);
  assert.equal(decode([15496, 995]), "Hello world");
  assert.ok(encode("x") instanceof Int32Array);
  assert.equal(encode("").length, 0);
});

Deno.test("_PAUSE_ is always the single meta id, also adjacent and at the start and end", () => {
  const text = "_PAUSE_The cat _PAUSE_ sat_PAUSE__PAUSE_ on the mat._PAUSE_\n_PAUSE_";
  const ids = encode(text);
  assert.equal(ids.filter((id) => id === META_ID).length, 6);
  assert.equal(ids[0], META_ID);
  assert.equal(ids[ids.length - 1], META_ID);
  assert.equal(decode(ids), text);
  // Never the BPE pieces of the string.
  assert.deepEqual(Array.from(encode("_PAUSE_")), [META_ID]);
  assert.deepEqual(Array.from(encode("_PAUSE__PAUSE_")), [META_ID, META_ID]);
  const pieces = Array.from(encode("_PAUSE")); // not the literal: ordinary BPE
  assert.ok(!pieces.includes(META_ID));
});

Deno.test("text between markers is encoded as if it stood alone", () => {
  assert.deepEqual(
    Array.from(encode("Hello world_PAUSE_Hello world")),
    [15496, 995, META_ID, 15496, 995],
  );
});

Deno.test("<|endoftext|> in text is ordinary text, not the EOT id; decode of EOT gives it back", () => {
  const ids = encode("<|endoftext|>");
  assert.ok(!ids.includes(EOT_ID));
  assert.equal(decode(ids), "<|endoftext|>");
  assert.equal(decode([EOT_ID]), "<|endoftext|>");
});

Deno.test("decode rejects ids past the meta token, negative and non-integer ids, naming them", () => {
  assert.throws(() => decode([15496, 50258]), /Cannot decode token id 50258 at index 1: expected/);
  assert.throws(() => decode([-1]), /Cannot decode token id -1 at index 0/);
  assert.throws(() => decode([1.5]), /token id 1.5/);
  assert.throws(() => encode(3 as unknown as string), /Cannot encode 3 \(a number\): expected a string/);
});

Deno.test("unicode round-trips byte-exactly", () => {
  const text = "Café ☕ — naïve 日本語 🙂 _PAUSE_ ok";
  assert.equal(decode(encode(text)), text);
});

const PARAGRAPH = `It was the best of times, it was the worst of times, it was the age of wisdom, it was the
age of foolishness... In 1859, Dickens wrote 45,000 words in "A Tale of Two Cities"; the book's
first line (above) is famous!   Indented    text,\ttabs,\r\nCRLF lines\n\n\nand   trailing spaces   \n
Ünïcödé wörds, 中文字符, emoji 🚀🚀, math 𝐀𝐁𝐂, URLs https://example.com/a?b=c&d=e#f — and dashes -----.`;

const ORDINARY = { disallowedSpecial: new Set<string>() };

Deno.test("issue 14: ordinary text tokenizes exactly as GPT-2's BPE (no pre-token is split)", () => {
  assert.deepEqual(Array.from(encode(PARAGRAPH)), bpeEncode(PARAGRAPH, ORDINARY));
  // Also on the slow path (a long run elsewhere in the text): every other pre-token is unchanged.
  const long = "x".repeat(3 * MAX_PRETOKEN_CHARS);
  const ids = Array.from(encode(`${PARAGRAPH} ${long} ${PARAGRAPH}`));
  const whole = Array.from(encode(PARAGRAPH)), run = Array.from(encode(` ${long}`));
  assert.deepEqual(ids, [...whole, ...run, ...Array.from(encode(` ${PARAGRAPH}`))]);
  assert.equal(decode(ids), `${PARAGRAPH} ${long} ${PARAGRAPH}`);
});

Deno.test("issue 14: the slow path splits text into the same pre-tokens as gpt-tokenizer", () => {
  // Random texts over characters of every pre-token class, after one long run that forces the slow path.
  // The run ends at "Z", and the pre-tokenizer scans left to right without looking back, so the tokens
  // after the run must be gpt-tokenizer's tokens of "Z" + text.
  let seed = 7;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const alphabet = [
    "a",
    "B",
    "é",
    "7",
    "1",
    " ",
    " ",
    "  ",
    "\n",
    "\n\n",
    "\t",
    "'s",
    "'",
    ".",
    "!",
    "中",
    "😀",
    "\r\n",
  ];
  const run = "%".repeat(2 * MAX_PRETOKEN_CHARS);
  const runIds = Array.from(encode(run));
  for (let i = 0; i < 300; i++) {
    const text = Array.from({ length: 40 }, () => alphabet[Math.floor(next() * alphabet.length)]).join("");
    const ids = Array.from(encode(run + "Z" + text));
    assert.deepEqual(ids, [...runIds, ...bpeEncode("Z" + text, ORDINARY)], JSON.stringify(text));
  }
});

Deno.test("issue 14: an 80,000-character run without whitespace tokenizes in well under a second", () => {
  for (const run of ["a".repeat(80_000), "7".repeat(80_000), "-".repeat(80_000), "𝐀".repeat(40_000)]) {
    const start = performance.now();
    const ids = encode(run);
    const ms = performance.now() - start;
    assert.ok(ms < 1000, `${ms} ms for a run of ${JSON.stringify(run.slice(0, 2))}`);
    assert.equal(decode(ids), run);
  }
  // Linear: ten times the input takes about ten times as long, not a hundred.
  const t1 = performance.now();
  encode("q".repeat(20_000));
  const small = performance.now() - t1;
  const t2 = performance.now();
  encode("q".repeat(200_000));
  const large = performance.now() - t2;
  assert.ok(large < 30 * Math.max(small, 5), `20k: ${small} ms, 200k: ${large} ms`);
});
