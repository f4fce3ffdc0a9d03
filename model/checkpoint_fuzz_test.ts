/**
 * Seeded fuzzing of checkpoint loading and resuming (issue 14): a real
 * checkpoint whose `trainer_state.json`, `config.json` and safetensors files
 * are edited at random and by known-invalid edits, then loaded with
 * {@linkcode loadCheckpoint}, read with {@linkcode readTrainerState} and
 * restored into a trainer. Every case must end in a resumed trainer whose
 * state satisfies its invariants, or in a typed "Cannot …" error with a
 * bounded message, within a bounded time; known-invalid files are never
 * accepted. `METATOKENS_FUZZ_CASES` scales it (`deno task fuzz`).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Rng, wasmBackend } from "@metatokens/tensor";
import { preview } from "@metatokens/tensor/quote";
import { fuzz, type FuzzCase, JSON_BREAKERS, NASTY_VALUES, pick } from "../tensor/_testing/fuzz.ts";
import {
  CONFIG_FILE,
  loadCheckpoint,
  MODEL_FILE,
  OPTIMIZER_FILE,
  saveCheckpoint,
  TRAINER_STATE_FILE,
} from "./checkpoint.ts";
import { gptConfig } from "./config.ts";
import { type Batch, Gpt } from "./gpt.ts";
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from "./safetensors.ts";
import { type BatchSource, PAPER_TRAIN_OPTIONS, Trainer } from "./train.ts";
import { readTrainerState } from "./trainer_state.ts";

const backend = wasmBackend({ threads: 1 });
const config = gptConfig({ nLayer: 1, nHead: 2, nEmbd: 8, blockSize: 8, vocabSize: 32, metaTokenId: 31 });
const options = { ...PAPER_TRAIN_OPTIONS, steps: 10, gradAccum: 1, warmup: 0, evalEvery: 0 };

/** A batch source whose cursor is checked as strictly as the data package's. */
class StrictSource implements BatchSource {
  #rng = new Rng(3);
  next(): Batch {
    const x = Int32Array.from({ length: 8 }, () => this.#rng.int(30));
    return { b: 1, t: 8, x, y: x.map((v) => (v + 1) % 30) };
  }
  state(): unknown {
    return this.#rng.state();
  }
  restore(state: unknown): void {
    if (typeof state !== "object" || state === null || Array.isArray(state)) {
      throw new TypeError(`Cannot restore a data cursor from ${typeof state}: expected { seed, counter }`);
    }
    const { seed, counter } = state as Record<string, unknown>;
    if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(counter)) {
      throw new RangeError(
        `Cannot restore a data cursor from ${preview(state)}: expected integers { seed, counter }`,
      );
    }
    const rng = new Rng(seed as number); // RangeError "Cannot seed the RNG …" unless in [0, 2^32)
    rng.restore({ seed: seed as number, counter: counter as number });
    this.#rng = rng;
  }
}

const ENGINE = /^Cannot (read properties|set properties|convert|access|create property|destructure|use 'in')/;

function isTyped(e: unknown): boolean {
  if (e instanceof SafetensorsError) return true;
  return e instanceof Error && /^Cannot /.test(e.message) && !ENGINE.test(e.message);
}

type Files = Record<string, Uint8Array>;

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const bytesOf = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Replaces the value at a random path of a JSON object (one or two levels deep) or deletes it. */
function editJson(rng: Rng, value: Record<string, unknown>): void {
  const keys = Object.keys(value);
  if (keys.length === 0) return;
  const key = pick(rng, keys);
  const inner = value[key];
  if (typeof inner === "object" && inner !== null && rng.int(2) === 0) {
    const innerKeys = Object.keys(inner);
    if (innerKeys.length > 0) {
      const k = pick(rng, innerKeys);
      if (rng.int(4) === 0) delete (inner as Record<string, unknown>)[k];
      else (inner as Record<string, unknown>)[k] = pick(rng, NASTY_VALUES);
      return;
    }
  }
  if (rng.int(4) === 0) delete value[key];
  else value[key] = pick(rng, NASTY_VALUES);
}

/** A known-invalid edit of the checkpoint's files. */
function invalidEdit(rng: Rng, files: Files): string {
  const state = JSON.parse(text(files[TRAINER_STATE_FILE]));
  const kind = rng.int(9);
  switch (kind) {
    case 0:
      state.step = pick(rng, ["1", 1.5, -1, 2 ** 53, null]);
      break;
    case 1:
      delete state.rng;
      break;
    case 2:
      state.options = pick(rng, [null, [], "tiny", 3]);
      break;
    case 3:
      state.formatVersion = pick(rng, [0, 2, "1", null, 1.5]);
      break;
    case 4:
      state.options = {
        ...state.options,
        [pick(rng, ["lr", "steps", "beta2", "gradAccum"])]: pick(rng, ["1", -1, 1e999 * 0]),
      };
      break;
    case 5:
      state.valLosses = [[state.step + 1 + rng.int(100), 1]];
      break;
    case 6: { // a non-finite weight or moment
      const name = pick(rng, [MODEL_FILE, OPTIMIZER_FILE]);
      const { tensors, metadata } = decodeSafetensors(files[name]);
      const t = pick(rng, Object.values(tensors));
      t.data[rng.int(t.data.length)] = pick(rng, [NaN, Infinity, -Infinity]);
      files[name] = encodeSafetensors(tensors, metadata);
      return `non-finite ${name}`;
    }
    case 7: // a config key missing
      {
        const c = JSON.parse(text(files[CONFIG_FILE]));
        delete c[pick(rng, Object.keys(c))];
        files[CONFIG_FILE] = bytesOf(JSON.stringify(c));
      }
      return "config key missing";
    default:
      state.rng = { seed: pick(rng, [-1, 2 ** 32, "7", 0.5]), counter: 0 };
  }
  files[TRAINER_STATE_FILE] = bytesOf(JSON.stringify(state));
  return `trainer_state edit ${kind}`;
}

/** A random edit: JSON values replaced or deleted, text spliced or cut, bytes flipped. */
function randomEdit(rng: Rng, files: Files): string {
  const name = pick(rng, [
    TRAINER_STATE_FILE,
    TRAINER_STATE_FILE,
    TRAINER_STATE_FILE,
    CONFIG_FILE,
    MODEL_FILE,
    OPTIMIZER_FILE,
  ]);
  const kind = rng.int(4);
  if (kind === 0 && name.endsWith(".json")) {
    const value = JSON.parse(text(files[name]));
    editJson(rng, value);
    files[name] = bytesOf(JSON.stringify(value));
  } else if (kind === 1 && name.endsWith(".json")) {
    const s = text(files[name]);
    const at = rng.int(s.length + 1);
    const insert = pick(rng, [...JSON_BREAKERS, "null"]);
    files[name] = bytesOf(s.slice(0, at) + insert + s.slice(at + rng.int(3)));
  } else if (kind === 2) {
    files[name] = files[name].subarray(0, rng.int(files[name].length + 1));
  } else {
    const b = Uint8Array.from(files[name]);
    for (let k = 1 + rng.int(4); k > 0; k--) b[rng.int(b.length)] = rng.int(256);
    files[name] = b;
  }
  return `random edit ${kind} of ${name}`;
}

Deno.test("checkpoint fuzz: seeded edits of a checkpoint load and resume, or end in a typed error, quickly", async () => {
  const root = await Deno.makeTempDir();
  try {
    using model = new Gpt(config, new Rng(1), backend);
    using trainer = new Trainer(model, new StrictSource(), null, options, 5);
    await trainer.step();
    await trainer.step();
    const base = join(root, "base");
    await saveCheckpoint(base, await trainer.checkpoint());
    const original: Files = {};
    for (const name of [CONFIG_FILE, MODEL_FILE, OPTIMIZER_FILE, TRAINER_STATE_FILE]) {
      original[name] = await Deno.readFile(join(base, name));
    }
    const dir = join(root, "case");
    await Deno.mkdir(dir);
    const summary = await fuzz(
      { name: "checkpoint", seed: 14_5, cases: 2000, maxCaseMs: 500 },
      async (rng): Promise<FuzzCase> => {
        const files = { ...original };
        const kind = rng.int(4);
        const invalid = kind === 0;
        const label = kind === 0 ? invalidEdit(rng, files) : kind === 1 ? "valid" : randomEdit(rng, files);
        for (const [name, bytes] of Object.entries(files)) await Deno.writeFile(join(dir, name), bytes);
        return {
          invalid,
          label,
          read: async () => {
            const ckpt = await loadCheckpoint(dir);
            const source = join(dir, TRAINER_STATE_FILE);
            const state = readTrainerState(ckpt.trainerState, source);
            using model = new Gpt(config, new Rng(2), backend);
            using resumed = new Trainer(model, new StrictSource(), null, options, 0);
            resumed.restore(ckpt, source);
            // What was accepted holds together.
            assert.ok(Number.isSafeInteger(resumed.stepCount) && resumed.stepCount >= 0);
            assert.equal(resumed.stepCount, state.step);
            for (const [name, p] of resumed.model.params) {
              assert.ok((p.dataSync() as Float32Array).every(Number.isFinite), name);
            }
          },
        };
      },
      isTyped,
    );
    assert.ok(summary.invalid > summary.cases / 5, `only ${summary.invalid} known-invalid cases`);
    assert.ok(summary.accepted > summary.cases / 5, `only ${summary.accepted} accepted cases`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
