import assert from "node:assert/strict";
import { Allocator, RESERVED, sizeClass } from "./_allocator.ts";

Deno.test("size classes: cache lines up to 4 KiB, then four steps per power of two (≤ 25% slack)", () => {
  assert.equal(sizeClass(1), 64);
  assert.equal(sizeClass(65), 128);
  assert.equal(sizeClass(4096), 4096);
  assert.equal(sizeClass(4097), 5120);
  assert.equal(sizeClass(1 << 20), 1 << 20);
  assert.equal(sizeClass((1 << 20) + 1), 1.25 * (1 << 20));
  for (let b = 1; b < 1e8; b = Math.ceil(b * 1.37)) {
    const c = sizeClass(b);
    assert.ok(c >= b && c % 64 === 0 && (c <= 4096 || c <= 1.25 * b + 64), `${b} → ${c}`);
  }
});

Deno.test("freed blocks are reused by requests of the same class, also of different sizes", () => {
  const heap = new Allocator(new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true }));
  const a = heap.alloc(100_000, "a");
  assert.equal(a, RESERVED);
  heap.free(a);
  const b = heap.alloc(110_000, "b"); // the same class as 100,000 bytes (114,688)
  assert.equal(b, a);
  assert.equal(heap.inUse, sizeClass(100_000));
  assert.throws(() => heap.free(12345), /Cannot free address 12345/);
});
