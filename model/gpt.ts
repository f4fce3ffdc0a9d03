/**
 * The GPT with meta-attention: parameters under nanoGPT's state-dict names,
 * nanoGPT initialisation, and the forward pass on the tensor and attention
 * packages. Block (docs/ARCHITECTURE.md §5):
 *
 * ```text
 * x += attn(ln_1(x)); if meta: x += meta_attn(ln_meta(x), metaPositions); x += mlp(ln_2(x))
 * ```
 *
 * then `ln_f` and the `lm_head` tied to `wte`.
 *
 * @module
 */

import {
  add,
  type Backend,
  crossEntropy,
  defaultBackend,
  dropout,
  embedding,
  full,
  gelu,
  layernorm,
  linearInt8,
  matmul,
  type QuantizedLinear,
  quantizeLinear,
  randn,
  relu,
  reshape,
  type Rng,
  scale,
  type Tensor,
  tensor,
  zeros,
} from "@metatokens/tensor";
import {
  apeEncoding,
  applyRope,
  cachedAttention,
  causalAttention,
  gatherRows,
  metaAttention,
  type MetaPositions,
  metaPositions,
  metaPositionsFromTokens,
  type RopeTables,
  ropeTables,
  tokenPositions,
  zeroAtMeta,
} from "@metatokens/attention";
import type { GptConfig } from "./config.ts";
import type { KvCache } from "./kv_cache.ts";
import { lmHeadLoss } from "./head.ts";

/** A batch of token ids: x (B·T), optional targets y (B·T, −1 = ignore), meta positions per row. */
export interface Batch {
  /** Batch rows B. */
  b: number;
  /** Sequence length T. */
  t: number;
  /** Input ids, row-major (B, T). */
  x: Int32Array;
  /** Target ids (B, T); −1 is ignored. */
  y?: Int32Array;
  /** Sorted meta-token positions of each row; found from `x` when omitted. */
  meta?: readonly (readonly number[])[];
}

/** The inference-time ablations of paper Tables 11–17. */
export interface Ablation {
  /** Zero the positional encoding at meta tokens (APE: omit wpe; RoPE: identity rotation). */
  noPosAtMeta?: boolean;
  /** Zero the token embedding at meta tokens. */
  noEmbedAtMeta?: boolean;
  /** Gaussian noise σ on the positional encoding (needs `rng`). */
  posNoise?: number;
}

/**
 * What {@linkcode Gpt.hidden} records when asked: the arrays present are
 * filled (analysis; the KV-cache prefill of generation). Every tensor is kept
 * out of enclosing scopes: the caller disposes them.
 */
export interface GptTrace {
  /** The residual stream (B, T, C): entering block 0, then after each block (nLayer + 1 entries). */
  residual?: Tensor[];
  /** Per layer: the causal attention's q|k|v (B, T, 3C), after RoPE when the model uses it. */
  qkv?: Tensor[];
  /** Per layer of a meta model: meta-attention's q|k|v for every position (B, T, 3C), after RoPE. */
  metaQkv?: Tensor[];
}

/** Options of {@linkcode Gpt.forward}. */
export interface ForwardOptions {
  /** Apply dropout (needs `rng` when the config's dropout is non-zero). */
  training?: boolean;
  /** Generator for dropout and position noise. */
  rng?: Rng;
  /** Ablations. */
  ablation?: Ablation;
  /** Compute logits for the last `logitRows` positions of each row only: (B, logitRows, V). */
  logitRows?: number;
  /** Record the residual stream and attention inputs of every layer into this trace. */
  trace?: GptTrace;
  /**
   * Decoding: the batch's tokens continue the sequences cached in `cache` (positions start at
   * each row's cached length; keys and values are appended; attention reads the whole row).
   */
  cache?: KvCache;
  /** The cache row of each batch row (default 0 … B − 1). */
  cacheRows?: ArrayLike<number>;
}

/** What {@linkcode Gpt.forward} returns. */
export interface GptOutput {
  /** Mean cross-entropy over targets ≠ −1, when targets were given. */
  loss?: Tensor;
  /** (B, T, V) logits, when no targets were given. */
  logits?: Tensor;
}

/** One parameter: nanoGPT name, shape, and initialisation (a constant, or N(0, std²)). */
export interface ParameterSpec {
  /** State-dict name. */
  name: string;
  /** Shape (`nn.Linear` weights are (out, in)). */
  shape: number[];
  /** A constant fill, or a normal draw with this standard deviation. */
  init: number | { std: number };
}

/**
 * Every parameter of a config, in state-dict order, with nanoGPT's
 * initialisation: N(0, 0.02) for weights and embeddings, 0.02/√(2·nLayer)
 * for every `c_proj.weight`, zero biases, unit LayerNorm weights.
 *
 * @example
 * ```ts
 * import { gptConfig, parameterSpecs } from "@metatokens/model";
 * const specs = parameterSpecs(gptConfig({}, "gpt2"));
 * console.log(specs.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0)); // 124475904
 * ```
 */
export function parameterSpecs(config: GptConfig): ParameterSpec[] {
  const { vocabSize: V, blockSize, nLayer, nEmbd: C, bias } = config;
  const std = { std: 0.02 }, proj = { std: 0.02 / Math.sqrt(2 * nLayer) };
  const specs: ParameterSpec[] = [];
  const linear = (name: string, out: number, inp: number, init = std): void => {
    specs.push({ name: `${name}.weight`, shape: [out, inp], init });
    if (bias) specs.push({ name: `${name}.bias`, shape: [out], init: 0 });
  };
  const norm = (name: string): void => {
    specs.push({ name: `${name}.weight`, shape: [C], init: 1 });
    if (bias) specs.push({ name: `${name}.bias`, shape: [C], init: 0 });
  };
  specs.push({ name: "transformer.wte.weight", shape: [V, C], init: std });
  if (config.posEncoding === "ape") {
    specs.push({ name: "transformer.wpe.weight", shape: [blockSize, C], init: std });
  }
  for (let i = 0; i < nLayer; i++) {
    const h = `transformer.h.${i}`;
    norm(`${h}.ln_1`);
    linear(`${h}.attn.c_attn`, 3 * C, C);
    linear(`${h}.attn.c_proj`, C, C, proj);
    if (config.metaAttention) {
      norm(`${h}.ln_meta`);
      linear(`${h}.meta_attn.c_attn`, 3 * C, C);
      linear(`${h}.meta_attn.c_proj`, C, C, proj);
    }
    norm(`${h}.ln_2`);
    linear(`${h}.mlp.c_fc`, 4 * C, C);
    linear(`${h}.mlp.c_proj`, C, 4 * C, proj);
  }
  norm("transformer.ln_f");
  return specs;
}

/**
 * A GPT whose parameters live on one backend.
 *
 * @example
 * ```ts
 * import { Rng } from "@metatokens/tensor";
 * import { Gpt, gptConfig } from "@metatokens/model";
 * const model = new Gpt(gptConfig({ nLayer: 1, nEmbd: 32, nHead: 2, blockSize: 16, vocabSize: 64, metaTokenId: 63 }), new Rng(0));
 * const x = Int32Array.from({ length: 8 }, (_, i) => i);
 * const { loss } = model.forward({ b: 1, t: 8, x, y: x.map((v) => (v + 1) % 64) });
 * console.log(loss!.item() > 3); // ≈ ln 64 at initialisation
 * ```
 */
export class Gpt {
  /** The config the model was built with. */
  readonly config: GptConfig;
  /** The backend holding the parameters. */
  readonly backend: Backend;
  /** Parameters by nanoGPT state-dict name, in a fixed order. */
  readonly params: Map<string, Tensor> = new Map();
  readonly #zeroBias: Tensor | null;
  /** int8 copies of the block linears and the tied head, by weight name, after {@linkcode Gpt.quantize}. */
  readonly #int8 = new Map<string, QuantizedLinear>();

  /** Creates a model with nanoGPT's initialisation drawn from `rng`. */
  constructor(config: GptConfig, rng: Rng, backend: Backend = defaultBackend()) {
    this.config = config;
    this.backend = backend;
    for (const { name, shape, init } of parameterSpecs(config)) {
      const t = typeof init === "number"
        ? full(shape, init, { backend })
        : randn(shape, rng, init.std, { backend });
      t.requiresGrad = true;
      this.params.set(name, t.keep());
    }
    this.#zeroBias = config.bias ? null : zeros([config.nEmbd], { backend }).keep();
  }

  /**
   * Frees every parameter (and its gradient) on the backend; the model is
   * unusable afterwards. Tensors a caller got from the model (traces,
   * outputs) stay the caller's to free.
   */
  dispose(): void {
    for (const p of this.params.values()) p.dispose();
    for (const q of this.#int8.values()) q.dispose();
    this.#int8.clear();
    this.#zeroBias?.dispose();
  }

  /**
   * Weight-only int8 inference: quantizes every block linear (`attn.c_attn`, `attn.c_proj`,
   * `mlp.c_fc`, `mlp.c_proj`) and the tied head (`wte` as the (V, C) output matrix) per output row,
   * and runs them through `linearInt8` from now on (activations quantized per row on the fly);
   * the f32 weights stay (the embedding gathers its rows from them). Meta-attention's own
   * projections stay f32: they run for meta tokens only, never in a plain decoding step.
   * Inference only: training a quantized model is refused.
   *
   * @example
   * ```ts
   * import { Rng } from "@metatokens/tensor";
   * import { Gpt, gptConfig } from "@metatokens/model";
   * const model = new Gpt(gptConfig({ nLayer: 1, nEmbd: 32, nHead: 2, blockSize: 8, vocabSize: 64, metaTokenId: 63 }), new Rng(0));
   * model.quantize("int8");
   * console.log(model.quantized); // "int8"
   * ```
   */
  quantize(mode: "int8"): void {
    if (mode !== "int8") throw new RangeError(`Cannot quantize to ${JSON.stringify(mode)}: expected "int8"`);
    if (this.#int8.size > 0) return;
    const names = ["transformer.wte.weight"];
    for (let i = 0; i < this.config.nLayer; i++) {
      for (const l of ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]) {
        names.push(`transformer.h.${i}.${l}.weight`);
      }
    }
    for (const name of names) this.#int8.set(name, quantizeLinear(this.param(name)));
  }

  /** `"int8"` after {@linkcode Gpt.quantize}, else null. */
  get quantized(): "int8" | null {
    return this.#int8.size > 0 ? "int8" : null;
  }

  /** {@linkcode Gpt.dispose}, so that `using model = new Gpt(…)` frees the parameters at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Number of parameters (the tied head counted once). */
  parameterCount(): number {
    let n = 0;
    for (const p of this.params.values()) n += p.size;
    return n;
  }

  /** A parameter by name; throws naming it when absent. */
  param(name: string): Tensor {
    const p = this.params.get(name);
    if (!p) throw new Error(`Cannot find parameter "${name}" in this model`);
    return p;
  }

  /** LayerNorm `name` (`transformer.h.0.ln_1`, …) applied to x. */
  layerNorm(x: Tensor, name: string): Tensor {
    // Without biases LayerNorm still needs a shift: a constant zero vector, not a parameter.
    const b = this.params.get(`${name}.bias`) ?? this.#zeroBias!;
    return layernorm(x, this.param(`${name}.weight`), b);
  }

  /** Linear layer `name` (`transformer.h.0.attn.c_attn`, …): x · Wᵀ (+ b), in int8 once quantized. */
  linear(x: Tensor, name: string): Tensor {
    const bias = this.params.get(`${name}.bias`);
    const q = this.#int8.get(`${name}.weight`);
    if (q) return linearInt8(x, q, bias);
    return matmul(x, this.param(`${name}.weight`), { transB: true, bias });
  }

  /** The tied head: logits (…, V) = x (…, C) · wteᵀ, in int8 once quantized. */
  head(x: Tensor): Tensor {
    const q = this.#int8.get("transformer.wte.weight");
    return q ? linearInt8(x, q) : matmul(x, this.param("transformer.wte.weight"), { transB: true });
  }

  /** The MLP branch of block i: c_proj(act(c_fc(ln_2(x)))). */
  mlp(x: Tensor, i: number): Tensor {
    const h = `transformer.h.${i}`;
    const act = this.config.activation === "gelu" ? gelu : relu;
    return this.linear(act(this.linear(this.layerNorm(x, `${h}.ln_2`), `${h}.mlp.c_fc`)), `${h}.mlp.c_proj`);
  }

  /** Meta positions of the batch (given, or found from the meta token id), validated. */
  metaOf(batch: Batch): MetaPositions {
    if (batch.meta) return metaPositions(batch.meta, batch.t);
    return metaPositionsFromTokens(batch.x, batch.b, batch.t, this.config.metaTokenId);
  }

  /** The final hidden states (B, T, C) after `ln_f`. */
  hidden(batch: Batch, options: ForwardOptions = {}): Tensor {
    const { config, backend } = this;
    const { b: B, t: T } = batch;
    const C = config.nEmbd, nh = config.nHead;
    if (batch.x.length !== B * T) {
      throw new RangeError(`Cannot run a batch of ${batch.x.length} ids as [${B}, ${T}]: expected ${B * T}`);
    }
    // Ids are checked here on the host: a GPU backend cannot read them back cheaply to check.
    for (let i = 0; i < batch.x.length; i++) {
      const id = batch.x[i];
      if (!(id >= 0 && id < config.vocabSize)) {
        throw new RangeError(
          `Cannot embed token id ${id} at position ${i}: expected an id in [0, ${config.vocabSize})`,
        );
      }
    }
    if (config.posEncoding === "ape" && T > config.blockSize) {
      throw new RangeError(
        `Cannot run ${T} tokens through an APE model with block size ${config.blockSize}: use at most ${config.blockSize}`,
      );
    }
    const ablation = options.ablation ?? {};
    const meta = this.metaOf(batch);
    const training = options.training ?? false;
    const cache = options.cache;
    const rows = options.cacheRows ?? Array.from({ length: B }, (_, b) => b);
    if (training && this.quantized) {
      throw new Error("Cannot train a quantized model: quantize serves inference only");
    }
    if (cache) {
      if (training) throw new Error("Cannot train through a KV cache: it serves decoding only");
      if (rows.length !== B) {
        throw new RangeError(`Cannot map ${B} batch rows to ${rows.length} cache rows: expected one each`);
      }
      cache.checkRoom(rows, T);
    }
    // Decoding continues each row where its cache ends.
    const start = cache ? Array.from(rows, (r) => cache.lengths[r]) : undefined;
    const drop = (x: Tensor): Tensor =>
      training && config.dropout > 0 ? dropout(x, config.dropout, options.rng!, true) : x;
    const ids = tensor(batch.x, [B, T], { dtype: "i32", backend });
    let x = embedding(this.param("transformer.wte.weight"), ids); // (B, T, C)
    if (ablation.noEmbedAtMeta) x = zeroAtMeta(x, meta);
    let rope: RopeTables | undefined;
    if (config.posEncoding === "ape") {
      x = add(
        x,
        apeEncoding(this.param("transformer.wpe.weight"), B, T, {
          zeroAt: ablation.noPosAtMeta ? meta : undefined,
          noiseStd: ablation.posNoise,
          rng: options.rng,
          start,
        }),
      );
    } else if (config.posEncoding === "rope") {
      const positions = tokenPositions(B, T, {
        zeroAt: ablation.noPosAtMeta ? meta : undefined,
        noiseStd: ablation.posNoise,
        rng: options.rng,
        start,
      });
      rope = ropeTables(positions, {
        headSize: C / nh,
        theta: config.ropeTheta,
        yarn: config.yarn ?? undefined,
      }, backend);
    }
    x = drop(x);
    const trace = options.trace;
    trace?.residual?.push(x.keep());
    for (let i = 0; i < config.nLayer; i++) {
      const h = `transformer.h.${i}`;
      let qkv = this.linear(this.layerNorm(x, `${h}.ln_1`), `${h}.attn.c_attn`); // (B, T, 3C)
      if (rope) qkv = applyRope(qkv, rope, nh);
      trace?.qkv?.push(qkv.keep());
      const attended = cache ? cachedAttention(qkv, cache.causal(i, rows), nh) : causalAttention(qkv, nh);
      x = add(x, drop(this.linear(attended, `${h}.attn.c_proj`)));
      if (config.metaAttention) {
        const p = (n: string): Tensor | null => this.params.get(`${h}.meta_attn.${n}`) ?? null;
        if (trace?.metaQkv) {
          // The dense q|k|v the sparse kernel computes for meta rows only (for attention maps).
          const bias = p("c_attn.bias") ?? undefined;
          let mqkv = matmul(this.layerNorm(x, `${h}.ln_meta`), p("c_attn.weight")!, { transB: true, bias });
          if (rope) mqkv = applyRope(mqkv, rope, nh);
          trace.metaQkv.push(mqkv.keep());
        }
        if (meta.positions.length === 0) {
          // No meta token in the batch (most decoding steps): every position gets only the c_proj bias.
          const bias = p("c_proj.bias");
          if (bias) x = add(x, bias);
        } else {
          x = add(
            x,
            metaAttention(this.layerNorm(x, `${h}.ln_meta`), meta, {
              cAttnWeight: p("c_attn.weight")!,
              cAttnBias: p("c_attn.bias"),
              cProjWeight: p("c_proj.weight")!,
              cProjBias: p("c_proj.bias"),
            }, { nHead: nh, rope, cache: cache?.meta(i, rows) }),
          );
        }
      }
      x = add(x, drop(this.mlp(x, i)));
      trace?.residual?.push(x.keep());
    }
    cache?.advance(rows, T, Array.from({ length: B }, (_, b) => meta.offsets[b + 1] - meta.offsets[b]));
    return this.layerNorm(x, "transformer.ln_f");
  }

  /**
   * Loss against `batch.y` (fused head + cross-entropy, no (B·T × V) logits
   * kept), or the logits when the batch has no targets.
   */
  forward(batch: Batch, options: ForwardOptions = {}): GptOutput {
    const x = this.hidden(batch, options);
    const wte = this.param("transformer.wte.weight");
    const { b: B, t: T } = batch;
    if (batch.y) {
      if (batch.y.length !== B * T) {
        throw new RangeError(`Cannot use ${batch.y.length} targets for a batch of [${B}, ${T}]`);
      }
      const flat = reshape(x, [B * T, this.config.nEmbd]);
      if (this.quantized) return { loss: this.#quantizedLoss(flat, batch.y) };
      return { loss: lmHeadLoss(flat, wte, batch.y) };
    }
    const rows = options.logitRows ?? T;
    if (!Number.isInteger(rows) || rows < 1 || rows > T) {
      throw new RangeError(`Cannot compute logits for the last ${rows} positions of ${T}: expected 1 … ${T}`);
    }
    if (rows === T) return { logits: this.head(x) };
    // Only the rows asked for go through the (V × C) head: prefill and answer scoring need few.
    const index = Int32Array.from(
      { length: B * rows },
      (_, i) => Math.floor(i / rows) * T + T - rows + (i % rows),
    );
    const picked = gatherRows(
      reshape(x, [B * T, this.config.nEmbd]),
      tensor(index, [B * rows], {
        dtype: "i32",
        backend: this.backend,
      }),
    );
    // The head's output owns its buffer (not a view of a temporary), so disposing the logits frees them.
    return { logits: this.head(reshape(picked, [B, rows, this.config.nEmbd])) };
  }

  /**
   * The mean cross-entropy through the int8 head, in chunks of 256 rows (no (N × V) logits at
   * once): each chunk's mean over its kept targets, weighted by their count.
   */
  #quantizedLoss(x: Tensor, y: Int32Array): Tensor {
    const n = y.length, chunk = 256;
    let kept = 0;
    for (const t of y) if (t !== -1) kept++;
    let sum: Tensor | null = null;
    for (let r = 0; r < n; r += chunk) {
      const rows = Math.min(chunk, n - r);
      const targets = y.subarray(r, r + rows);
      const count = targets.reduce((a, t) => a + (t === -1 ? 0 : 1), 0);
      if (count === 0) continue;
      const index = tensor(Int32Array.from({ length: rows }, (_, i) => r + i), [rows], {
        dtype: "i32",
        backend: this.backend,
      });
      const logits = this.head(gatherRows(x, index));
      const part = scale(
        crossEntropy(logits, tensor(targets, [rows], { dtype: "i32", backend: this.backend })),
        count / kept,
      );
      sum = sum ? add(sum, part) : part;
    }
    return sum ?? zeros([], { backend: this.backend });
  }
}
