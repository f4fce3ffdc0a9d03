/**
 * The small runtime interface kernel files build their dispatches against, and
 * the pointwise-kernel builder most of them share.
 *
 * @module
 */

import type { GpuKernelCall, Storage } from "../../backend.ts";
import { declareBindings, gridFor, WGSL_LINEAR_WORKGROUP } from "./_wgsl.ts";

/** What a kernel file needs from the backend: dispatch and view offsets. */
export interface Dispatcher {
  /** Records one dispatch. */
  dispatch(call: GpuKernelCall): void;
  /** Element offset of a view inside its GPU buffer. */
  offset(s: Storage | null): number;
  /**
   * A scratch buffer of `size` 4-byte elements with undefined contents (write
   * before reading; release it right after the dispatches that use it).
   */
  scratch(size: number): Storage;
  /** Returns a scratch buffer; dispatches recorded before still see it. */
  release(s: Storage): void;
}

/** Threads per workgroup of pointwise kernels. */
export const POINTWISE_THREADS = 256;

/** One pointwise kernel: `body` runs once per element index `i < p.n`. */
export interface Pointwise {
  /** Pipeline key (also the WGSL label). */
  key: string;
  /** Bindings: name and element type; each gets a `<name>_off` param word. */
  buffers: readonly (readonly [string, "f32" | "i32"])[];
  /** Extra u32 param words after `n` and the offsets (floats as `bitcast<f32>(p.w)`). */
  scalars?: readonly string[];
  /** WGSL helper functions pasted before `main`. */
  helpers?: string;
  /** WGSL statements for element `i: u32`. */
  body: string;
}

/**
 * WGSL of a pointwise kernel over `p.n` elements: one thread per element,
 * workgroups of 256 over a grid split by `workgroupGrid`.
 */
export function pointwiseWgsl(k: Pointwise): string {
  const params = ["n", ...k.buffers.map(([name]) => `${name}_off`), ...(k.scalars ?? [])];
  return `${declareBindings(k.buffers, params)}
${WGSL_LINEAR_WORKGROUP}
${k.helpers ?? ""}
@compute @workgroup_size(${POINTWISE_THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup(wid, nwg) * ${POINTWISE_THREADS}u + lid;
  if (i >= p.n) { return; }
  ${k.body}
}`;
}

/** Dispatches a pointwise kernel over `n` elements. */
export function runPointwise(
  rt: Dispatcher,
  k: Pointwise,
  n: number,
  buffers: readonly Storage[],
  scalars: readonly number[] = [],
): void {
  if (n === 0) return;
  rt.dispatch({
    key: k.key,
    wgsl: () => pointwiseWgsl(k),
    buffers,
    params: [n, ...buffers.map((b) => rt.offset(b)), ...scalars],
    workgroups: gridFor(n, POINTWISE_THREADS),
  });
}
