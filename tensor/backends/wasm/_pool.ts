/**
 * A fork–join pool of workers that call the same WebAssembly export on one
 * shared memory.
 *
 * Each worker instantiates every module on the shared memory. A call writes
 * the export's index and arguments into the control block at address 0,
 * bumps a generation counter and wakes the workers; the calling thread runs
 * the share of thread 0 itself, then waits until the others have finished.
 * Every parallel export takes `(…, tid, nt)` and touches a disjoint part of
 * its outputs, so calls are synchronous to the caller and need no locks.
 * Every worker acknowledges every call, even one it sits out (tid ≥ nt), so
 * the caller never rewrites the control block while a worker may still read it.
 *
 * Control block (Int32 slots): 0 generation, 1 finished count, 2 export
 * index, 3 threads in this call, 4 quit, 5 first thread that trapped (+1);
 * f64 arguments from byte 64.
 *
 * @module
 */

import { Worker } from "node:worker_threads";

const GEN = 0, DONE = 1, FN = 2, NT = 3, QUIT = 4, FAILED = 5;
const ARGS_BYTE = 64;
/** Most arguments an export may take, `tid` and `nt` excluded. */
export const MAX_ARGS = 32;

/** A parallel export: `(…args, tid, nt) => void`. */
export type Export = (...args: number[]) => void;

/** Runs exports on `threads` threads (the caller counts as thread 0). */
export class Pool {
  readonly #ctl: Int32Array;
  readonly #args: Float64Array;
  readonly #workers: Worker[] = [];

  /**
   * Starts `threads − 1` workers. `names` lists the parallel exports in the
   * order the workers index them.
   */
  constructor(
    memory: WebAssembly.Memory,
    readonly threads: number,
    readonly names: readonly string[],
    relaxed: boolean,
  ) {
    this.#ctl = new Int32Array(memory.buffer, 0, 16);
    this.#args = new Float64Array(memory.buffer, ARGS_BYTE, MAX_ARGS);
    for (let tid = 1; tid < threads; tid++) {
      const worker = new Worker(new URL("./_worker.ts", import.meta.url), {
        workerData: { memory, tid, names, relaxed },
      });
      worker.unref();
      this.#workers.push(worker);
    }
  }

  /** Calls export `index` with `args` on `nt` ≤ threads threads and returns when all are done. */
  run(fn: Export, index: number, args: readonly number[], nt: number): void {
    if (nt <= 1 || this.#workers.length === 0) {
      fn(...args, 0, 1);
      return;
    }
    const ctl = this.#ctl;
    this.#args.set(args);
    ctl[FN] = index;
    ctl[NT] = nt;
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, FAILED, 0);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    try {
      fn(...args, 0, nt);
    } finally {
      // Even when thread 0 traps, wait for the others before the block is reused.
      const workers = this.#workers.length;
      for (let done = Atomics.load(ctl, DONE); done < workers; done = Atomics.load(ctl, DONE)) {
        Atomics.wait(ctl, DONE, done);
      }
    }
    const failed = Atomics.load(ctl, FAILED);
    if (failed !== 0) {
      throw new Error(`WebAssembly export ${this.names[index]} trapped on worker thread ${failed - 1}`);
    }
  }

  /** Stops the workers. */
  terminate(): void {
    Atomics.store(this.#ctl, QUIT, 1);
    Atomics.add(this.#ctl, GEN, 1);
    Atomics.notify(this.#ctl, GEN);
    for (const w of this.#workers) w.terminate();
    this.#workers.length = 0;
  }
}

/** The worker side of {@linkcode Pool}: waits for calls and runs its share of each. */
export function serve(memory: WebAssembly.Memory, tid: number, exports: readonly Export[]): void {
  const ctl = new Int32Array(memory.buffer, 0, 16);
  const args = new Float64Array(memory.buffer, ARGS_BYTE, MAX_ARGS);
  let gen = 0; // a worker that starts late still sees the first call: GEN only moves after it acks
  for (;;) {
    // Spin briefly (kernels arrive back to back in a training step), then sleep.
    for (let spin = 0; spin < 20000 && Atomics.load(ctl, GEN) === gen; spin++);
    Atomics.wait(ctl, GEN, gen);
    gen = Atomics.load(ctl, GEN);
    if (Atomics.load(ctl, QUIT)) return;
    const nt = ctl[NT];
    if (tid < nt) {
      const fn = exports[ctl[FN]];
      try {
        fn(...Array.from(args.subarray(0, fn.length - 2)), tid, nt);
      } catch (e) {
        console.error(`metatokens worker ${tid}:`, e);
        Atomics.compareExchange(ctl, FAILED, 0, tid + 1);
      }
    }
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
  }
}
