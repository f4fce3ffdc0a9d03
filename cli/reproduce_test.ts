// End to end: `reproduce --scale micro` (every stage, a few minutes on 2 cores), its resumability,
// and `analyze` on one of its checkpoints; plus the bad inputs of both commands.
import assert from "node:assert/strict";
import { cli } from "./_run_cli.ts";

Deno.test("e2e (micro): reproduce writes a complete report, skips finished stages on rerun; analyze works on its checkpoints", async () => {
  const dir = await Deno.makeTempDir();
  const run = await cli("reproduce", "--scale", "micro", "--out", dir);
  assert.equal(run.code, 0, run.stderr);
  const report = await Deno.readTextFile(`${dir}/report.md`);
  for (
    const heading of [
      "## The paper's questions, answered at this scale",
      "## Deviations from the paper",
      "## Loss curves",
      "## Figure 1",
      "## Table 7: List Recall",
      "## Table 10: Copying",
    ]
  ) {
    assert.ok(report.includes(heading), heading);
  }
  for (
    const heading of [
      "## Table 11: List Recall, ablations",
      "## Figures 2 and 3",
      "### Meta-attention (RoPE)",
    ]
  ) {
    assert.ok(report.includes(heading), heading);
  }
  // Every linked file exists.
  const links = [...report.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]);
  assert.ok(links.length > 40, `${links.length} links`);
  for (const link of new Set(links)) await Deno.stat(`${dir}/${link}`);
  // An APE model cannot read prompts past its block size; the RoPE model does.
  const ape = JSON.parse(await Deno.readTextFile(`${dir}/finetune/meta-ape/parity/L128-seed0.json`));
  const rope = JSON.parse(await Deno.readTextFile(`${dir}/finetune/meta-rope/parity/L128-seed0.json`));
  assert.deepEqual(Object.keys(rope.eval), ["full", "no-pos", "no-embed", "neither"]);
  const count = (e: { bins: { count: number }[]; skipped: number }): number =>
    e.bins.reduce((n, b) => n + b.count, 0) + e.skipped;
  assert.equal(count(ape.eval.full), count(rope.eval.full));
  assert.equal(rope.eval.full.skipped, 0);

  const rerun = await cli("reproduce", "--scale", "micro", "--out", dir);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stdout, /\[skip\] pre-training GPT-2 \(APE\)/);
  assert.ok(!rerun.stdout.includes("== fine-tuning"), "no fine-tuning stage reruns");

  const out = `${dir}/analyze`;
  const analyzed = await cli(
    "analyze",
    "--checkpoint",
    `${dir}/pretrain/meta-rope/checkpoint`,
    "--n",
    "2",
    "--vib-n",
    "4",
    "--vib-epochs",
    "1",
    "--betas",
    "0.1,1",
    "--out",
    out,
  );
  assert.equal(analyzed.code, 0, analyzed.stderr);
  assert.match(analyzed.stdout, /mean logit boost -?\d+\.\d+, mean entropy drop -?\d+\.\d+ nats/);
  assert.match(await Deno.readTextFile(`${out}/rate_distortion.svg`), /^<svg/);

  const baseline = await cli(
    "analyze",
    "--checkpoint",
    `${dir}/pretrain/gpt2-ape/checkpoint`,
    "--out",
    `${dir}/b`,
  );
  assert.equal(baseline.code, 1);
  assert.match(baseline.stderr, /Cannot run meta-token analyses on a model without meta-attention/);
  assert.ok(!(await Deno.stat(`${dir}/b`).then(() => true, () => false)), "no folder for a refused analysis");
  const noBetas = await cli("analyze", "--checkpoint", `${dir}/pretrain/meta-rope/checkpoint`, "--betas", "");
  assert.equal(noBetas.code, 1);
  assert.match(noBetas.stderr, /Cannot use --betas "": expected numbers separated by commas/);
  await Deno.writeTextFile(`${dir}/file`, "");
  const unwritable = await cli(
    "analyze",
    "--checkpoint",
    `${dir}/pretrain/meta-rope/checkpoint`,
    "--out",
    `${dir}/file/x`,
  );
  assert.equal(unwritable.code, 1);
  assert.match(unwritable.stderr, /Cannot write to ".*file\/x"/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reproduce: --plan prints the plan and cost; paper refuses to run on CPU; unknown scales are errors", async () => {
  const plan = await cli("reproduce", "--scale", "tiny", "--plan");
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /1\. no pre-training: every model starts from its random initialisation/);
  assert.match(plan.stdout, /seeds 0, 1, 2 for list-recall/);
  assert.match(plan.stdout, /cost: ≈ [\d.]+ PFLOP/);
  // Without --scale (or --yes) nothing long starts: the plan, and how to run it.
  const bare = await cli("reproduce");
  assert.equal(bare.code, 2, bare.stderr);
  assert.match(bare.stdout, /cost: ≈ [\d.]+ PFLOP/);
  assert.match(bare.stderr, /To run it: deno task reproduce --scale tiny \(or --yes\)/);
  const paper = await cli("reproduce", "--scale", "paper");
  assert.equal(paper.code, 1);
  assert.match(paper.stdout, /4 tasks at train lengths 128, 256, 512/);
  assert.match(paper.stderr, /Cannot run --scale paper on the CPU/);
  const bad = await cli("reproduce", "--scale", "huge");
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Cannot use --scale "huge": expected one of micro, tiny, paper/);
  const shard = await cli("reproduce", "--scale", "micro", "--shard", "3/2");
  assert.equal(shard.code, 1);
  assert.match(shard.stderr, /Cannot use --shard "3\/2": expected i\/n with 1 ≤ i ≤ n/);
  const typo = await cli("reproduce", "--scael", "tiny");
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /unknown option "--scael"/);
});
