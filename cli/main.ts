/**
 * The metatokens command line: argument parsing, then calls into
 * `@metatokens/experiments` (and `@metatokens/model` for `score` and
 * `generate`), printing and exit codes. Subcommands: `pretrain`, `extend`,
 * `finetune`, `eval`, `analyze`, `reproduce`, `score`, `generate`, `tasks:generate`.
 *
 * ```sh
 * deno task pretrain [--preset tiny] [--meta=false] [--pos rope] [--data 'c4/*.json.gz'] [--out DIR]
 *                    [--steps N] [--resume] [--threads N] [--seed S] [--config run.yaml] [--key=value …]
 * deno task score --checkpoint DIR --text "…" [--json]
 * deno task generate --checkpoint DIR --prompt "…" [--max-new-tokens 64] [--temperature 0.8] [--top-k 40]
 * deno task finetune --checkpoint DIR --task parity [--phases 1,2] [--max-length 128] [--steps 100] [--out DIR]
 * deno task extend --checkpoint DIR --scale 4 [--steps N] [--out DIR] [pretrain options]
 * deno task eval --checkpoint DIR --task parity [--phases 1,2,3] [--n 50] [--zero-pos-at-meta] [--zero-embed-at-meta] [--pe-noise 0.5] [--out DIR]
 * deno task analyze --checkpoint DIR [--task list-recall] [--betas 0.01,…,1.0] [--out DIR]
 * deno task reproduce [--scale micro|tiny|paper] [--plan] [--out DIR] [--data 'c4/*.json.gz']
 * deno task tasks:generate --task list_recall|segment_counting|parity|copying --phase 1..5 [--split train|test]
 *   [--preset cpu|paper] [--n N] --seed S --out file.jsonl
 * ```
 *
 * @module
 */

import {
  analyze,
  evalCommand,
  extend,
  finetune,
  generateCommand,
  pretrain,
  reproduce,
  scoreCommand,
  tasksGenerate,
} from "./commands.ts";

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  analyze,
  eval: evalCommand,
  extend,
  finetune,
  pretrain,
  reproduce,
  score: scoreCommand,
  generate: generateCommand,
  "tasks:generate": tasksGenerate,
};

/** Runs a subcommand; user errors print one line and exit 1. */
export async function main(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  const run = COMMANDS[command ?? ""];
  if (!run) {
    console.error(
      `usage: deno task <${Object.keys(COMMANDS).join("|")}> [options]` +
        (command ? `\nerror: unknown command "${command}"` : ""),
    );
    Deno.exit(2);
  }
  try {
    await run(rest);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    if (Deno.env.get("METATOKENS_DEBUG")) console.error(e);
    Deno.exit(1);
  }
}

if (import.meta.main) await main(Deno.args);
