/**
 * Import of a Hugging Face GPT-2 `model.safetensors` into nanoGPT state-dict names
 * and layouts, so a run can start from pretrained GPT-2 weights.
 *
 * Hugging Face stores the attention and MLP projections as `Conv1D` weights of shape
 * `[in, out]`; nanoGPT uses `nn.Linear` weights of shape `[out, in]`, so those four
 * weights per layer are transposed. Names gain the `transformer.` prefix (files that
 * already have it are accepted too); the causal-mask buffers `h.{i}.attn.bias` and
 * `h.{i}.attn.masked_bias` and a tied `lm_head.weight` are dropped (nanoGPT ties
 * `lm_head` to `wte`).
 *
 * @module
 */

import { formatShape } from "@metatokens/tensor";
import { decodeSafetensors, type NamedArray, type StateDict } from "./safetensors.ts";

/** Options of {@linkcode importHfGpt2}. */
export interface HfImportOptions {
  /** Pad the token embedding with zero rows up to this vocabulary size (e.g. 50304). */
  padVocabTo?: number;
  /** What to call the input in error messages, usually its path. */
  source?: string;
}

/** The model dimensions read off the weights (the head count cannot be: the caller sets it). */
export interface HfGpt2Shape {
  /** Number of transformer blocks. */
  nLayer: number;
  /** Model width C. */
  nEmbd: number;
  /** Number of learned positions (the block size). */
  blockSize: number;
  /** Rows of `transformer.wte.weight` in the result, after padding. */
  vocabSize: number;
  /** Rows of `wte.weight` in the file, before padding (50257 for GPT-2). */
  sourceVocabSize: number;
}

/** What {@linkcode importHfGpt2} returns. */
export interface HfGpt2Import {
  /** The parameters under nanoGPT names and layouts, in nanoGPT's order. */
  state: StateDict;
  /** The dimensions read off the weights. */
  shape: HfGpt2Shape;
}

/** Per-layer tensors: HF suffix, whether it is a Conv1D weight to transpose, and its HF shape. */
function layerSpec(c: number): [string, boolean, number[]][] {
  return [
    ["ln_1.weight", false, [c]],
    ["ln_1.bias", false, [c]],
    ["attn.c_attn.weight", true, [c, 3 * c]],
    ["attn.c_attn.bias", false, [3 * c]],
    ["attn.c_proj.weight", true, [c, c]],
    ["attn.c_proj.bias", false, [c]],
    ["ln_2.weight", false, [c]],
    ["ln_2.bias", false, [c]],
    ["mlp.c_fc.weight", true, [c, 4 * c]],
    ["mlp.c_fc.bias", false, [4 * c]],
    ["mlp.c_proj.weight", true, [4 * c, c]],
    ["mlp.c_proj.bias", false, [c]],
  ];
}

function listSome(names: string[]): string {
  const shown = names.slice(0, 5).map((n) => `"${n}"`).join(", ");
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

/** Transposes a row-major [rows, cols] matrix into [cols, rows]. */
function transpose(t: NamedArray): NamedArray {
  const [rows, cols] = t.shape;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c];
  }
  return { shape: [cols, rows], data: out };
}

/**
 * Converts Hugging Face GPT-2 tensors (already decoded) to nanoGPT names and layouts.
 * See {@linkcode importHfGpt2}, which decodes the file first.
 *
 * @param tensors The HF state dict (`wte.weight`, `h.0.attn.c_attn.weight`, ..., with or without `transformer.`).
 * @param options Vocabulary padding and the name of the source for errors.
 * @returns The nanoGPT state dict and the inferred dimensions.
 * @throws {Error} Missing or unexpected tensors (a few named), or shapes inconsistent with `wte` and `wpe`.
 *
 * @example
 * ```ts
 * import { convertHfGpt2 } from "@metatokens/model/hf-import";
 * const c = 2, t = (shape: number[]) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b)) });
 * const hf: Record<string, { shape: number[]; data: Float32Array }> = {
 *   "wte.weight": t([3, c]), "wpe.weight": t([4, c]), "ln_f.weight": t([c]), "ln_f.bias": t([c]),
 * };
 * for (const [name, shape] of Object.entries({
 *   "ln_1.weight": [c], "ln_1.bias": [c], "attn.c_attn.weight": [c, 3 * c], "attn.c_attn.bias": [3 * c],
 *   "attn.c_proj.weight": [c, c], "attn.c_proj.bias": [c], "ln_2.weight": [c], "ln_2.bias": [c],
 *   "mlp.c_fc.weight": [c, 4 * c], "mlp.c_fc.bias": [4 * c], "mlp.c_proj.weight": [4 * c, c], "mlp.c_proj.bias": [c],
 * })) hf[`h.0.${name}`] = t(shape);
 * const { state, shape } = convertHfGpt2(hf, { padVocabTo: 8 });
 * console.log(state["transformer.h.0.attn.c_attn.weight"].shape, shape); // [6, 2] { nLayer: 1, nEmbd: 2, ... }
 * ```
 */
export function convertHfGpt2(tensors: StateDict, options: HfImportOptions = {}): HfGpt2Import {
  const source = options.source ?? "<bytes>";
  const fail = (message: string): never => {
    throw new Error(`Cannot import Hugging Face GPT-2 "${source}": ${message}`);
  };
  const hf = new Map<string, NamedArray>();
  for (const [name, t] of Object.entries(tensors)) {
    const short = name.startsWith("transformer.") ? name.slice("transformer.".length) : name;
    if (/^h\.\d+\.attn\.(bias|masked_bias)$/.test(short) || short === "lm_head.weight") continue;
    if (hf.has(short)) fail(`tensor "${short}" appears both with and without the "transformer." prefix`);
    hf.set(short, t);
  }
  const wte = hf.get("wte.weight"), wpe = hf.get("wpe.weight");
  if (wte === undefined || wpe === undefined) {
    const missing = ["wte.weight", "wpe.weight"].filter((n) => !hf.has(n));
    const seen = [...hf.keys()];
    return fail(
      `missing ${listSome(missing)}; the file holds ${seen.length === 0 ? "no tensors" : listSome(seen)}`,
    );
  }
  if (wte.shape.length !== 2) {
    fail(`"wte.weight" has shape ${formatShape(wte.shape)}, expected [vocab, width]`);
  }
  const [sourceVocabSize, nEmbd] = wte.shape;
  if (wpe.shape.length !== 2 || wpe.shape[1] !== nEmbd) {
    fail(`"wpe.weight" has shape ${formatShape(wpe.shape)}, expected [positions, ${nEmbd}]`);
  }
  const blockSize = wpe.shape[0];
  let nLayer = 0;
  for (const name of hf.keys()) {
    const match = /^h\.(\d+)\./.exec(name);
    if (match !== null) nLayer = Math.max(nLayer, Number(match[1]) + 1);
  }
  const vocabSize = options.padVocabTo ?? sourceVocabSize;
  if (!Number.isSafeInteger(vocabSize) || vocabSize < sourceVocabSize) {
    fail(`padVocabTo ${vocabSize} is smaller than the file's vocabulary of ${sourceVocabSize} tokens`);
  }

  // Every expected tensor, in nanoGPT's order: [HF name, transpose?, HF shape].
  const expected: [string, boolean, number[]][] = [
    ["wte.weight", false, [sourceVocabSize, nEmbd]],
    ["wpe.weight", false, [blockSize, nEmbd]],
  ];
  const spec = layerSpec(nEmbd);
  for (let i = 0; i < nLayer; i++) {
    for (const [suffix, t, shape] of spec) expected.push([`h.${i}.${suffix}`, t, shape]);
  }
  expected.push(["ln_f.weight", false, [nEmbd]], ["ln_f.bias", false, [nEmbd]]);

  const missing = expected.map(([name]) => name).filter((name) => !hf.has(name));
  if (missing.length > 0) fail(`missing ${missing.length} tensors: ${listSome(missing)}`);
  const known = new Set(expected.map(([name]) => name));
  const unexpected = [...hf.keys()].filter((name) => !known.has(name));
  if (unexpected.length > 0) fail(`unexpected tensors for GPT-2: ${listSome(unexpected)}`);
  const wrong = expected
    .filter(([name, , shape]) => formatShape(hf.get(name)!.shape) !== formatShape(shape))
    .map(([name, , shape]) =>
      `"${name}" is ${formatShape(hf.get(name)!.shape)}, expected ${formatShape(shape)}`
    );
  if (wrong.length > 0) {
    fail(
      `shapes do not match width ${nEmbd} (from wte.weight): ${wrong.slice(0, 5).join("; ")}${
        wrong.length > 5 ? ` and ${wrong.length - 5} more` : ""
      }`,
    );
  }

  const state: StateDict = {};
  for (const [name, isConv1d, shape] of expected) {
    const t = hf.get(name)!;
    let out: NamedArray = isConv1d ? transpose(t) : { shape: [...shape], data: t.data.slice() };
    if (name === "wte.weight" && vocabSize > sourceVocabSize) {
      const data = new Float32Array(vocabSize * nEmbd);
      data.set(t.data);
      out = { shape: [vocabSize, nEmbd], data };
    }
    state[`transformer.${name}`] = out;
  }
  return { state, shape: { nLayer, nEmbd, blockSize, vocabSize, sourceVocabSize } };
}

/**
 * Imports a Hugging Face GPT-2 `model.safetensors` (as bytes) into nanoGPT names and
 * layouts: `transformer.wte.weight` `[V, C]`, `transformer.h.{i}.attn.c_attn.weight`
 * `[3C, C]` (transposed from HF's Conv1D `[C, 3C]`), ..., `transformer.ln_f.*`, and no
 * `lm_head.weight` (tied to `wte`). F16 and BF16 files are converted to f32.
 *
 * @param bytes The contents of the HF `model.safetensors`.
 * @param options `padVocabTo` pads `wte` with zero rows (e.g. to 50304); `source` names the input in errors.
 * @returns The nanoGPT state dict and the dimensions read off the weights (set `nHead` yourself: 12 for GPT-2).
 * @throws {Error} A corrupt file, missing or unexpected tensors (a few named), or inconsistent shapes.
 *
 * @example
 * ```ts
 * import { importHfGpt2 } from "@metatokens/model/hf-import";
 * import { encodeSafetensors } from "@metatokens/model/safetensors";
 * const bytes = encodeSafetensors({ "wte.weight": { shape: [2, 2], data: new Float32Array(4) } });
 * try {
 *   importHfGpt2(bytes, { source: "gpt2/model.safetensors" });
 * } catch (e) {
 *   console.log((e as Error).message); // ... missing "wpe.weight"; the file holds "wte.weight"
 * }
 * ```
 */
export function importHfGpt2(bytes: Uint8Array, options: HfImportOptions = {}): HfGpt2Import {
  return convertHfGpt2(decodeSafetensors(bytes, options.source).tensors, options);
}
