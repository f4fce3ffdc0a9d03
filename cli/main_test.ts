// End to end through the command line, short variant: 2 pre-training steps of `tiny` on the
// embedded corpus, resume for a third, then score and generate from the checkpoint.
import assert from "node:assert/strict";
import { cli, MAIN } from "./_run_cli.ts";

Deno.test("e2e (short): pretrain 2 steps, resume to 3, score and generate from the checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const common = ["--out", dir, "--eval-every", "1", "--eval-batches", "1", "--batch-size", "2"];
  const first = await cli("pretrain", "--steps", "2", ...common);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /done after 2 steps; checkpoint: .*checkpoint/);
  // Resuming needs only the run directory: model, schedule and batch settings come from the checkpoint.
  const resumed = await cli("pretrain", "--steps", "3", "--resume", "--out", dir);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /resumed from .* at step 2/);
  assert.match(resumed.stdout, /done after 3 steps/);
  const metrics = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  const trainRows = metrics.filter((m) => m.type === "train");
  assert.deepEqual(trainRows.map((m) => m.step), [1, 2, 3]);
  assert.deepEqual(trainRows.map((m) => m.tokens), [512, 512, 512]); // batch 2 × 256 kept on resume
  const nothing = await cli("pretrain", "--steps", "3", "--resume", "--out", dir);
  assert.equal(nothing.code, 0, nothing.stderr);
  assert.match(nothing.stdout, /nothing to do: .*checkpoint is already at step 3 of --steps 3/);
  assert.doesNotMatch(nothing.stdout, /val loss by step|done after/);
  const runFolder = await cli("score", "--checkpoint", dir, "--text", "a");
  assert.equal(runFolder.code, 1);
  assert.match(runFolder.stderr, /it is a run folder; pass its checkpoint, --checkpoint .*\/checkpoint/);
  // The loss spike guard: step 4's loss (≈ 10 nats) exceeds --max-loss 1, so the run stops before updating
  // the weights and the step-3 checkpoint is left as it was.
  const before = await Deno.readFile(`${dir}/checkpoint/model.safetensors`);
  const spiked = await cli("pretrain", "--steps", "5", "--resume", "--out", dir, "--max-loss", "1");
  assert.equal(spiked.code, 1, spiked.stdout);
  assert.match(
    spiked.stderr,
    /Loss [\d.]+ at step 4 exceeds maxLoss 1: .*; the last checkpoint ".*checkpoint" \(step 3\) is intact/,
  );
  assert.deepEqual(await Deno.readFile(`${dir}/checkpoint/model.safetensors`), before);
  assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/checkpoint/trainer_state.json`)).step, 3);
  const changed = await cli("pretrain", "--steps", "4", "--resume", "--out", dir, "--n-layer", "2");
  assert.equal(changed.code, 1);
  assert.match(changed.stderr, /Cannot resume: the checkpoint has nLayer = 4 but this model has 2/);

  const scored = await cli(
    "score",
    "--checkpoint",
    `${dir}/checkpoint`,
    "--text",
    "The jury _PAUSE_ said",
    "--json",
  );
  assert.equal(scored.code, 0, scored.stderr);
  const r = JSON.parse(scored.stdout);
  assert.deepEqual(r.tokens.length - 1, r.logprobs.length);
  assert.equal(r.logprobs[r.tokens.indexOf(50257) - 1], null);
  assert.ok(r.loss > 5, `an untrained model's loss ${r.loss}`);

  const generated = await cli(
    "generate",
    "--checkpoint",
    `${dir}/checkpoint`,
    "--prompt",
    "The jury",
    "--max-new-tokens",
    "5",
  );
  assert.equal(generated.code, 0, generated.stderr);
  assert.match(generated.stdout, /\[5 tokens, time to first token \d+ ms/);
  // Several prompts from a file, decoded together with int8 weights.
  await Deno.writeTextFile(`${dir}/prompts.txt`, "The jury\n\nIn the beginning _PAUSE_ there\n");
  const batch = await cli(
    "generate",
    ...["--checkpoint", `${dir}/checkpoint`, "--prompts", `${dir}/prompts.txt`, "--max-new-tokens", "3"],
    ...["--quantize", "int8", "--top-p", "0.9"],
  );
  assert.equal(batch.code, 0, batch.stderr);
  assert.equal(batch.stdout.match(/^--- prompt \d of 2$/gm)?.length, 2, batch.stdout);
  assert.match(batch.stdout, /2 decoded together, int8 weights\]/);
  const badQuantize = await cli(
    "generate",
    "--checkpoint",
    `${dir}/checkpoint`,
    "--prompt",
    "a",
    "--quantize",
    "int4",
  );
  assert.match(badQuantize.stderr, /Cannot use --quantize "int4": expected none or int8/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("bad input: unknown options, a missing corpus, a missing checkpoint", async () => {
  const unknown = await cli("pretrain", "--stpes", "3");
  assert.equal(unknown.code, 1);
  assert.match(
    unknown.stderr,
    /Cannot use unknown option "--stpes" from the command line: did you mean --steps\?/,
  );
  const aliased = await cli("pretrain", "--meta-attention=false");
  assert.equal(aliased.code, 1);
  assert.match(aliased.stderr, /Cannot use unknown option "--meta-attention"/);
  const corpus = await cli("pretrain", "--data", "/nonexistent/*.jsonl", "--steps", "1");
  assert.equal(corpus.code, 1);
  assert.match(corpus.stderr, /nonexistent/);
  const ckpt = await cli("score", "--checkpoint", "/nonexistent/ckpt", "--text", "hi");
  assert.equal(ckpt.code, 1);
  assert.match(ckpt.stderr, /error: .*nonexistent/);
  // Deno appends the operation and path to its own message; ours names the path once.
  const prompts = await cli(
    "generate",
    "--checkpoint",
    "/nonexistent/ckpt",
    "--prompts",
    "/nonexistent/p.txt",
  );
  assert.equal(prompts.code, 1);
  assert.match(
    prompts.stderr,
    /Cannot read prompts from "\/nonexistent\/p.txt": No such file or directory \(os error 2\)$/m,
  );
  const config = await cli("pretrain", "--config", "/nonexistent/c.yaml");
  assert.equal(config.code, 1);
  assert.match(
    config.stderr,
    /Cannot read config file "\/nonexistent\/c.yaml": No such file or directory \(os error 2\)$/m,
  );
  const command = await cli("train");
  assert.equal(command.code, 2);
  assert.match(command.stderr, /unknown command "train"/);
  // Object.prototype's names are not commands (issue 14 item 5).
  const proto = await cli("constructor");
  assert.equal(proto.code, 2);
  assert.match(proto.stderr, /unknown command "constructor"/);
  const typo = await cli("pretrian");
  assert.match(typo.stderr, /did you mean pretrain\?/);
});

Deno.test("every value is checked before any work: nothing is trained, loaded or created", async () => {
  const dir = await Deno.makeTempDir();
  const cases: [string[], RegExp][] = [
    [
      ["finetune", "--checkpoint", "x", "--task", "parity", "--phases", "1,7"],
      /--phases "1,7": expected integers/,
    ],
    [["eval", "--checkpoint", "x", "--task", "parity", "--phases", "x"], /--phases "x"/],
    [["pretrain", "--steps", "1.5"], /--steps "1\.5": expected an integer ≥ 1/],
    [["pretrain", "--steps", "0"], /--steps "0": expected an integer ≥ 1/],
    [["pretrain", "--lr", "-1"], /--lr "-1": expected a number > 0$/m],
    [["generate", "--checkpoint", "x", "--prompt", "a", "--temperature", "-1"], /--temperature "-1"/],
    [
      ["generate", "--checkpoint", "x", "--prompt", "a", "--top-k", "0"],
      /--top-k "0": expected an integer ≥ 1/,
    ],
    [["finetune", "--task", "parity"], /Cannot run finetune without --checkpoint DIR/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(...args, ...(args[0] === "generate" ? [] : ["--out", `${dir}/runs/x`]));
    assert.equal(r.code, 1, args.join(" "));
    assert.match(r.stderr, message, args.join(" "));
    assert.doesNotMatch(r.stdout, /corpus|step/, args.join(" "));
  }
  // A run that fails on its input (here, after the backend started) creates no folders.
  const failed = await cli("pretrain", "--data", "/nonexistent/*.jsonl", "--out", `${dir}/runs/x`);
  assert.equal(failed.code, 1);
  assert.deepEqual([...Deno.readDirSync(dir)], []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task <command> --help works for every command and lists every option with its default", async () => {
  const root = new URL("..", import.meta.url);
  const task = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", ...args],
      cwd: root,
      env: { NO_COLOR: "1" },
    })
      .output();
    return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
  };
  const top = await task("help");
  assert.equal(top.code, 0);
  const commands = [
    "pretrain",
    "extend",
    "finetune",
    "eval",
    "analyze",
    "reproduce",
    "score",
    "generate",
    "tasks:generate",
  ];
  for (const c of commands) {
    assert.match(top.stdout, new RegExp(`^  ${c} `, "m"));
    const help = await task(c, "--help");
    assert.equal(help.code, 0, c);
    assert.match(help.stdout, new RegExp(`^usage: deno task ${c} \\[options\\]`), c);
    assert.match(help.stdout, /--config FILE\.yaml/, c);
  }
  const pretrain = await task("pretrain", "-h");
  assert.match(pretrain.stdout, /--steps INT +optimizer steps in total \(default 120; ≥ 1\)/);
  assert.match(pretrain.stdout, /--lr NUM +peak learning rate \(default 0\.001; > 0\)/);
});

Deno.test("e2e (short): SIGTERM to the run itself saves a checkpoint and exits 143", async () => {
  const dir = await Deno.makeTempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "pretrain",
      "--steps",
      "50",
      "--out",
      dir,
      "--eval-every",
      "1",
      "--eval-batches",
      "1",
      "--batch-size",
      "2",
    ],
    env: { NO_COLOR: "1", METATOKENS_THREADS: "2" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const dec = new TextDecoder();
  let text = "";
  const reader = child.stdout.getReader();
  while (!/step 1: val loss/.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value);
  }
  child.kill("SIGTERM");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value);
  }
  const status = await child.status;
  await child.stderr.cancel();
  assert.equal(status.code, 143, "128 + SIGTERM after the save");
  assert.match(text, /SIGTERM: saving a checkpoint after this step, then stopping/);
  assert.match(text, /stopped after \d+ steps; checkpoint: /);
  const state = JSON.parse(await Deno.readTextFile(`${dir}/checkpoint/trainer_state.json`));
  assert.ok(state.step >= 1 && state.step < 50, `saved at step ${state.step}`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("tasks:generate writes seeded JSONL examples and refuses unknown tasks and phases", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/lr.jsonl`;
  const generateTo = (path: string) =>
    cli("tasks:generate", "--task", "list_recall", "--phase", "1", "--n", "5", "--seed", "3", "--out", path);
  const made = await generateTo(out);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /wrote 5 list-recall examples \(phase 1, seed 3\)/);
  const lines = (await Deno.readTextFile(out)).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 5);
  assert.ok(
    lines.every((e) => e.phase === 1 && e.prompt.includes("_PAUSE_") && typeof e.answer === "string"),
  );
  const again = await generateTo(`${dir}/b.jsonl`);
  assert.equal(again.code, 0);
  assert.equal(await Deno.readTextFile(`${dir}/b.jsonl`), await Deno.readTextFile(out));
  const badTask = await cli("tasks:generate", "--task", "sorting", "--out", out);
  assert.match(
    badTask.stderr,
    /Cannot use --task "sorting": expected one of list-recall, segment-counting, parity, copying/,
  );
  const badPhase = await cli("tasks:generate", "--task", "parity", "--phase", "9", "--out", out);
  assert.equal(badPhase.code, 1);
  assert.match(badPhase.stderr, /phase/i);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("e2e (short): fine-tune a pretrained checkpoint on Parity, then evaluate it per length bin", async () => {
  const dir = await Deno.makeTempDir();
  const pre = await cli(
    "pretrain",
    "--steps",
    "1",
    "--out",
    `${dir}/pre`,
    "--eval-every",
    "0",
    "--batch-size",
    "2",
  );
  assert.equal(pre.code, 0, pre.stderr);
  const ft = await cli(
    "finetune",
    "--checkpoint",
    `${dir}/pre/checkpoint`,
    "--task",
    "parity",
    "--phases",
    "1",
    "--max-length",
    "256",
    "--n",
    "16",
    "--steps",
    "2",
    "--batch-size",
    "2",
    "--eval-every",
    "1",
    "--val-n",
    "2",
    "--out",
    `${dir}/ft`,
  );
  assert.equal(ft.code, 0, ft.stderr);
  assert.match(ft.stdout, /fine-tuning on parity phase 1: 16 of 16 examples fit 256 tokens/);
  assert.match(
    ft.stdout,
    /phase 1 validation loss \(2 held-out examples\) by step: 0: [\d.]+, 1: [\d.]+, 2: [\d.]+/,
  );
  const spiked = await cli(
    "finetune",
    ...["--checkpoint", `${dir}/pre/checkpoint`, "--task", "parity", "--phases", "1", "--n", "4"],
    ...["--steps", "2", "--batch-size", "2", "--max-loss", "0.01", "--out", `${dir}/ft-spiked`],
  );
  assert.equal(spiked.code, 1, spiked.stdout);
  assert.match(spiked.stderr, /at step 1 exceeds maxLoss 0\.01: .*; no checkpoint of this run was written/);
  assert.equal(
    await Deno.stat(`${dir}/ft-spiked`).then(() => true, () => false),
    false,
    "no empty run folder",
  );
  assert.match(ft.stdout, /phase 1 done; checkpoint: .*ft\/checkpoint/);
  const state = JSON.parse(await Deno.readTextFile(`${dir}/ft/checkpoint/trainer_state.json`));
  assert.deepEqual([state.step, state.finetune.task], [2, "parity"]);
  const ev = await cli(
    "eval",
    "--checkpoint",
    `${dir}/ft/checkpoint`,
    "--task",
    "parity",
    "--phases",
    "1",
    "--n",
    "3",
    "--zero-pos-at-meta",
    "--out",
    `${dir}/eval`,
  );
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(ev.stdout, /### parity, phases 1, 3 examples \(no pos at meta\)/);
  const report = JSON.parse(await Deno.readTextFile(`${dir}/eval/eval.json`));
  assert.equal(report.bins.reduce((n: number, b: { count: number }) => n + b.count, 0), 3);
  const long = await cli(
    "eval",
    "--checkpoint",
    `${dir}/ft/checkpoint`,
    "--task",
    "parity",
    "--phases",
    "3",
    "--n",
    "1",
  );
  assert.equal(long.code, 1);
  assert.match(long.stderr, /Cannot evaluate: all 1 examples are longer than the APE model's block size 256/);
  const tooLong = await cli(
    "finetune",
    "--checkpoint",
    `${dir}/pre/checkpoint`,
    "--task",
    "parity",
    "--max-length",
    "512",
  );
  assert.equal(tooLong.code, 1);
  assert.match(tooLong.stderr, /Cannot fine-tune at length 512: the APE model's block size is 256/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("eval refuses meta-token ablations on a baseline checkpoint, naming it", async () => {
  const dir = await Deno.makeTempDir();
  const pre = await cli(
    "pretrain",
    "--steps",
    "1",
    "--meta=false",
    "--out",
    dir,
    "--eval-every",
    "0",
    "--batch-size",
    "1",
  );
  assert.equal(pre.code, 0, pre.stderr);
  const ev = await cli(
    "eval",
    "--checkpoint",
    `${dir}/checkpoint`,
    "--task",
    "parity",
    "--zero-embed-at-meta",
  );
  assert.equal(ev.code, 1);
  assert.match(
    ev.stderr,
    /Cannot run meta-token ablations on ".*checkpoint": the model has no meta-attention/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("e2e (short): YaRN-extend a RoPE checkpoint to 2× its context and keep training; APE is refused", async () => {
  const dir = await Deno.makeTempDir();
  const common = ["--eval-every", "0", "--batch-size", "1"];
  const rope = await cli("pretrain", "--steps", "1", "--pos", "rope", "--out", `${dir}/rope`, ...common);
  assert.equal(rope.code, 0, rope.stderr);
  const ext = await cli(
    "extend",
    "--checkpoint",
    `${dir}/rope/checkpoint`,
    "--scale",
    "2",
    "--steps",
    "1",
    "--out",
    `${dir}/ext`,
    ...common,
  );
  assert.equal(ext.code, 0, ext.stderr);
  assert.match(ext.stdout, /extended .* with YaRN: context 256 → 512 \(s = 2\)/);
  assert.match(ext.stdout, /^metatokens extend: .*\nextend: tiny \(4 layers, width 256, rope, YaRN s = 2\)/m);
  assert.doesNotMatch(ext.stdout, /pretrain/);
  assert.match(ext.stdout, /1 steps of 1 × 512 tokens/);
  const config = JSON.parse(await Deno.readTextFile(`${dir}/ext/checkpoint/config.json`));
  assert.deepEqual([config.blockSize, config.yarn], [512, { scale: 2, originalContext: 256 }]);
  const ape = await cli("pretrain", "--steps", "1", "--out", `${dir}/ape`, ...common);
  assert.equal(ape.code, 0, ape.stderr);
  const refused = await cli(
    "extend",
    "--checkpoint",
    `${dir}/ape/checkpoint`,
    "--scale",
    "2",
    "--out",
    `${dir}/x`,
  );
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /Cannot extend ".*ape\/checkpoint" with YaRN: it uses learned absolute positions/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--device: an unknown device is refused by every command, naming the choices", async () => {
  const args: Record<string, string[]> = {
    pretrain: [],
    score: ["--checkpoint", "x", "--text", "a"],
    eval: ["--checkpoint", "x", "--task", "parity"],
    analyze: ["--checkpoint", "x", "--out", `${await Deno.makeTempDir()}/a`],
  };
  for (const [command, rest] of Object.entries(args)) {
    const r = await cli(command, ...rest, "--device", "tpu");
    assert.equal(r.code, 1, command);
    assert.match(r.stderr, /Cannot use --device "tpu": expected one of cpu, webgpu, auto/, command);
  }
});
