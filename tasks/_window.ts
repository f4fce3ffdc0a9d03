/**
 * The acceptance loop shared by the generators: draw until the tokenized
 * prompt fits the phase's window.
 *
 * @module
 */

import { encode } from "@metatokens/data/tokenizer";
import type { PhaseSpec } from "./phases.ts";

/** Attempts before a window is declared unreachable. */
export const MAX_ATTEMPTS = 100_000;

/**
 * Calls `attempt` until it returns a candidate whose prompt has a token
 * count inside `spec.tokens` (a `null` candidate is a cheap rejection).
 */
export function drawWithin<T extends { prompt: string }>(
  spec: PhaseSpec,
  task: string,
  attempt: () => T | null,
): T & { promptTokens: number } {
  const { lo, hi } = spec.tokens;
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    const candidate = attempt();
    if (candidate === null) continue;
    const promptTokens = encode(candidate.prompt).length;
    if (promptTokens >= lo && promptTokens <= hi) return { ...candidate, promptTokens };
  }
  throw new RangeError(
    `Cannot generate a ${task} example of ${lo}–${hi} prompt tokens for phase ${spec.phase}: ` +
      `none of ${MAX_ATTEMPTS} draws fit; expected a token window the phase's parameters can reach`,
  );
}
