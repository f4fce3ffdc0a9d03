/**
 * A small seeded generator for tests (mulberry32), so tests need not import
 * the tensor package.
 *
 * @module
 */

/** mulberry32: uniform draws in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): { uniform(): number } {
  let a = seed >>> 0;
  return {
    uniform(): number {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}
