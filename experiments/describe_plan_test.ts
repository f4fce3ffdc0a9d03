import assert from "node:assert/strict";
import { TASK_NAMES } from "@metatokens/tasks";
import { describePlan, parameterCount, planConfig } from "./describe_plan.ts";
import { ABLATIONS, MODELS, SCALES, TASKS } from "./plan.ts";

Deno.test("plan: the tasks are the tasks package's list, with labels; three models; Full first", () => {
  assert.deepEqual(TASKS.map((t) => t.name), [...TASK_NAMES]);
  assert.deepEqual(TASKS.map((t) => t.label), ["List Recall", "Segment Counting", "Parity", "Copying"]);
  assert.deepEqual(MODELS.map((m) => [m.meta, m.pos]), [[false, "ape"], [true, "ape"], [true, "rope"]]);
  assert.equal(ABLATIONS[0].name, "full");
  for (const [name, plan] of Object.entries(SCALES)) assert.equal(plan.scale, name);
});

Deno.test("describePlan: sizes and a cost that grows with the scale", () => {
  // GPT-2 small plus, per layer, a meta-attention (c_attn 3C×C + 3C, c_proj C×C + C) and ln_meta (2C).
  const C = 768;
  assert.equal(parameterCount(planConfig(SCALES.paper)), 124_475_904 + 12 * (4 * C * C + 6 * C));
  const tiny = describePlan(SCALES.tiny, 60e9);
  assert.match(tiny, /^reproduce --scale tiny: /);
  assert.match(tiny, /1\. no pre-training: every model starts from its random initialisation/);
  assert.match(
    tiny,
    /4 tasks at train lengths 128 \(seeds 0, 1, 2 for list-recall, seed 0 for the rest; 18 runs\)/,
  );
  assert.match(tiny, /1000 steps × 16 examples per phase/);
  assert.match(describePlan(SCALES.micro, 60e9), /1\. pre-train each: 30 steps × 4 × 256 tokens/);
  assert.match(tiny, /under No Pos, No Embed, Neither/);
  const pflop = (text: string): number => Number(/cost: ≈ ([\d.]+) PFLOP/.exec(text)![1]);
  assert.ok(pflop(describePlan(SCALES.micro, 60e9)) < pflop(tiny));
  assert.ok(pflop(tiny) < pflop(describePlan(SCALES.paper, 60e9)));
  assert.match(describePlan(SCALES.paper, 60e9), /200,000 steps × 12 × 1024 tokens/);
});
