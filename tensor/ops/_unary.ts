/**
 * The shape every pointwise activation shares: `out = f(x)`, `dx += dout · f'(x)`.
 *
 * @module
 */

import type { OpDef } from "../autograd.ts";
import type { KernelName } from "../kernels.ts";
import { empty } from "../tensor.ts";

/** Kernel pairs of the form `fForward(out, inp, n)` / `fBackward(dinp, dout, inp, n)`. */
type UnaryKernels = "gelu" | "relu";

/** An op from a forward/backward kernel pair. */
export function unaryOp(name: UnaryKernels): OpDef<null> {
  const fwd = `${name}Forward` as const satisfies KernelName;
  const bwd = `${name}Backward` as const satisfies KernelName;
  return {
    name,
    forward([x]) {
      const out = empty(x.shape, "f32", { backend: x.backend });
      x.backend.kernels[fwd](out.storage, x.storage, x.size);
      return { out };
    },
    backward({ grads: [dx], dout, inputs: [x] }) {
      if (dx) dout.backend.kernels[bwd](dx.storage, dout.storage, x.storage, x.size);
    },
  };
}
