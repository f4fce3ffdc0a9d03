/**
 * Worker entry of the WASM thread pool: instantiates the kernels on the shared
 * memory and serves calls until told to quit.
 *
 * @module
 */

import { workerData } from "node:worker_threads";
import { instantiate } from "./_instance.ts";
import { type Export, serve } from "./_pool.ts";

const { memory, tid, names, relaxed } = workerData as {
  memory: WebAssembly.Memory;
  tid: number;
  names: string[];
  relaxed: boolean;
};
const exports = instantiate(memory, relaxed);
serve(memory, tid, names.map((n) => exports[n] as Export));
