import assert from "node:assert/strict";
import { decode, encode, EOT_ID, GPT2_VOCAB, META_ID, META_TOKEN, PADDED_VOCAB } from "./tokenizer.ts";

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
