/**
 * What the benchmark scripts share: flags, the device, best-of-N timing that
 * waits for the device, and printing a row as text or as one JSON object per
 * line.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Backend, createBackend, defaultThreads, DEVICES, parseThreads } from "../tensor/mod.ts";

/** Parsed benchmark flags. */
export interface BenchFlags<K extends string = never> {
  /** Print JSON lines instead of a table. */
  json: boolean;
  /** Threads for the "all threads" rows. */
  threads: number;
  /** Timed repetitions per figure (after one warm-up). */
  repeat: number;
  /** Small shapes only (a smoke run). */
  quick: boolean;
  /** `cpu` (the default: `ref` and `wasm` rows), `webgpu`, or `auto`. */
  device: string;
  /** The script's own string flags (undefined when not given and without a default). */
  extra: Record<K, string | undefined>;
}

/**
 * Parses `--json --threads N --repeat R --quick --device cpu|webgpu|auto`,
 * plus the script's own string flags `extra` (name → default, or undefined
 * for none). Unknown flags and a bad `--device` are errors that name them.
 */
export function benchFlags<K extends string = never>(
  args: string[],
  extra: Readonly<Record<K, string | undefined>> = {} as Record<K, string | undefined>,
): BenchFlags<K> {
  const own: Record<string, { type: "string"; default?: string }> = {};
  for (const [name, value] of Object.entries(extra) as [string, string | undefined][]) {
    own[name] = value === undefined ? { type: "string" } : { type: "string", default: value };
  }
  const { values } = parseArgs({
    args,
    options: {
      json: { type: "boolean", default: false },
      threads: { type: "string" },
      repeat: { type: "string", default: "5" },
      quick: { type: "boolean", default: false },
      device: { type: "string", default: "cpu" },
      ...own,
    },
  });
  const device = values.device as string;
  if (!DEVICES.includes(device)) {
    throw new RangeError(
      `Cannot use --device ${JSON.stringify(device)}: expected one of ${DEVICES.join(", ")}`,
    );
  }
  const all = values as Record<string, string | boolean | undefined>;
  return {
    json: values.json as boolean,
    threads: values.threads ? parseThreads(values.threads as string, "--threads") : defaultThreads(),
    repeat: parseThreads(values.repeat as string, "--repeat"),
    quick: values.quick as boolean,
    device,
    extra: Object.fromEntries(Object.keys(extra).map((k) => [k, all[k] as string | undefined])) as Record<
      K,
      string | undefined
    >,
  };
}

/** Parses a positive integer flag value, with an error naming the flag. */
export function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Cannot use ${flag} ${JSON.stringify(value)}: expected a positive integer`);
  }
  return n;
}

/** Parses a positive number flag value, with an error naming the flag. */
export function positiveNumber(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new RangeError(`Cannot use ${flag} ${JSON.stringify(value)}: expected a positive number`);
  }
  return n;
}

/** The GPU backend a run measures instead of the CPU rows. */
export interface GpuDevice {
  /** The `webgpu` backend (the caller disposes it). */
  backend: Backend;
  /** The adapter, as `createBackend` describes it. */
  description: string;
}

/**
 * The GPU backend for `--device`: null for `cpu`, and for `auto` when it
 * settles on the CPU (the script then runs its CPU rows, with a note in
 * text mode); the `webgpu` backend otherwise. `--device webgpu` without an
 * adapter is an error.
 */
export async function gpuDevice(flags: BenchFlags<string>): Promise<GpuDevice | null> {
  if (flags.device === "cpu") return null;
  const choice = await createBackend(flags.device, { threads: 1 });
  if (choice.backend.name === "webgpu") return choice;
  choice.backend.dispose();
  if (!flags.json) console.log(`--device ${flags.device}: no hardware WebGPU adapter, measuring the CPU`);
  return null;
}

/** Options of {@linkcode timeAsync}. */
export interface TimeOptions {
  /**
   * The backend `fn` runs on: its `sync()` (GPU backends) is awaited after
   * each timed sample, so a sample is the device's time, not the recording's.
   */
  backend?: Backend;
  /**
   * On a backend with `sync()`: call `fn` back to back until a sample lasts
   * about this long (seconds; default 0.05), so that submit and wait latency
   * do not dominate short kernels; 0 times one call per sample without
   * sizing. CPU backends always time one call.
   */
  minSample?: number;
}

/**
 * Seconds per call of `fn`: the best and the median of `repeat` samples
 * after one warm-up call (which compiles GPU pipelines). Each sample awaits
 * `fn` and then `backend.sync?.()` (a no-op on CPU backends).
 */
export async function timeAsync(
  fn: () => unknown,
  repeat: number,
  options: TimeOptions = {},
): Promise<{ best: number; median: number; calls: number }> {
  const sync = options.backend?.sync?.bind(options.backend);
  await fn();
  await sync?.();
  let calls = 1;
  if (sync && options.minSample !== 0) {
    // One more call, timed, to size the samples (the warm-up included compiling).
    const t0 = performance.now();
    await fn();
    await sync();
    const one = (performance.now() - t0) / 1000;
    calls = Math.max(1, Math.min(1000, Math.ceil((options.minSample ?? 0.05) / Math.max(one, 1e-6))));
  }
  const ts: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    for (let c = 0; c < calls; c++) await fn();
    await sync?.();
    ts.push((performance.now() - t0) / 1000 / calls);
  }
  ts.sort((a, b) => a - b);
  return { best: ts[0], median: ts[Math.floor(ts.length / 2)], calls };
}

/** Prints `row` as JSON with `--json`, else `text`. */
export function reporter(
  flags: BenchFlags<string>,
): (row: Record<string, string | number | boolean>, text: string) => void {
  return (row, text) => console.log(flags.json ? JSON.stringify(row) : text);
}

/** Best, median and worst of a set of samples (seconds per call, or a rate). */
export interface Spread {
  /** The best sample. */
  best: number;
  /** The median sample. */
  median: number;
  /** The worst sample. */
  worst: number;
}

/**
 * Seconds per call of a synchronous `fn` (CPU backends): `repeat` samples
 * after a warm-up call, each sample calling `fn` back to back for at least
 * `minSample` seconds (default 0.02), so that microsecond kernels are timed
 * above the clock's resolution.
 */
export function timeCalls(fn: () => void, repeat: number, minSample = 0.02): Spread {
  fn();
  const t0 = performance.now();
  fn();
  const one = Math.max((performance.now() - t0) / 1000, 1e-7);
  const calls = Math.max(1, Math.min(100_000, Math.ceil(minSample / one)));
  const ts: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const s = performance.now();
    for (let c = 0; c < calls; c++) fn();
    ts.push((performance.now() - s) / 1000 / calls);
  }
  ts.sort((a, b) => a - b);
  return { best: ts[0], median: ts[Math.floor(ts.length / 2)], worst: ts[ts.length - 1] };
}

/**
 * Single-thread read bandwidth (bytes/s) of a `wasm` backend: the `streamSum`
 * export (8 independent f32x4 accumulators, every byte read once, nothing
 * stored) over a buffer of `bytes` (default 256 MiB, far beyond the caches),
 * touched first; `repeat` timed passes after a warm-up. This is the ceiling of
 * a kernel that streams its weights once, such as decoding's matrix–vector
 * products (`bench:kernels`) and a decoded token (`bench:generate`).
 *
 * @param backend A `wasm` backend (the probe runs on its calling thread).
 * @param bytes Buffer size in bytes (a multiple of 128).
 * @param repeat Timed passes.
 * @returns Best, median and worst bandwidth in bytes/s (best = fastest pass).
 */
export function readBandwidth(backend: Backend, bytes = 256 * (1 << 20), repeat = 5): Spread {
  const hooks = backend.wasm;
  if (!hooks) throw new Error(`Cannot probe read bandwidth on backend "${backend.name}": expected wasm`);
  const n = Math.floor(bytes / 128) * 32;
  const x = backend.alloc("f32", n); // alloc zero-fills: every page is touched
  try {
    const ptr = hooks.address(x);
    hooks.call("streamSum", ptr, n);
    const rates: number[] = [];
    for (let i = 0; i < repeat; i++) {
      const t0 = performance.now();
      hooks.call("streamSum", ptr, n);
      rates.push((4 * n) / ((performance.now() - t0) / 1000));
    }
    rates.sort((a, b) => b - a);
    return { best: rates[0], median: rates[Math.floor(rates.length / 2)], worst: rates[rates.length - 1] };
  } finally {
    backend.free(x);
  }
}
