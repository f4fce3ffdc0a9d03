// Stopping a run through the README's entry point, `npx deno task pretrain`, the way users and
// schedulers do: Ctrl-C typed in a terminal (SIGINT to the whole foreground group), and SIGTERM to
// the top process only. Both must leave a loadable checkpoint and no process behind.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadCheckpoint } from "@metatokens/model";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ARGS = "--steps 50 --eval-every 1 --eval-batches 1 --batch-size 2 --checkpoint-every 0";
const dec = new TextDecoder();

/** Processes whose command line mentions `marker` (our unique run folder). */
async function processesOf(marker: string): Promise<string[]> {
  const out = await new Deno.Command("ps", { args: ["-eo", "pid,args"] }).output();
  return dec.decode(out.stdout).split("\n").filter((l) => l.includes(marker) && !l.includes(" ps "));
}

/** Waits until no process mentions `marker`; returns those left after `seconds`. */
async function settled(marker: string, seconds: number): Promise<string[]> {
  for (let i = 0; i < seconds * 4; i++) {
    const left = await processesOf(marker);
    if (left.length === 0) return [];
    await new Promise((r) => setTimeout(r, 250));
  }
  return await processesOf(marker);
}

/** Reads `stream` into `sink.text` until it closes; resolves once `pattern` has appeared. */
function watch(
  stream: ReadableStream<Uint8Array>,
  pattern: RegExp,
): { sink: { text: string }; seen: Promise<void> } {
  const sink = { text: "" };
  let resolve!: () => void;
  const seen = new Promise<void>((r) => resolve = r);
  (async () => {
    for await (const chunk of stream) {
      sink.text += dec.decode(chunk);
      if (pattern.test(sink.text)) resolve();
    }
    resolve();
  })();
  return { sink, seen };
}

async function assertSaved(dir: string): Promise<number> {
  const ckpt = await loadCheckpoint(`${dir}/checkpoint`);
  const step = Number(ckpt.trainerState.step);
  assert.ok(step >= 1 && step < 50, `saved at step ${step}`);
  return step;
}

const canScript = Deno.build.os === "linux" &&
  (await new Deno.Command("script", { args: ["-V"] }).output().then((o) => o.success, () => false));

Deno.test({
  name:
    "e2e: Ctrl-C in a terminal running `npx deno task pretrain` saves a checkpoint, exits 130, leaves no process",
  ignore: !canScript,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "metatokens-ctrl-c-" });
    // script(1) runs the command in a pseudo-terminal; the byte 0x03 written to it is a typed Ctrl-C,
    // which the terminal turns into SIGINT for the whole foreground group (npx, node, deno task, deno).
    const child = new Deno.Command("script", {
      args: ["-qfec", `npx deno task pretrain --out ${dir} ${ARGS}`, "/dev/null"],
      cwd: ROOT,
      env: { NO_COLOR: "1", METATOKENS_THREADS: "2" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const { sink, seen } = watch(child.stdout, /step 1: val loss/);
    await seen;
    const writer = child.stdin.getWriter();
    await writer.write(new Uint8Array([3]));
    const status = await child.status;
    await writer.close().catch(() => {});
    await child.stderr.cancel();
    assert.equal(status.code, 130, sink.text);
    // The run finishes its step and saves even though its wrappers and terminal are gone.
    assert.deepEqual(await settled(dir, 120), [], "no process outlives the run");
    await assertSaved(dir);
    const metrics = await Deno.readTextFile(`${dir}/metrics.jsonl`);
    assert.match(metrics, /"type":"checkpoint"/);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name:
    "e2e: SIGTERM to the top process of `npx deno task pretrain` (no terminal) saves and leaves no process",
  ignore: Deno.build.os === "windows",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "metatokens-sigterm-" });
    const child = new Deno.Command("npx", {
      args: ["deno", "task", "pretrain", "--out", dir, ...ARGS.split(" ")],
      cwd: ROOT,
      env: { NO_COLOR: "1", METATOKENS_THREADS: "2" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const { sink, seen } = watch(child.stdout, /step 1: val loss/);
    await seen;
    child.kill("SIGTERM");
    await child.status;
    await child.stderr.cancel();
    // The wrappers exit at once; the run notices it lost its parent, saves and exits.
    assert.deepEqual(await settled(dir, 120), [], "no process outlives the run");
    await assertSaved(dir);
    assert.match(sink.text, /step 1: val loss/);
    await Deno.remove(dir, { recursive: true });
  },
});
