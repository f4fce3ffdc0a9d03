/**
 * Stop requests of a long run, however it was started.
 *
 * Started as the README says, `npx deno task pretrain`, a run sits under
 * five wrappers of one process group: npm exec → `sh -c` → node
 * `node_modules/deno/bin.cjs` → `deno task` → deno running `bin.cjs` again
 * (the task's `deno` resolves to `node_modules/.bin/deno`) → the run. The
 * Node.js wrappers have no signal handling: on Ctrl-C (SIGINT to the whole
 * terminal group) they exit at once, the terminal may hang up (SIGHUP), and
 * SIGTERM to the top process alone kills npm exec and `sh` but leaves the
 * rest orphaned and running. So the run asks itself to save a checkpoint
 * after the current step and stop on:
 *
 * - SIGINT and SIGTERM;
 * - SIGHUP, unless it was started under `nohup` (SIGHUP ignored on entry,
 *   which then stays ignored);
 * - the exit of an ancestor process in its own process group (a wrapper
 *   that started it; Linux reads `/proc`; elsewhere the parent process is
 *   watched, whatever its group).
 *
 * On Linux a shell or scheduler above the run's own process group is not
 * watched, so `nohup … &` runs outlive a logout.
 *
 * @module
 */

/** Why a run was asked to stop. */
export type StopReason = "SIGINT" | "SIGTERM" | "SIGHUP" | "wrapper exited";

/** The exit status after a stop: 128 + the signal's number, as a shell reports a signal. */
const EXIT_CODES: Readonly<Record<StopReason, number>> = {
  SIGINT: 130,
  SIGTERM: 143,
  SIGHUP: 129,
  "wrapper exited": 129,
};

/** `/proc/<pid>/stat` as [ppid, pgrp, start time], or null when the process is gone or unreadable. */
function procStat(pid: number | "self"): [number, number, string] | null {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces): state ppid pgrp … starttime is field 22.
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return [Number(rest[1]), Number(rest[2]), rest[19]];
  } catch {
    return null;
  }
}

/** Whether SIGHUP was ignored when this process started (`nohup`); Linux only, false elsewhere. */
function hangupIgnored(): boolean {
  try {
    const m = /^SigIgn:\s*([0-9a-f]+)$/m.exec(Deno.readTextFileSync("/proc/self/status"));
    return m !== null && (BigInt(`0x${m[1]}`) & 1n) === 1n;
  } catch {
    return false;
  }
}

/** The ancestors of this process inside its own process group, with their start times (Linux). */
function groupAncestors(): [number, string][] {
  const self = procStat("self");
  if (!self) return [];
  const [, group] = self;
  const out: [number, string][] = [];
  for (let pid = self[0]; pid > 1 && out.length < 64;) {
    const stat = procStat(pid);
    if (!stat || stat[1] !== group) break;
    out.push([pid, stat[2]]);
    pid = stat[0];
  }
  return out;
}

/**
 * Listens for stop requests until disposed; `requested` is polled once per
 * training step (a signal listener runs between steps). Requests after the
 * first are absorbed — the save is already coming — so a second Ctrl-C or
 * the terminal's hang-up does not kill the run mid-save.
 *
 * @example
 * ```ts
 * import { StopRequests } from "@metatokens/cli/stop";
 * using stop = new StopRequests(() => {});
 * console.log(stop.requested, stop.exitCode); // false 0
 * ```
 */
export class StopRequests implements Disposable {
  #reason: StopReason | null = null;
  readonly #listeners: [Deno.Signal, () => void][] = [];
  readonly #onStop: (reason: StopReason) => void;
  readonly #ancestors: [number, string][];
  readonly #parent = Deno.ppid;
  readonly #linux = Deno.build.os === "linux";

  /** Starts listening; `onStop` is called once, on the first request. */
  constructor(onStop: (reason: StopReason) => void) {
    this.#onStop = onStop;
    const signals: Deno.Signal[] = Deno.build.os === "windows"
      ? ["SIGINT"]
      : ["SIGINT", "SIGTERM", ...(hangupIgnored() ? [] : ["SIGHUP" as const])];
    for (const signal of signals) {
      const listener = () => this.#request(signal as StopReason);
      Deno.addSignalListener(signal, listener);
      this.#listeners.push([signal, listener]);
    }
    this.#ancestors = this.#linux ? groupAncestors() : [];
  }

  #request(reason: StopReason): void {
    if (this.#reason !== null) return;
    this.#reason = reason;
    this.#onStop(reason);
  }

  /** Whether a wrapper this run was started by has exited. */
  #wrapperGone(): boolean {
    if (!this.#linux) return Deno.build.os !== "windows" && Deno.ppid !== this.#parent && this.#parent !== 1;
    return this.#ancestors.some(([pid, start]) => procStat(pid)?.[2] !== start);
  }

  /** Whether a stop was requested (this also checks the wrappers). */
  get requested(): boolean {
    if (this.#reason === null && this.#wrapperGone()) this.#request("wrapper exited");
    return this.#reason !== null;
  }

  /** What asked the run to stop, or null. */
  get reason(): StopReason | null {
    return this.#reason;
  }

  /** The exit status the command should end with: 0, or 128 + the signal's number after a stop. */
  get exitCode(): number {
    return this.#reason === null ? 0 : EXIT_CODES[this.#reason];
  }

  /** Stops listening. */
  [Symbol.dispose](): void {
    for (const [signal, listener] of this.#listeners) Deno.removeSignalListener(signal, listener);
    this.#listeners.length = 0;
  }
}
