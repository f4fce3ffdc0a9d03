/**
 * The backends the attention suites run on, and helpers shared by them.
 *
 * @module
 */

import { type Backend, refBackend, wasmBackend } from "@metatokens/tensor";

let shared: Backend[] | null = null;

/** `ref`, `wasm` on 1 thread, and `wasm` on 3 threads with every call split. */
export function attentionBackends(): Backend[] {
  shared ??= [
    refBackend(),
    wasmBackend({ threads: 1 }),
    wasmBackend({ threads: 3, parallelThreshold: 1 }),
  ];
  return shared;
}

/** Largest |a − b| / (atol + rtol·|b|); ≤ 1 means within tolerance. */
export function worstRatio(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue; // also equal infinities
    const r = Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i]));
    worst = Math.max(worst, Number.isNaN(r) ? Infinity : r);
  }
  return worst;
}

/** Throws naming the worst element when a and b differ beyond tolerance. */
export function assertNear(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  what: string,
  atol = 2e-5,
  rtol = 1e-4,
): void {
  const r = worstRatio(a, b, atol, rtol);
  if (!(r <= 1)) {
    let at = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i] && !(Math.abs(a[i] - b[i]) <= atol + rtol * Math.abs(b[i]))) {
        at = i;
        break;
      }
    }
    throw new Error(`${what}: element ${at} is ${a[at]}, expected ${b[at]} (${r.toFixed(1)}× the tolerance)`);
  }
}

/** "ref", or "wasm (N threads)". */
export function label(backend: Backend): string {
  return backend.name === "ref"
    ? "ref"
    : `${backend.name} (${backend.threads} thread${backend.threads > 1 ? "s" : ""})`;
}
