/**
 * The `wasm` attention kernels: the glue that loads `attention.wat`,
 * `decode.wat` and `rope.wat` onto a `wasm` backend and calls them.
 *
 * @module
 */

import type { Backend, Storage } from "@metatokens/tensor";
import type { AttentionDims, AttentionKernels } from "../../kernels.ts";
import { MODULES } from "./_modules.ts";

/**
 * The `wasm` attention kernels of `backend`: `attention.wat` and `rope.wat`
 * loaded onto the backend's threads, with one workspace grown on demand.
 *
 * @example
 * ```ts
 * import { wasmBackend } from "@metatokens/tensor";
 * import { wasmAttentionKernels } from "./kernels.ts";
 * const backend = await wasmBackend({ threads: 1 });
 * console.log(typeof wasmAttentionKernels(backend).attentionForward); // "function"
 * backend.dispose();
 * ```
 */
export function wasmAttentionKernels(backend: Backend): AttentionKernels<Storage, Storage> {
  const wasm = backend.wasm;
  if (!wasm) {
    throw new Error(`Cannot load wasm attention kernels on backend "${backend.name}": it has no wasm hooks`);
  }
  wasm.load(MODULES);
  const p = wasm.address;
  // One workspace per backend, grown on demand: the kernels overwrite what they use, so it is
  // neither zeroed nor freed between calls.
  let workspace: { storage: Storage; bytes: number } | null = null;
  const withWorkspace = (t: number, hs: number, fn: (ws: number) => void): void => {
    if (hs % 4 !== 0) {
      throw new RangeError(
        `Cannot run wasm attention with head size ${hs}: the kernel needs a multiple of 4 (use the ref backend otherwise)`,
      );
    }
    const bytes = wasm.call("attention_ws_bytes", t, hs) * backend.threads;
    if (workspace === null || workspace.bytes < bytes) {
      if (workspace) backend.free(workspace.storage);
      workspace = { storage: backend.alloc("f32", Math.ceil(bytes / 4)), bytes };
    }
    fn(p(workspace.storage));
  };
  // Work in "elements": the flops of the call over 64, as the tensor backend counts matmuls.
  const work = (d: AttentionDims): number => (4 * d.b * d.t * d.t * d.c) / 2 / 64;
  return {
    attentionForward(out, lse, qkv, meta, d) {
      withWorkspace(
        d.t,
        d.c / d.nh,
        (ws) =>
          wasm.run("attentionForward", [p(out), p(lse), p(qkv), p(meta), d.b, d.t, d.c, d.nh, ws], work(d)),
      );
    },
    attentionBackward(dqkv, dout, out, lse, qkv, meta, d) {
      withWorkspace(d.t, d.c / d.nh, (ws) =>
        wasm.run(
          "attentionBackward",
          [p(dqkv), p(dout), p(out), p(lse), p(qkv), p(meta), d.b, d.t, d.c, d.nh, ws],
          work(d),
        ));
    },
    attentionCachedForward(out, kCache, vCache, qkv, d) {
      const hs = d.c / d.nh;
      if (hs % 4 !== 0) {
        throw new RangeError(
          `Cannot run wasm cached attention with head size ${hs}: the kernel needs a multiple of 4 (use the ref backend otherwise)`,
        );
      }
      // One score row of past + T floats per thread.
      const bytes = wasm.call("decode_ws_bytes", d.past + d.t) * backend.threads;
      if (workspace === null || workspace.bytes < bytes) {
        if (workspace) backend.free(workspace.storage);
        workspace = { storage: backend.alloc("f32", Math.ceil(bytes / 4)), bytes };
      }
      // Work: the cache read once per new row (2·(past + T)·C multiply-adds), in elements.
      wasm.run(
        "attentionCachedForward",
        [p(out), p(kCache), p(vCache), p(qkv), d.t, d.past, d.c, d.nh, p(workspace.storage)],
        2 * d.t * (d.past + d.t) * d.c,
      );
    },
    ropeForward: (out, inp, cos, sin, n, c, nh) =>
      wasm.run("ropeForward", [p(out), p(inp), p(cos), p(sin), n, c, nh], 3 * n * c),
    ropeBackward: (dinp, dout, cos, sin, n, c, nh) =>
      wasm.run("ropeBackward", [p(dinp), p(dout), p(cos), p(sin), n, c, nh], 3 * n * c),
  };
}
