import assert from "node:assert/strict";
import { fuzz, RssBound } from "./fuzz.ts";

Deno.test("fuzz: a case that keeps what an input claims (256 MiB) breaks the memory bound, naming the case", async () => {
  const kept: Uint8Array[] = [];
  await assert.rejects(
    () =>
      fuzz(
        { name: "greedy", seed: 1, cases: 3, maxCaseMs: 10_000, maxRssGrowth: 128 * 2 ** 20 },
        (_rng, i) => ({
          label: `claims ${i === 1 ? "256 MiB" : "nothing"}`,
          invalid: false,
          read: () => {
            if (i === 1) kept.push(new Uint8Array(256 * 2 ** 20).fill(1)); // touched, so resident
          },
        }),
        () => true,
      ),
    /greedy case 1 \(claims 256 MiB\): resident memory grew \d+ MiB over the suite's start \(at most 128 MiB\)/,
  );
  kept.length = 0;
});

Deno.test("fuzz: a bounded reader passes and reports its counts and memory", async () => {
  const summary = await fuzz(
    { name: "small", seed: 1, cases: 20, maxCaseMs: 1000 },
    (rng) => {
      const n = rng.int(10);
      return { label: `n ${n}`, invalid: n === 0, read: () => n === 0 ? JSON.parse("{") : new Uint8Array(n) };
    },
    (e) => e instanceof SyntaxError,
  );
  assert.equal(summary.cases, 20);
  assert.equal(summary.accepted + summary.refused, 20);
  assert.ok(summary.maxRssGrowth < new RssBound().max);
});
