/**
 * Training checkpoints: a directory holding
 *
 * ```text
 * model.safetensors      the parameters (nanoGPT state-dict names)
 * config.json            the model config: every key of GptConfig (read by checkpointConfig)
 * optimizer.safetensors  AdamW moments "m.<param>" and "v.<param>", metadata {step} (optional)
 * trainer_state.json     a JSON object: formatVersion, step, RNG state, data cursor, schedule, ...
 * ```
 *
 * Every file is untrusted input (checkpoints travel between machines): the
 * config is read by {@linkcode checkpointConfig}, the safetensors files by a
 * bounded reader, the JSON files are capped at {@linkcode MAX_JSON_BYTES}, the
 * format version is checked ({@linkcode checkpointFormatVersion}: absent means
 * format 1, the layout before versions existed) and every weight and moment
 * must be finite — on load, and before a save writes anything, so a diverged
 * state never replaces a good checkpoint. What a resume takes from
 * `trainer_state.json` is read by `readTrainerState` (`./trainer_state.ts`). *
 * A save is atomic: everything is written and flushed into a fresh `<dir>.tmp-<random>`
 * beside the destination, then the old checkpoint is renamed to `<dir>.old-<random>`,
 * the new one renamed to `<dir>`, and the old one removed. At every instant a complete
 * checkpoint exists under a known name; a load that finds only `<dir>.old-*` (the process
 * died between the two renames) says which directory to rename back. One process at a time
 * may save to a given directory. {@linkcode recoverCheckpointDir}, called when a run
 * starts, removes the leftovers of killed saves and renames such an old checkpoint back.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import { basename, dirname, join, resolve } from "node:path";
import { formatShape } from "@metatokens/tensor";
import { errorReason, replaceDir, writeNewFileSynced } from "@metatokens/tensor/fs";
import { preview, quote } from "@metatokens/tensor/quote";
import { checkpointConfig } from "./config.ts";
import { decodeSafetensors, encodeSafetensors, type StateDict } from "./safetensors.ts";
import { CHECKPOINT_FORMAT_VERSION, checkpointFormatVersion, FORMAT_VERSION_KEY } from "./trainer_state.ts";

/** The model weights file inside a checkpoint directory. */
export const MODEL_FILE = "model.safetensors";
/** The model config file inside a checkpoint directory. */
export const CONFIG_FILE = "config.json";
/** The optimizer state file inside a checkpoint directory (absent when there is none). */
export const OPTIMIZER_FILE = "optimizer.safetensors";
/** The trainer state file inside a checkpoint directory. */
export const TRAINER_STATE_FILE = "trainer_state.json";
/** The largest `config.json` or `trainer_state.json` read (16 MiB); a larger one is refused unread. */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** AdamW state: first and second moments by parameter name, and the step count. */
export interface OptimizerState {
  /** First moments, keyed by the parameter's name in the model state dict. */
  m: StateDict;
  /** Second moments, keyed by the parameter's name in the model state dict. */
  v: StateDict;
  /** The number of optimizer steps taken (a non-negative integer). */
  step: number;
}

/** Everything a training run needs to resume. */
export interface Checkpoint {
  /** The model config, stored as `config.json`: complete and valid ({@linkcode checkpointConfig}). */
  config: Record<string, unknown>;
  /** The parameters. */
  model: StateDict;
  /** The optimizer state, or null for weights only (then no `optimizer.safetensors` is written). */
  optimizer: OptimizerState | null;
  /**
   * Trainer state (JSON: non-finite numbers do not survive), stored as `trainer_state.json` with the
   * format version added (and taken away again on load); a resume reads it with `readTrainerState`.
   */
  trainerState: Record<string, unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The first tensor of `dict` holding a non-finite value, with its index and value, or null. */
function firstNonFinite(dict: StateDict): { name: string; index: number; value: number } | null {
  for (const [name, t] of Object.entries(dict)) {
    const data = t.data;
    for (let i = 0; i < data.length; i++) {
      // x - x is 0 for finite x and NaN for NaN and ±Infinity: one comparison per value.
      if (data[i] - data[i] !== 0) return { name, index: i, value: data[i] };
    }
  }
  return null;
}

/**
 * Names the first non-finite value among a checkpoint's weights and moments
 * (`model.safetensors tensor "x" holds NaN at index 3`), or null when all are finite.
 */
function nonFiniteState(model: StateDict, optimizer: OptimizerState | null): string | null {
  const parts: [string, StateDict][] = [["", model]];
  if (optimizer) parts.push(["m.", optimizer.m], ["v.", optimizer.v]);
  for (const [prefix, dict] of parts) {
    const bad = firstNonFinite(dict);
    if (bad) {
      return `${prefix ? OPTIMIZER_FILE : MODEL_FILE} tensor ${
        quote(prefix + bad.name)
      } holds ${bad.value} ` +
        `at index ${bad.index}`;
    }
  }
  return null;
}

/** Checks that every moment names a model tensor of the same shape, and m and v cover the same names. */
function checkOptimizer(
  what: string,
  model: StateDict,
  m: StateDict,
  v: StateDict,
  step: number,
): void {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new Error(`${what}: optimizer step ${preview(step)} is not a non-negative integer`);
  }
  for (const [prefix, moments, other] of [["m", m, v], ["v", v, m]] as const) {
    for (const [name, moment] of Object.entries(moments)) {
      const tensor = quote(`${prefix}.${name}`);
      if (!Object.hasOwn(model, name)) {
        throw new Error(`${what}: optimizer tensor ${tensor} has no model tensor ${quote(name)}`);
      }
      const param = model[name];
      if (
        param.shape.length !== moment.shape.length || param.shape.some((d, i) => d !== moment.shape[i])
      ) {
        throw new Error(
          `${what}: optimizer tensor ${tensor} has shape ${formatShape(moment.shape)}, but model tensor ${
            quote(name)
          } has ${formatShape(param.shape)}`,
        );
      }
      if (!Object.hasOwn(other, name)) {
        throw new Error(
          `${what}: optimizer tensor ${tensor} has no matching ${
            quote(`${prefix === "m" ? "v" : "m"}.${name}`)
          }`,
        );
      }
    }
  }
}

async function exists(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Siblings of `dir` named `<base>.<kind>-*`, newest first. */
async function siblings(dir: string, kind: "tmp" | "old"): Promise<string[]> {
  const prefix = `${basename(dir)}.${kind}-`;
  const found: { path: string; mtime: number }[] = [];
  try {
    for await (const entry of Deno.readDir(dirname(dir))) {
      if (entry.isDirectory && entry.name.startsWith(prefix)) {
        const path = join(dirname(dir), entry.name);
        const info = await exists(path);
        found.push({ path, mtime: info?.mtime?.getTime() ?? 0 });
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return found.sort((a, b) => b.mtime - a.mtime).map((f) => f.path);
}

function random(): string {
  return randomBytes(6).toString("hex");
}

/**
 * Saves a checkpoint directory atomically (see the module doc), replacing any checkpoint
 * already at `dir`, and removes leftovers of earlier interrupted saves of `dir`.
 *
 * Everything is validated before anything is written: the config must be complete and
 * valid ({@linkcode checkpointConfig}), optimizer moments must name model tensors of the
 * same shape, `m` and `v` must cover the same names, and every weight and moment must be
 * finite (a diverged state is refused, and the message says whether the checkpoint at `dir`
 * is intact). `trainer_state.json` gets `formatVersion` {@linkcode CHECKPOINT_FORMAT_VERSION}.
 *
 * @param dir The checkpoint directory; its parent is created if missing.
 * @param ckpt What to save.
 * @throws {RangeError} A non-finite weight or moment, named.
 * @throws {Error} Inconsistent optimizer state, a `dir` that exists but is not a checkpoint
 *   (a file, or a non-empty directory without `model.safetensors`), or a failed write; on failure
 *   the previous checkpoint at `dir` is untouched.
 *
 * @example
 * ```ts
 * import { loadCheckpoint, saveCheckpoint } from "@metatokens/model/checkpoint";
 * import { PRESETS } from "@metatokens/model/config";
 * const root = await Deno.makeTempDir();
 * const dir = root + "/ckpt";
 * const w = { shape: [2], data: new Float32Array([1, 2]) };
 * await saveCheckpoint(dir, {
 *   config: { ...PRESETS.tiny, nLayer: 1 },
 *   model: { w },
 *   optimizer: { m: { w }, v: { w }, step: 5 },
 *   trainerState: { step: 5, bestValLoss: 3.25 },
 * });
 * const back = await loadCheckpoint(dir);
 * console.log(back.optimizer?.step, back.trainerState.bestValLoss); // 5 3.25
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function saveCheckpoint(dir: string, ckpt: Checkpoint): Promise<void> {
  dir = resolve(dir);
  const what = `Cannot save checkpoint "${dir}"`;
  const config = checkpointConfig(ckpt.config, join(dir, CONFIG_FILE));
  if (!isPlainObject(ckpt.trainerState)) throw new Error(`${what}: trainerState is not an object`);
  const optimizer = ckpt.optimizer;
  if (optimizer !== null) checkOptimizer(what, ckpt.model, optimizer.m, optimizer.v, optimizer.step);
  const current = await exists(dir);
  let isCheckpoint = false;
  if (current !== null) {
    if (!current.isDirectory) throw new Error(`${what}: it exists and is not a directory`);
    isCheckpoint = (await exists(join(dir, MODEL_FILE))) !== null;
    const isEmpty = (await Array.fromAsync(Deno.readDir(dir))).length === 0;
    if (!isCheckpoint && !isEmpty) {
      throw new Error(
        `${what}: the directory exists, is not empty and holds no ${MODEL_FILE}; refusing to replace it`,
      );
    }
  }
  const nonFinite = nonFiniteState(ckpt.model, optimizer);
  if (nonFinite !== null) {
    throw new RangeError(
      `${what}: ${nonFinite} (training diverged); nothing was written${
        isCheckpoint ? `, and the last checkpoint "${dir}" is intact` : ""
      }`,
    );
  }
  const trainerState = { [FORMAT_VERSION_KEY]: CHECKPOINT_FORMAT_VERSION, ...ckpt.trainerState };
  trainerState[FORMAT_VERSION_KEY] = CHECKPOINT_FORMAT_VERSION;
  // Encode first, so that bad tensors fail before anything touches the disk.
  const files: [string, Uint8Array][] = [
    [MODEL_FILE, encodeSafetensors(ckpt.model, { format: "pt" })],
    [CONFIG_FILE, new TextEncoder().encode(JSON.stringify(config, null, 2) + "\n")],
    [TRAINER_STATE_FILE, new TextEncoder().encode(JSON.stringify(trainerState, null, 2) + "\n")],
  ];
  if (optimizer !== null) {
    const moments: StateDict = {};
    for (const [name, t] of Object.entries(optimizer.m)) moments[`m.${name}`] = t;
    for (const [name, t] of Object.entries(optimizer.v)) moments[`v.${name}`] = t;
    files.push([OPTIMIZER_FILE, encodeSafetensors(moments, { step: String(optimizer.step) })]);
  }
  await Deno.mkdir(dirname(dir), { recursive: true });
  const temp = `${dir}.tmp-${random()}`;
  await Deno.mkdir(temp);
  try {
    for (const [name, bytes] of files) await writeNewFileSynced(join(temp, name), bytes);
  } catch (e) {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
    throw e;
  }
  // From here on a complete checkpoint exists at every instant: `dir`, then `<dir>.old-*`, then `dir`.
  await replaceDir(temp, dir);
  // Leftovers of interrupted saves: incomplete temp dirs, and old checkpoints superseded now.
  for (const path of [...await siblings(dir, "tmp"), ...await siblings(dir, "old")]) {
    await Deno.remove(path, { recursive: true }).catch(() => {});
  }
}

/**
 * Tidies the place of the checkpoint `dir` before a run writes to it, and
 * says what it did: when `dir` is missing but an interrupted save left
 * `<dir>.old-*` (the process died between its two renames), the newest one —
 * a complete checkpoint — is renamed back to `dir`; then every `<dir>.tmp-*`
 * (unfinished saves) and, once `dir` is a checkpoint, every other
 * `<dir>.old-*` is removed. Nothing else is touched; `dir` itself is never
 * removed.
 *
 * @param dir The checkpoint directory.
 * @returns One message per action, for the run's log (none when all was tidy).
 *
 * @example
 * ```ts
 * import { recoverCheckpointDir } from "@metatokens/model/checkpoint";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/checkpoint.tmp-0123456789ab`);
 * console.log((await recoverCheckpointDir(`${root}/checkpoint`)).length); // 1
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function recoverCheckpointDir(dir: string): Promise<string[]> {
  dir = resolve(dir);
  const notes: string[] = [];
  const olds = await siblings(dir, "old");
  if ((await exists(dir)) === null && olds.length > 0) {
    const old = olds.shift()!;
    await Deno.rename(old, dir).catch((e: Error) => {
      throw new Error(`Cannot recover checkpoint "${dir}" from "${old}": ${e.message.slice(0, 200)}`, {
        cause: e,
      });
    });
    notes.push(
      `recovered checkpoint "${dir}": a save was interrupted between its two renames; ` +
        `renamed "${old}" (the last complete checkpoint) back`,
    );
  }
  const leftovers = await siblings(dir, "tmp");
  if ((await exists(join(dir, MODEL_FILE))) !== null) leftovers.push(...olds);
  for (const path of leftovers) {
    await Deno.remove(path, { recursive: true });
    notes.push(`removed "${path}", left by an interrupted save`);
  }
  return notes;
}

async function readJsonObject(what: string, dir: string, name: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    const size = (await Deno.stat(join(dir, name))).size;
    if (size > MAX_JSON_BYTES) {
      throw new RangeError(`${what}: ${name} has ${size} bytes, more than the ${MAX_JSON_BYTES} allowed`);
    }
    text = new TextDecoder("utf-8", { fatal: true }).decode(await Deno.readFile(join(dir, name)));
  } catch (e) {
    if (e instanceof RangeError && e.message.startsWith(what)) throw e;
    if (e instanceof Deno.errors.NotFound) throw new Error(`${what}: ${name} is missing`);
    throw new Error(`${what}: cannot read ${name}: ${errorReason(e)}`, { cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: ${name} is not valid JSON (${(e as Error).message.slice(0, 200)})`);
  }
  if (!isPlainObject(value)) {
    throw new Error(`${what}: ${name} holds ${preview(value, 60)}, expected a JSON object`);
  }
  return value;
}

async function readOptional(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * Loads and validates a checkpoint directory written by {@linkcode saveCheckpoint}.
 *
 * Checked: the directory and its required files exist, the JSON files are objects, the
 * config is complete and valid ({@linkcode checkpointConfig}: nothing is filled from a
 * preset, sizes are bounded before any model is built), the
 * safetensors files are sound (every offset against the file), the optimizer tensors are
 * all `m.<name>` / `v.<name>` of model tensors with the same shape, and its `step` metadata
 * is a non-negative integer, every weight and moment is finite, and `trainer_state.json`'s
 * format version is known ({@linkcode checkpointFormatVersion}; absent: format 1). The
 * returned `trainerState` is the file's object without its `formatVersion`.
 *
 * @param dir The checkpoint directory.
 * @returns The checkpoint; `optimizer` is null when `optimizer.safetensors` is absent.
 * @throws {Error} What is missing or corrupt, naming the file; when `dir` is missing but an
 *   interrupted save left `<dir>.old-*`, the message names the directory to rename back.
 *
 * @example
 * ```ts
 * import { loadCheckpoint, saveCheckpoint } from "@metatokens/model/checkpoint";
 * import { PRESETS } from "@metatokens/model/config";
 * const root = await Deno.makeTempDir();
 * const dir = root + "/weights-only";
 * const model = { "transformer.wte.weight": { shape: [1, 1], data: new Float32Array([0.5]) } };
 * await saveCheckpoint(dir, { config: { ...PRESETS.tiny }, model, optimizer: null, trainerState: {} });
 * console.log((await loadCheckpoint(dir)).optimizer); // null
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  dir = resolve(dir);
  const what = `Cannot load checkpoint "${dir}"`;
  const info = await exists(dir);
  if (info === null) {
    const olds = await siblings(dir, "old");
    if (olds.length > 0) {
      throw new Error(
        `${what}: it does not exist, but "${
          olds[0]
        }" does: a save was interrupted between its two renames. ` +
          `Rename "${olds[0]}" to "${dir}" to recover the last complete checkpoint`,
      );
    }
    const temps = await siblings(dir, "tmp");
    if (temps.length > 0) {
      throw new Error(
        `${what}: it does not exist; "${
          temps[0]
        }" is the unfinished output of an interrupted save and may be incomplete`,
      );
    }
    throw new Error(`${what}: no such directory`);
  }
  if (!info.isDirectory) throw new Error(`${what}: it is not a directory`);
  const config = {
    ...checkpointConfig(await readJsonObject(what, dir, CONFIG_FILE), join(dir, CONFIG_FILE)),
  };
  const modelBytes = await readOptional(join(dir, MODEL_FILE));
  if (modelBytes === null) throw new Error(`${what}: ${MODEL_FILE} is missing`);
  const model = decodeSafetensors(modelBytes, join(dir, MODEL_FILE)).tensors;
  const trainerState = await readJsonObject(what, dir, TRAINER_STATE_FILE);
  checkpointFormatVersion(trainerState, join(dir, TRAINER_STATE_FILE));
  delete trainerState[FORMAT_VERSION_KEY];
  let optimizer: OptimizerState | null = null;
  const optimizerBytes = await readOptional(join(dir, OPTIMIZER_FILE));
  if (optimizerBytes !== null) {
    const path = join(dir, OPTIMIZER_FILE);
    const { tensors, metadata } = decodeSafetensors(optimizerBytes, path);
    const m: StateDict = {}, v: StateDict = {};
    for (const [name, t] of Object.entries(tensors)) {
      const moments = name.startsWith("m.") ? m : name.startsWith("v.") ? v : null;
      if (moments === null) {
        throw new Error(
          `${what}: ${OPTIMIZER_FILE} holds ${quote(name)}, expected only "m.<param>" and "v.<param>"`,
        );
      }
      // An own property even for a parameter named "__proto__".
      Object.defineProperty(moments, name.slice(2), {
        value: t,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    const stepText = metadata.step;
    if (stepText === undefined || !/^\d+$/.test(stepText)) {
      throw new Error(
        `${what}: ${OPTIMIZER_FILE} has step metadata ${preview(stepText)}, expected a non-negative integer`,
      );
    }
    const step = Number(stepText);
    checkOptimizer(what, model, m, v, step);
    optimizer = { m, v, step };
  }
  const nonFinite = nonFiniteState(model, optimizer);
  if (nonFinite !== null) {
    throw new RangeError(
      `${what}: ${nonFinite}: the checkpoint holds a diverged state; ` +
        `expected finite weights and moments (resume from an earlier checkpoint)`,
    );
  }
  return { config, model, optimizer, trainerState };
}
