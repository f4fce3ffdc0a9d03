import assert from "node:assert/strict";
import { join } from "node:path";
import { TokenBatchSource } from "./batches.ts";
import { openCorpus, readSplit } from "./cache.ts";
import { META_ID } from "./tokenizer.ts";

/** A split whose token i is i (mod 50000), so a window's offset is visible in its values. */
function ramp(n: number): Uint16Array {
  return Uint16Array.from({ length: n }, (_, i) => i % 50000);
}

Deno.test("meta on: k = round(0.1·T) meta tokens per row, targets −1 before each, shapes B·T", () => {
  const B = 6, T = 64;
  const source = new TokenBatchSource(ramp(5000), { batchSize: B, blockSize: T, seed: 11 });
  for (let step = 0; step < 20; step++) {
    const { b, t, x, y, meta } = source.next();
    assert.equal(b, B);
    assert.equal(t, T);
    assert.equal(x.length, B * T);
    assert.equal(y.length, B * T);
    assert.equal(meta.length, B);
    for (let r = 0; r < B; r++) {
      assert.equal(meta[r].length, Math.round(0.1 * T));
      assert.ok(meta[r].every((p, i) => i === 0 || p > meta[r][i - 1]));
      const set = new Set(meta[r]);
      for (let i = 0; i < T; i++) {
        assert.equal(x[r * T + i] === META_ID, set.has(i));
        assert.notEqual(y[r * T + i], META_ID);
        assert.equal(y[r * T + i] === -1, set.has(i + 1));
      }
      // Non-meta tokens are consecutive raw tokens (a ramp): each is one more than the last.
      const plain = Array.from(x.subarray(r * T, (r + 1) * T)).filter((v) => v !== META_ID);
      assert.ok(plain.every((v, i) => i === 0 || v === plain[i - 1] + 1));
    }
  }
});

Deno.test("meta off: plain nanoGPT windows, y = x shifted by one, no meta positions", () => {
  const tokens = ramp(3000);
  const source = new TokenBatchSource(tokens, { batchSize: 4, blockSize: 32, seed: 5, meta: false });
  assert.equal(source.k, 0);
  const { x, y, meta } = source.next();
  assert.deepEqual(meta, [[], [], [], []]);
  for (let r = 0; r < 4; r++) {
    const start = x[r * 32];
    for (let i = 0; i < 32; i++) {
      assert.equal(x[r * 32 + i], start + i);
      assert.equal(y[r * 32 + i], start + i + 1);
    }
  }
});

Deno.test("window offsets cover the whole split, including the last valid window", () => {
  const T = 8, n = 40;
  const source = new TokenBatchSource(ramp(n), { batchSize: 64, blockSize: T, seed: 3, meta: false });
  const seen = new Set<number>();
  for (let i = 0; i < 50; i++) {
    const { x } = source.next();
    for (let r = 0; r < 64; r++) seen.add(x[r * T]);
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: n - T }, (_, i) => i));
});

Deno.test("deterministic given the seed; another seed differs", () => {
  const opts = { batchSize: 3, blockSize: 50, seed: 42 };
  const a = new TokenBatchSource(ramp(4000), opts), b = new TokenBatchSource(ramp(4000), opts);
  const c = new TokenBatchSource(ramp(4000), { ...opts, seed: 43 });
  for (let i = 0; i < 5; i++) {
    const ba = a.next(), bb = b.next(), bc = c.next();
    assert.deepEqual(ba, bb);
    assert.notDeepEqual(ba.x, bc.x);
  }
});

Deno.test("state/restore: draw 5, save, draw 5; a fresh source from the same cache restores the same 5", async () => {
  const dir = await Deno.makeTempDir({ prefix: "metatokens-batches-" });
  try {
    const words = Array.from({ length: 3000 }, (_, i) => `word${i % 257}`).join(" ");
    await Deno.writeTextFile(join(dir, "a.txt"), words);
    const cacheDir = join(dir, "cache");
    const opts = { batchSize: 4, blockSize: 32, seed: 2024 };
    const cache = await openCorpus(join(dir, "a.txt"), { cacheDir, blockSize: 32 });
    const first = await TokenBatchSource.open(cache, "train", opts);
    for (let i = 0; i < 5; i++) first.next();
    const saved = JSON.parse(JSON.stringify(first.state()));
    assert.deepEqual(saved.batches, 5);
    const expected = Array.from({ length: 5 }, () => first.next());
    const reopened = await openCorpus(join(dir, "a.txt"), { cacheDir, blockSize: 32 });
    assert.equal(reopened.built, false);
    const fresh = await TokenBatchSource.open(reopened, "train", { ...opts, seed: 1 });
    fresh.restore(saved);
    assert.deepEqual(Array.from({ length: 5 }, () => fresh.next()), expected);
    assert.equal(fresh.state().batches, 10);
    // The validation split is its own source over the held-out tail.
    const val = await TokenBatchSource.open(reopened, "val", opts);
    assert.equal(val.tokens, (await readSplit(reopened, "val")).length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad options and states are clear errors", () => {
  assert.throws(
    () => new TokenBatchSource(ramp(10), { batchSize: 1, blockSize: 10, seed: 0 }),
    /Cannot draw windows of 10 from 10 tokens: expected at least 11/,
  );
  assert.throws(
    () => new TokenBatchSource(ramp(100), { batchSize: 0, blockSize: 4, seed: 0 }),
    /batches of 0 rows/,
  );
  assert.throws(
    () => new TokenBatchSource(ramp(100), { batchSize: 1, blockSize: 4.5, seed: 0 }),
    /rows of 4\.5 tokens/,
  );
  assert.throws(
    () => new TokenBatchSource(ramp(100), { batchSize: 1, blockSize: 4, seed: -1 }),
    /seed the RNG with -1/,
  );
  const s = new TokenBatchSource(ramp(100), { batchSize: 1, blockSize: 4, seed: 0 });
  assert.throws(() => s.restore({ seed: 0, counter: -3, batches: 0 }), /Cannot restore batch source state/);
});
