/**
 * The backends the attention suites run on, and helpers shared by them.
 *
 * @module
 */

import { type Backend, refBackend, type Tensor, wasmBackend, webgpuBackend } from "@metatokens/tensor";

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

/**
 * The `webgpu` backend when an adapter exists, else null after one line on
 * stdout: the webgpu tests are then registered with `ignore: true`. Test
 * modules run in separate isolates of one process, so the line is printed
 * once per run (a process environment variable remembers it).
 */
export const webgpu: Backend | null = await webgpuBackend().catch((e: Error) => {
  const noted = "METATOKENS_ATTENTION_WEBGPU_SKIP_NOTED";
  let first = true;
  try {
    first = Deno.env.get(noted) === undefined;
    Deno.env.set(noted, "1");
  } catch { /* no env permission: print in every module */ }
  if (first) console.log(`webgpu: no adapter — skipping webgpu attention suites (${e.message})`);
  return null;
});

/** The host copy of a tensor's f32 data on any backend (`await t.data()`). */
export async function read(t: Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
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

/** "ref", "webgpu", or "wasm (N threads)". */
export function label(backend: Backend): string {
  return backend.name === "ref" || backend.gpu
    ? backend.name
    : `${backend.name} (${backend.threads} thread${backend.threads > 1 ? "s" : ""})`;
}
