/**
 * A fork–join pool of threads that call WebAssembly exports on one shared
 * memory.
 *
 * Modules are loaded into the pool at run time ({@linkcode Pool.load}): the
 * calling thread instantiates them itself and every worker instantiates the
 * same bytes on the shared memory, so the tensor kernels and kernels of other
 * packages (attention) go through one mechanism. A call writes the export's
 * index and arguments into the control block at address 0, bumps a
 * generation counter and wakes the workers; the calling thread runs the share
 * of thread 0 itself, then waits until the others have finished. Every
 * parallel export takes `(…, tid, nt)` and touches a disjoint part of its
 * outputs, so calls are synchronous to the caller and need no locks. Every
 * worker acknowledges every call, even one it sits out (tid ≥ nt), so the
 * caller never rewrites the control block while a worker may still read it.
 *
 * Control block (Int32 slots): 0 generation, 1 finished count, 2 export
 * index (−1: load the module whose bytes args[0..1] locate), 3 threads in
 * this call, 4 quit, 5 first thread that trapped (+1); f64 arguments from
 * byte 64.
 *
 * @module
 */

import { Worker } from "node:worker_threads";

const GEN = 0, DONE = 1, FN = 2, NT = 3, QUIT = 4, FAILED = 5;
const LOAD = -1;
const ARGS_BYTE = 64;
/** Most arguments an export may take, `tid` and `nt` excluded. */
export const MAX_ARGS = 32;

/** A WebAssembly export called with numbers. */
export type Export = (...args: number[]) => number | void;

/** The function exports of an instance, sorted by name (the order every thread indexes them in). */
function functionExports(instance: WebAssembly.Instance): [string, Export][] {
  return Object.entries(instance.exports)
    .filter((e): e is [string, Export] => typeof e[1] === "function")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Runs exports on `threads` threads (the caller counts as thread 0). */
export class Pool {
  readonly #memory: WebAssembly.Memory;
  readonly #ctl: Int32Array;
  readonly #args: Float64Array;
  readonly #workers: Worker[] = [];
  readonly #exports: Export[] = [];
  readonly #index = new Map<string, number>();

  /** Starts `threads − 1` workers on `memory`. */
  constructor(memory: WebAssembly.Memory, readonly threads: number) {
    this.#memory = memory;
    this.#ctl = new Int32Array(memory.buffer, 0, 16);
    this.#args = new Float64Array(memory.buffer, ARGS_BYTE, MAX_ARGS);
    for (let tid = 1; tid < threads; tid++) {
      const worker = new Worker(new URL("./_worker.ts", import.meta.url), { workerData: { memory, tid } });
      worker.unref();
      this.#workers.push(worker);
    }
  }

  /**
   * Instantiates `bytes` on every thread. `staging` is the address of a
   * scratch block of at least `bytes.length` bytes in the shared memory,
   * through which the workers read the module.
   */
  load(bytes: Uint8Array<ArrayBuffer>, staging: number): void {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
      env: { memory: this.#memory },
    });
    const entries = functionExports(instance);
    for (const [name] of entries) {
      if (this.#index.has(name)) {
        throw new Error(`Cannot load a WebAssembly module: export "${name}" is already loaded`);
      }
    }
    if (this.#workers.length > 0) {
      new Uint8Array(this.#memory.buffer, staging, bytes.length).set(bytes);
      this.#dispatch(LOAD, [staging, bytes.length], this.threads, () => {});
    }
    // Registered only once every worker has the module, so indices agree on all threads.
    for (const [name, fn] of entries) {
      this.#index.set(name, this.#exports.length);
      this.#exports.push(fn);
    }
  }

  /** Whether an export of that name is loaded. */
  has(name: string): boolean {
    return this.#index.has(name);
  }

  /** A loaded export, to call on the calling thread only. */
  get(name: string): Export {
    const i = this.#index.get(name);
    if (i === undefined) throw new Error(`Cannot find WebAssembly export "${name}": load its module first`);
    return this.#exports[i];
  }

  /** Calls parallel export `name` with `args` on `nt` ≤ threads threads and returns when all are done. */
  run(name: string, args: readonly number[], nt: number): void {
    const fn = this.get(name);
    if (nt <= 1 || this.#workers.length === 0) {
      fn(...args, 0, 1);
      return;
    }
    this.#dispatch(this.#index.get(name)!, args, nt, () => fn(...args, 0, nt));
  }

  #dispatch(index: number, args: readonly number[], nt: number, own: () => void): void {
    const ctl = this.#ctl;
    this.#args.set(args);
    ctl[FN] = index;
    ctl[NT] = nt;
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, FAILED, 0);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    try {
      own();
    } finally {
      // Even when thread 0 traps, wait for the others before the block is reused.
      const workers = this.#workers.length;
      for (let done = Atomics.load(ctl, DONE); done < workers; done = Atomics.load(ctl, DONE)) {
        Atomics.wait(ctl, DONE, done);
      }
    }
    const failed = Atomics.load(ctl, FAILED);
    if (failed !== 0) {
      const what = index === LOAD ? "loading a module" : `export ${[...this.#index.keys()][index]}`;
      throw new Error(`WebAssembly ${what} failed on worker thread ${failed - 1}`);
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
export function serve(memory: WebAssembly.Memory, tid: number): void {
  const ctl = new Int32Array(memory.buffer, 0, 16);
  const args = new Float64Array(memory.buffer, ARGS_BYTE, MAX_ARGS);
  const exports: Export[] = [];
  let gen = 0; // a worker that starts late still sees the first call: GEN only moves after it acks
  for (;;) {
    // Spin briefly (kernels arrive back to back in a training step), then sleep.
    for (let spin = 0; spin < 20000 && Atomics.load(ctl, GEN) === gen; spin++);
    Atomics.wait(ctl, GEN, gen);
    gen = Atomics.load(ctl, GEN);
    if (Atomics.load(ctl, QUIT)) return;
    const nt = ctl[NT];
    try {
      if (ctl[FN] === LOAD) {
        // Copy out of the shared buffer: a module compiles from unshared bytes.
        const bytes = new Uint8Array(memory.buffer, args[0], args[1]).slice();
        const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
        for (const [, fn] of functionExports(instance)) exports.push(fn);
      } else if (tid < nt) {
        const fn = exports[ctl[FN]];
        fn(...Array.from(args.subarray(0, fn.length - 2)), tid, nt);
      }
    } catch (e) {
      console.error(`metatokens worker ${tid}:`, e);
      Atomics.compareExchange(ctl, FAILED, 0, tid + 1);
    }
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
  }
}
