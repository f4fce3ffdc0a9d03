/**
 * Validation of index tensors: an out-of-range id would read or write outside
 * a buffer inside a kernel, so it is caught before the kernel runs.
 *
 * @module
 */

import { formatShape, type Tensor } from "../tensor.ts";

/**
 * Throws unless `ids` is i32 with every value in [0, limit) (or −1 when
 * `allowIgnore`). Values are checked on backends that can read synchronously.
 */
export function assertIndices(
  op: string,
  what: string,
  ids: Tensor,
  limit: number,
  allowIgnore = false,
): void {
  if (ids.dtype !== "i32") {
    throw new TypeError(
      `Cannot ${op} with ${what} of dtype ${ids.dtype} and shape ${formatShape(ids.shape)}: expected i32`,
    );
  }
  if (!ids.backend.readSync) return;
  const values = ids.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if ((v < 0 || v >= limit) && !(allowIgnore && v === -1)) {
      throw new RangeError(
        `Cannot ${op} with ${what}[${i}] = ${v}: expected a value in [0, ${limit})` +
          (allowIgnore ? " or -1 (ignored)" : ""),
      );
    }
  }
}
