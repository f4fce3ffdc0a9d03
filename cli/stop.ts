/**
 * Stop requests of a long run. A run started through `npx deno task …` sits
 * under wrappers (npm exec → node `bin.cjs` → `deno task` → deno running
 * `bin.cjs` again → the run); Ctrl-C reaches the whole terminal group and
 * the Node.js wrappers exit at once, closing the terminal (SIGHUP) or leaving
 * the run orphaned. So SIGINT, SIGTERM and SIGHUP, and the exit of the parent
 * process (the run re-parented), each ask the run to save a checkpoint after
 * the current step and stop.
 *
 * @module
 */

/** Why a run was asked to stop. */
export type StopReason = "SIGINT" | "SIGTERM" | "SIGHUP" | "parent exited";

/** The signals listened to on this platform (Windows delivers only SIGINT and SIGBREAK). */
const SIGNALS: readonly Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT"]
  : ["SIGINT", "SIGTERM", "SIGHUP"];

/** The exit status after a stop: 128 + the signal number, as a shell reports a signal. */
const EXIT_CODES: Readonly<Record<StopReason, number>> = {
  SIGINT: 130,
  SIGTERM: 143,
  SIGHUP: 129,
  "parent exited": 129,
};

/**
 * Listens for stop requests until disposed; `requested` is polled once per
 * training step. Later signals after the first are absorbed (the save is
 * already coming), so a second Ctrl-C or the terminal's hang-up does not
 * kill the run mid-save.
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
  readonly #parent = Deno.ppid;
  readonly #listeners: [Deno.Signal, () => void][] = [];
  readonly #onStop: (reason: StopReason) => void;

  /** Starts listening; `onStop` is called once, on the first request. */
  constructor(onStop: (reason: StopReason) => void) {
    this.#onStop = onStop;
    for (const signal of SIGNALS) {
      const listener = () => this.#request(signal as StopReason);
      Deno.addSignalListener(signal, listener);
      this.#listeners.push([signal, listener]);
    }
  }

  #request(reason: StopReason): void {
    if (this.#reason !== null) return;
    this.#reason = reason;
    this.#onStop(reason);
  }

  /** Whether a stop was requested (checks here whether the parent process has exited). */
  get requested(): boolean {
    if (this.#reason === null && Deno.build.os !== "windows" && Deno.ppid !== this.#parent) {
      this.#request("parent exited");
    }
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
