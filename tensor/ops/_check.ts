/**
 * Argument checks shared by the ops.
 *
 * @module
 */

import { formatShape, type Tensor } from "../tensor.ts";

/** Throws unless every tensor is f32. */
export function assertF32(op: string, ...tensors: Tensor[]): void {
  for (const t of tensors) {
    if (t.dtype !== "f32") {
      throw new TypeError(
        `Cannot ${op} a tensor of dtype ${t.dtype} and shape ${formatShape(t.shape)}: expected f32`,
      );
    }
  }
}

/** Throws unless `value` is a finite number. */
export function assertFinite(op: string, what: string, value: number): void {
  if (!Number.isFinite(value)) {
    throw new RangeError(`Cannot ${op} with ${what} ${value}: expected a finite number`);
  }
}

/**
 * Throws unless `b` broadcasts onto `a` the way the elementwise ops support:
 * `b`'s shape is a suffix of `a`'s, or `b` holds a single element.
 */
export function assertSuffixBroadcast(op: string, a: Tensor, b: Tensor): void {
  const suffix = b.rank <= a.rank && b.shape.every((d, i) => d === a.shape[a.rank - b.rank + i]);
  const ok = suffix || (b.size === 1 && a.size > 0);
  if (!ok) {
    throw new RangeError(
      `Cannot ${op} tensors of shape ${formatShape(a.shape)} and ${formatShape(b.shape)}: ` +
        `the second shape must equal the first, a suffix of it, or hold one element`,
    );
  }
}
