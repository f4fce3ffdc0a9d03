/**
 * The typed reader of `trainer_state.json` (issue 14): what a resumed run
 * takes from a checkpoint is checked here, field by field, before anything
 * is restored. Every key is read as an own property, numbers are bounded
 * (steps and counters are non-negative safe integers, losses finite), and an
 * error names the file and the key and quotes at most about 200 characters of
 * the bad value.
 *
 * It also holds the checkpoint format version. Checkpoints written now carry
 * `"formatVersion": 1` in `trainer_state.json`; a checkpoint without the key
 * (written before versions existed, with the same layout) is read as format 1;
 * any other value is refused by name.
 *
 * @module
 */

import { preview, quote } from "@metatokens/tensor/quote";
import type { RngState } from "@metatokens/tensor/rng";
import type { TrainerState, TrainOptions } from "./train.ts";

/** The checkpoint format this version writes and reads. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/** The key of `trainer_state.json` that holds {@linkcode CHECKPOINT_FORMAT_VERSION}. */
export const FORMAT_VERSION_KEY = "formatVersion";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The format version of a checkpoint's parsed `trainer_state.json`: the value
 * of its own `formatVersion` key, or 1 when the key is absent (checkpoints
 * written before versions existed have format 1's layout).
 *
 * @param state The parsed `trainer_state.json` object.
 * @param source The file, for messages.
 * @returns {@linkcode CHECKPOINT_FORMAT_VERSION}.
 * @throws {RangeError} Any other version, named.
 *
 * @example
 * ```ts
 * import { checkpointFormatVersion } from "@metatokens/model/trainer-state";
 * console.log(checkpointFormatVersion({ step: 3 }, "trainer_state.json")); // 1
 * console.log(checkpointFormatVersion({ formatVersion: 1 }, "trainer_state.json")); // 1
 * ```
 */
export function checkpointFormatVersion(state: Record<string, unknown>, source: string): number {
  if (!Object.hasOwn(state, FORMAT_VERSION_KEY)) return CHECKPOINT_FORMAT_VERSION;
  const version = state[FORMAT_VERSION_KEY];
  if (version !== CHECKPOINT_FORMAT_VERSION) {
    throw new RangeError(
      `Cannot read ${source}: it has ${FORMAT_VERSION_KEY} ${preview(version)}, but this version of ` +
        `metatokens reads checkpoint format ${CHECKPOINT_FORMAT_VERSION} only (written by a newer metatokens?)`,
    );
  }
  return version;
}

/** Field checks that name `source` and the key path in their messages. */
class Fields {
  constructor(readonly source: string) {}

  fail(key: string, value: unknown, expected: string, type: "type" | "range" = "type"): never {
    const message = `Cannot resume from ${this.source}: ${key} is ${preview(value)}, expected ${expected}`;
    throw type === "type" ? new TypeError(message) : new RangeError(message);
  }

  missing(key: string, expected: string): never {
    throw new TypeError(`Cannot resume from ${this.source}: ${key} is missing, expected ${expected}`);
  }

  object(obj: Record<string, unknown>, key: string, path = key): Record<string, unknown> {
    if (!Object.hasOwn(obj, key)) this.missing(path, "an object");
    const value = obj[key];
    if (!isObject(value)) this.fail(path, value, "an object");
    return value;
  }

  integer(obj: Record<string, unknown>, key: string, min: number, max: number, path = key): number {
    const expected = max === Number.MAX_SAFE_INTEGER
      ? `an integer ≥ ${min}`
      : `an integer in [${min}, ${max}]`;
    if (!Object.hasOwn(obj, key)) this.missing(path, expected);
    const value = obj[key];
    if (typeof value !== "number") this.fail(path, value, expected);
    if (!Number.isSafeInteger(value) || value < min || value > max) this.fail(path, value, expected, "range");
    return value;
  }

  number(obj: Record<string, unknown>, key: string, min: number, max: number, path = key): number {
    const expected = `a finite number in [${min}, ${max}]`;
    if (!Object.hasOwn(obj, key)) this.missing(path, expected);
    const value = obj[key];
    if (typeof value !== "number") this.fail(path, value, expected);
    if (!Number.isFinite(value) || value < min || value > max) this.fail(path, value, expected, "range");
    return value;
  }
}

const MAX_U32 = 2 ** 32 - 1;
const SAFE = Number.MAX_SAFE_INTEGER;

/** The keys a saved `options` object may have: {@linkcode TrainOptions}. */
const OPTION_KEYS: ReadonlySet<string> = new Set([
  "steps",
  "gradAccum",
  "lr",
  "minLr",
  "warmup",
  "decaySteps",
  "weightDecay",
  "beta1",
  "beta2",
  "gradClip",
  "evalEvery",
  "evalBatches",
  "maxLoss",
]);

/**
 * Reads the `options` a checkpoint saved: every key of {@linkcode TrainOptions}
 * required (`decaySteps` and `maxLoss` optional; `maxLoss: null` is off, as
 * JSON writes `Infinity`), each typed and bounded as the trainer requires; an
 * unknown key is refused.
 *
 * @param value The parsed `options` value.
 * @param source The file, for messages.
 * @throws {TypeError} A missing, unknown or mistyped key.
 * @throws {RangeError} A value out of bounds.
 *
 * @example
 * ```ts
 * import { PAPER_TRAIN_OPTIONS } from "@metatokens/model";
 * import { readTrainOptions } from "@metatokens/model/trainer-state";
 * console.log(readTrainOptions({ ...PAPER_TRAIN_OPTIONS }, "trainer_state.json").steps); // 600000
 * ```
 */
export function readTrainOptions(value: unknown, source: string): TrainOptions {
  const f: Fields = new Fields(source);
  if (!isObject(value)) f.fail("options", value, "an object");
  for (const key in value) {
    if (Object.hasOwn(value, key) && !OPTION_KEYS.has(key)) {
      throw new TypeError(
        `Cannot resume from ${source}: options has an unknown key ${quote(key)}, expected only ${
          [...OPTION_KEYS].join(", ")
        }`,
      );
    }
  }
  const p = (key: string) => `options.${key}`;
  const options: TrainOptions = {
    steps: f.integer(value, "steps", 0, SAFE, p("steps")),
    gradAccum: f.integer(value, "gradAccum", 1, SAFE, p("gradAccum")),
    lr: f.number(value, "lr", 0, Number.MAX_VALUE, p("lr")),
    minLr: f.number(value, "minLr", 0, Number.MAX_VALUE, p("minLr")),
    warmup: f.integer(value, "warmup", 0, SAFE, p("warmup")),
    weightDecay: f.number(value, "weightDecay", 0, Number.MAX_VALUE, p("weightDecay")),
    beta1: f.number(value, "beta1", 0, 1, p("beta1")),
    beta2: f.number(value, "beta2", 0, 1, p("beta2")),
    gradClip: f.number(value, "gradClip", 0, Number.MAX_VALUE, p("gradClip")),
    evalEvery: f.integer(value, "evalEvery", 0, SAFE, p("evalEvery")),
    evalBatches: f.integer(value, "evalBatches", 1, SAFE, p("evalBatches")),
  };
  if (Object.hasOwn(value, "decaySteps")) {
    options.decaySteps = f.integer(value, "decaySteps", 0, SAFE, p("decaySteps"));
  }
  if (value.maxLoss === Infinity) options.maxLoss = Infinity; // in memory; JSON writes it as null
  else if (Object.hasOwn(value, "maxLoss") && value.maxLoss !== null) {
    options.maxLoss = f.number(value, "maxLoss", Number.MIN_VALUE, Number.MAX_VALUE, p("maxLoss"));
  }
  return options;
}

/**
 * Reads the state a run resumes from out of a checkpoint's parsed
 * `trainer_state.json`. Required: `step` (a non-negative safe integer), `rng`
 * (`{ seed, counter }`: seed an integer in [0, 2^32), counter a non-negative
 * safe integer), `data` (the training data cursor, checked by the batch
 * source that restores it) and `options` ({@linkcode readTrainOptions}).
 * Optional: `valData`, `bestValLoss` (finite or null), `tokens` (a
 * non-negative safe integer, default 0) and `valLosses` (`[step, loss]`
 * pairs, step ≤ `step`, loss finite). Other keys (a run's settings) are not
 * read here. The format version is checked ({@linkcode checkpointFormatVersion}).
 *
 * @param value The parsed `trainer_state.json`.
 * @param source The file, for messages (e.g. its path).
 * @returns The typed state; it shares no objects with `value` but `data` and `valData`.
 * @throws {TypeError} A missing or mistyped key.
 * @throws {RangeError} A value out of bounds, or an unknown format version.
 *
 * @example
 * ```ts
 * import { PAPER_TRAIN_OPTIONS } from "@metatokens/model";
 * import { readTrainerState } from "@metatokens/model/trainer-state";
 * const state = readTrainerState(
 *   { step: 3, rng: { seed: 1, counter: 40 }, data: null, options: PAPER_TRAIN_OPTIONS },
 *   "trainer_state.json",
 * );
 * console.log(state.step, state.tokens, state.bestValLoss); // 3 0 null
 * ```
 */
export function readTrainerState(value: unknown, source: string): TrainerState {
  const f: Fields = new Fields(source);
  if (!isObject(value)) f.fail("the trainer state", value, "a JSON object");
  checkpointFormatVersion(value, source);
  const step = f.integer(value, "step", 0, SAFE);
  const rngValue = f.object(value, "rng");
  const rng: RngState = {
    seed: f.integer(rngValue, "seed", 0, MAX_U32, "rng.seed"),
    counter: f.integer(rngValue, "counter", 0, SAFE, "rng.counter"),
  };
  if (!Object.hasOwn(value, "data")) f.missing("data", "the training data cursor");
  const options = readTrainOptions(
    Object.hasOwn(value, "options") ? value.options : f.missing("options", "an object"),
    source,
  );
  let bestValLoss: number | null = null;
  if (Object.hasOwn(value, "bestValLoss") && value.bestValLoss !== null) {
    bestValLoss = f.number(value, "bestValLoss", -Number.MAX_VALUE, Number.MAX_VALUE);
  }
  const tokens = Object.hasOwn(value, "tokens") ? f.integer(value, "tokens", 0, SAFE) : 0;
  const state: TrainerState = {
    step,
    rng,
    data: value.data,
    valData: Object.hasOwn(value, "valData") ? value.valData : null,
    bestValLoss,
    tokens,
    options,
  };
  if (Object.hasOwn(value, "valLosses")) {
    const list = value.valLosses;
    if (!Array.isArray(list)) f.fail("valLosses", list, "an array of [step, loss]");
    state.valLosses = list.map((pair: unknown, i: number): [number, number] => {
      const key = `valLosses[${i}]`;
      if (!Array.isArray(pair) || pair.length !== 2) f.fail(key, pair, "a [step, loss] pair");
      const entry = { step: pair[0], loss: pair[1] };
      return [
        f.integer(entry, "step", 0, step, `${key}[0]`),
        f.number(entry, "loss", -Number.MAX_VALUE, Number.MAX_VALUE, `${key}[1]`),
      ];
    });
  }
  return state;
}
