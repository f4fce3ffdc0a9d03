/**
 * Worker entry of the WASM thread pool: serves calls on the shared memory
 * until told to quit (modules arrive through the pool's load command).
 *
 * @module
 */

import { workerData } from "node:worker_threads";
import { serve } from "./_pool.ts";

const { memory, tid } = workerData as { memory: WebAssembly.Memory; tid: number };
serve(memory, tid);
