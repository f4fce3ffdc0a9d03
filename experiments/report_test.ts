import assert from "node:assert/strict";
import { METRIC_LABELS } from "@metatokens/tasks";
import { pooledAccuracy } from "./report.ts";

Deno.test("pooledAccuracy: weighted by examples over the bins up to the limit; null without any", () => {
  const bin = (b: number, count: number, acc: number | null) => ({
    bin: b,
    label: `≤${b}`,
    count,
    sequenceAccuracy: acc,
    tokenAccuracy: acc,
    metrics: METRIC_LABELS,
  });
  const bins = [bin(128, 2, 1), bin(256, 6, 0.5), bin(512, 1, null), bin(1024, 10, 0)];
  assert.equal(pooledAccuracy(bins, 512), (2 + 3) / 8);
  assert.equal(pooledAccuracy(bins, 128), 1);
  assert.equal(pooledAccuracy(bins, 64), null);
});
