import assert from "node:assert/strict";
import { encode } from "@metatokens/data/tokenizer";
import type { ParityExample } from "./example.ts";
import { formatParity, generateParity } from "./parity.ts";
import { Rng } from "@metatokens/tensor/rng";
import { parseParity } from "./_testing/parse.ts";
import { APPENDIX_H, PHASE_NUMBERS, samples } from "./_testing/samples.ts";

Deno.test("formatParity reproduces the Appendix H prompt exactly; the parser recovers its answer", () => {
  assert.equal(formatParity([0, 1, 0, 0], 1), APPENDIX_H.parity.prompt);
  assert.equal(parseParity(APPENDIX_H.parity.prompt).answer, APPENDIX_H.parity.completion);
  assert.equal(
    formatParity([1, 1], 2),
    "Bits: 1 1 _PAUSE_ Q: What is the XOR of all bits before this pause? _PAUSE_",
  );
  assert.equal(parseParity(formatParity([1, 1], 2)).answer, "0");
});

Deno.test("every phase: prompt parsed back, XOR recomputed, metadata agrees", () => {
  for (const phase of PHASE_NUMBERS) {
    for (const ex of samples("parity", phase) as ParityExample[]) {
      const parsed = parseParity(ex.prompt);
      assert.equal(parsed.answer, ex.answer);
      assert.deepEqual(parsed.bits, ex.bits);
      assert.equal(parsed.prefixLength, ex.prefixLength);
      assert.equal(ex.promptTokens, encode(ex.prompt).length);
    }
  }
});

Deno.test("no leak or shortcut: balanced answers, the bits after the pause matter, no digit in the question", () => {
  const all = PHASE_NUMBERS.flatMap((p) => samples("parity", p)) as ParityExample[];
  const ones = all.filter((e) => e.answer === "1").length;
  assert.ok(ones > 0.35 * all.length && ones < 0.65 * all.length, `${ones} of ${all.length} answers are 1`);
  const whole = all.filter((e) => String(e.bits.reduce((a, b) => a ^ b, 0)) !== e.answer).length;
  assert.ok(whole > 0.25 * all.length, `XOR of all bits differs from the answer in only ${whole}`);
  for (const e of all) assert.ok(!/\d/.test(e.prompt.slice(e.prompt.lastIndexOf(" Q: "))));
});

Deno.test("same seed ⇒ same examples; bad bits and positions are errors quoting the value", () => {
  assert.deepEqual(generateParity(new Rng(4), 3), generateParity(new Rng(4), 3));
  assert.throws(() => formatParity([0, 2], 1), /Parity bit 1 is 2: expected 0 or 1/);
  assert.throws(() => formatParity([0, 1], 0), /pause position 0 is out of range: expected 1 … 2/);
});
