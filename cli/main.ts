/**
 * The metatokens command line: each subcommand's arguments are parsed and
 * checked against its option table (`tables.ts`, which also writes
 * `--help`), then the command calls into `@metatokens/experiments` (and
 * `@metatokens/model` for `score` and `generate`), prints, and exits.
 *
 * ```sh
 * deno task help                      # the commands
 * deno task pretrain --help           # every option of one command, with type, default and range
 * deno task pretrain [--config run.yaml] [--steps N] [--pos rope] [--out DIR] [--resume] …
 * deno task score --checkpoint DIR --text "…" [--json]
 * deno task generate --checkpoint DIR --prompt "…" [--max-new-tokens 64] [--temperature 0.8] [--top-k 40]
 * deno task finetune --checkpoint DIR --task parity [--phases 1,2] [--max-length 128] [--steps 100]
 * deno task extend --checkpoint DIR --scale 4 [pretrain options]
 * deno task eval --checkpoint DIR --task parity [--phases 1,2,3] [--zero-pos-at-meta] [--out DIR]
 * deno task analyze --checkpoint DIR [--task list-recall] [--betas 0.01,…,1.0] [--out DIR]
 * deno task reproduce --scale micro|tiny|paper [--plan] [--out DIR]
 * deno task tasks:generate --task parity --phase 1 --seed 3 --out file.jsonl
 * ```
 *
 * Exit status: 0 done; 1 an error (one line, `error: Cannot …`); 2 a usage
 * error (unknown command, or `reproduce` without `--scale`); 128 + n when a
 * training run saved and stopped on signal n (130 for Ctrl-C, 143 for SIGTERM).
 *
 * @module
 */

import { helpText, parseOptions } from "./args.ts";
import {
  analyze,
  type Command,
  evalCommand,
  extend,
  finetune,
  generateCommand,
  pretrain,
  reproduce,
  scoreCommand,
  tasksGenerate,
} from "./commands.ts";
import { print, printError } from "./output.ts";
import { nearest } from "./args.ts";
import { COMMAND_SPECS } from "./tables.ts";

const HANDLERS: ReadonlyMap<string, Command> = new Map<string, Command>([
  ["pretrain", pretrain],
  ["extend", extend],
  ["finetune", finetune],
  ["eval", evalCommand],
  ["analyze", analyze],
  ["reproduce", reproduce],
  ["score", scoreCommand],
  ["generate", generateCommand],
  ["tasks:generate", tasksGenerate],
]);

/** The top-level help: every command with its summary. */
export function commandsHelp(): string {
  const width = Math.max(...COMMAND_SPECS.map((c) => c.name.length)) + 2;
  return [
    "usage: deno task <command> [options]     (npx deno task … without a global deno)",
    "",
    "commands:",
    ...COMMAND_SPECS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "deno task <command> --help lists every option of a command, with its type, default and range.",
    "Every command that takes options also reads them from --config FILE.yaml (flags override the file).",
  ].join("\n");
}

/** Runs a subcommand and returns its exit status; user errors print one line. */
export async function run(args: readonly string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    (name === undefined ? printError : print)(commandsHelp());
    return name === undefined ? 2 : 0;
  }
  const spec = COMMAND_SPECS.find((c) => c.name === name);
  const handler = HANDLERS.get(name);
  if (!spec || !handler) {
    const guess = nearest(name, COMMAND_SPECS.map((c) => c.name));
    printError(
      `error: unknown command ${JSON.stringify(name.slice(0, 40))}${
        guess ? `: did you mean ${guess}?` : ""
      }\n` +
        `commands: ${COMMAND_SPECS.map((c) => c.name).join(", ")} (deno task help)`,
    );
    return 2;
  }
  try {
    const { values, given, help } = await parseOptions(spec, rest);
    if (help) {
      print(helpText(spec));
      return 0;
    }
    return (await handler({ values, given })) ?? 0;
  } catch (e) {
    printError(`error: ${(e as Error).message}`);
    if (Deno.env.get("METATOKENS_DEBUG")) console.error(e);
    return 1;
  }
}

/** Runs the command line `args` and exits with its status. */
export async function main(args: readonly string[]): Promise<never> {
  Deno.exit(await run(args));
}

if (import.meta.main) await main(Deno.args);
