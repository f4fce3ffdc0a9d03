/**
 * Parity (paper §4.2, Appendix D.1.3): a string of bits with a `_PAUSE_`
 * after the L-th; the answer is the XOR of the bits before the pause.
 * Layout as in Appendix H:
 *
 * ```text
 * Bits: 0 _PAUSE_ 1 0 0 Q: What is the XOR of all bits before this pause? _PAUSE_
 * ```
 *
 * Each ` 0` / ` 1` is one GPT-2 token, so the generator draws the prompt
 * length T uniformly from the phase's window and uses exactly as many bits
 * as make the prompt T tokens; L is uniform over 1 … the number of bits.
 *
 * @module
 */

import { encode, META_TOKEN } from "@metatokens/data/tokenizer";
import type { ParityExample } from "./example.ts";
import { type PhaseSpec, phaseSpec } from "./phases.ts";
import { randInt, type TaskRng } from "./_rng.ts";
import { drawWithin } from "./_window.ts";

const QUESTION = "Q: What is the XOR of all bits before this pause?";

/**
 * The Parity prompt with `_PAUSE_` after bit `prefixLength` (1-based).
 *
 * @example
 * ```ts
 * import { formatParity } from "@metatokens/tasks/parity";
 * console.log(formatParity([0, 1, 0, 0], 1));
 * // Bits: 0 _PAUSE_ 1 0 0 Q: What is the XOR of all bits before this pause? _PAUSE_
 * ```
 */
export function formatParity(bits: readonly number[], prefixLength: number): string {
  const bad = bits.findIndex((b) => b !== 0 && b !== 1);
  if (bad >= 0) throw new RangeError(`Parity bit ${bad} is ${JSON.stringify(bits[bad])}: expected 0 or 1`);
  if (!Number.isInteger(prefixLength) || prefixLength < 1 || prefixLength > bits.length) {
    throw new RangeError(
      `Parity pause position ${prefixLength} is out of range: expected 1 … ${bits.length}`,
    );
  }
  return [
    "Bits:",
    ...bits.slice(0, prefixLength),
    META_TOKEN,
    ...bits.slice(prefixLength),
    QUESTION,
    META_TOKEN,
  ]
    .join(" ");
}

let overhead: number | undefined;
/** Prompt tokens other than the bits (each bit is one token). */
function parityOverhead(): number {
  return overhead ??= encode(formatParity([0], 1)).length - 1;
}

/**
 * One Parity example for a phase (1–5 or a custom {@linkcode PhaseSpec}).
 *
 * @example
 * ```ts
 * import { generateParity } from "@metatokens/tasks";
 * import { Rng } from "@metatokens/tensor";
 * const ex = generateParity(new Rng(3), 2);
 * const xor = ex.bits.slice(0, ex.prefixLength).reduce((a, b) => a ^ b, 0);
 * console.log(ex.answer === String(xor), ex.promptTokens >= 200 && ex.promptTokens <= 300); // true true
 * ```
 */
export function generateParity(rng: TaskRng, phase: number | PhaseSpec): ParityExample {
  const spec = phaseSpec(phase);
  return drawWithin(spec, "parity", () => {
    const total = randInt(rng, spec.tokens.lo, spec.tokens.hi);
    const n = total - parityOverhead();
    if (n < 1) return null;
    const bits: number[] = Array.from({ length: n }, () => (rng.uniform() < 0.5 ? 0 : 1));
    const prefixLength = randInt(rng, 1, n);
    const xor = bits.slice(0, prefixLength).reduce((a, b) => a ^ b, 0);
    return {
      task: "parity" as const,
      prompt: formatParity(bits, prefixLength),
      answer: String(xor),
      phase: spec.phase,
      bits,
      prefixLength,
    };
  });
}
