/**
 * Variational information bottleneck (VIB) rate–distortion curves (paper §5 and §5.1,
 * Figure 3 right; Alemi et al., 2017).
 *
 * A frozen model gives one feature vector h ∈ ℝ^D per example (the final hidden state
 * after `ln_f` at the last meta token, or at the last non-meta token) and one target token
 * y (the first answer token). A small head is trained on top of the frozen features:
 *
 * ```text
 * encoder  μ = Wμ h + bμ                                  (L)   Wμ: (L, D), bμ: (L)
 *          a = Wσ h + bσ,  σ = softplus(a)                (L)   Wσ: (L, D), bσ: (L)
 *          z = μ + σ ⊙ ε,  ε ~ N(0, I)                    (L)   reparameterisation, seeded
 * decoder  logits = W z + b                               (V)   W: (V, L), b: (V)
 * loss     CE(y, softmax(logits)) + β · KL(N(μ, σ²) ‖ N(0, I))
 *          CE = logsumexp(logits) − logits[y],  KL = Σ_l ½ (μ_l² + σ_l² − 1) − log σ_l   (nats)
 * ```
 *
 * The paper fixes the features, the objective, batch size 1, 5 epochs over the 50
 * examples and the β list; the rest is chosen here:
 *
 * - **σ parameterisation:** σ = softplus(Wσ h + bσ) with bσ initialised to −5, which is
 *   Alemi et al.'s `softplus(x − 5)`: σ starts near 0.007, the head starts nearly
 *   deterministic, and softplus keeps σ > 0 without the overflow of `exp`. `log σ` is
 *   computed from `a` directly (`log σ = a` once `a < −30`), so it stays finite.
 * - **Latent size:** L = 32 by default (`latent`); the decoder W (V × L) is the large part.
 * - **Initialisation:** every weight and bias except bσ is U(−1/√fan_in, 1/√fan_in), as a
 *   PyTorch `nn.Linear` (fan_in = D for the encoder, L for the decoder).
 * - **Optimiser:** Adam with PyTorch's defaults (β₁ 0.9, β₂ 0.999, ε 1e-8, no weight decay)
 *   and lr 1e-3 (`lr`), one step per example (batch size 1); the order of the examples is
 *   shuffled every epoch.
 * - **Evaluation:** after the last epoch, on the training examples, with the head frozen:
 *   rate = mean KL (exact, in nats, no sampling) and distortion = mean CE at z = μ + σ ⊙ ε
 *   with one draw of ε per example — the two terms of the objective, as the paper's "average
 *   cross-entropy loss and KL on the same 50 examples". The evaluation draws come from their
 *   own stream, the same for every β. `evaluation: "mean"` measures the CE at z = μ instead.
 *   The per-epoch `history` is the training curve: the mean of each term over that epoch's
 *   steps (free to record; an evaluation pass per epoch would add a fifth to the run time).
 * - **Randomness:** the initial head, the training ε and order, and the evaluation ε come from
 *   three streams derived from `seed` ({@linkcode Rng} of `@metatokens/tensor`). Every β of a
 *   sweep starts from the same head and sees the same draws, so the points of a curve differ
 *   by β alone; equal inputs and seed give bit-identical results.
 *
 * Parameters and Adam moments are f32 (activations and sums f64) in {@linkcode trainVib};
 * {@linkcode vibForward} and {@linkcode vibBackward} also take f64 parameters, which the
 * gradient checks use.
 *
 * @module
 */

import type { AdamWParams } from "@metatokens/tensor/kernels";
import { adamwStep, adamwStepAt, adamwStepParams } from "@metatokens/tensor/optim/adamw-rule";
import { lowbias32, Rng } from "@metatokens/tensor/rng";

/** A float buffer: f32 in training, f64 in gradient checks. */
export type FloatArray = Float32Array | Float64Array;

/** The paper's β list (§5.1): one VIB run per value. */
export const PAPER_BETAS: readonly number[] = Object.freeze([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]);

/** How the distortion is measured after training: CE at a sampled z, or at z = μ. */
export type VibEvaluation = "sample" | "mean";

/** Options of {@linkcode trainVib}. */
export interface VibOptions {
  /** Feature size D (the model's hidden size). */
  dim: number;
  /** Vocabulary size V (targets lie in [0, V)). */
  vocab: number;
  /** Weight of the KL (rate) term; finite and > 0. */
  beta: number;
  /** Latent size L (default 32). */
  latent?: number;
  /** Passes over the examples (default 5, the paper's). */
  epochs?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Seed of the initial head and of every draw, an integer in [0, 2^32) (default 0). */
  seed?: number;
  /** `"sample"` (default): CE at z = μ + σ ⊙ ε, one fixed draw per example; `"mean"`: CE at z = μ. */
  evaluation?: VibEvaluation;
}

/** Options of {@linkcode vibSweep}: those of {@linkcode trainVib} with a β list instead of one β. */
export interface VibSweepOptions extends Omit<VibOptions, "beta"> {
  /** The β values, one run each, in this order (default {@linkcode PAPER_BETAS}). */
  betas?: readonly number[];
}

/** The training curve at one epoch: each term's mean over the epoch's steps (before each update). */
export interface VibEpoch {
  /** The epoch, from 1. */
  epoch: number;
  /** Mean KL(q(z|h) ‖ N(0, I)) over the epoch's steps, in nats. */
  rate: number;
  /** Mean cross-entropy over the epoch's steps (z sampled with the training draws), in nats. */
  distortion: number;
}

/** One VIB run: the point (rate, distortion) of the curve at `beta`. */
export interface VibResult {
  /** The β trained with. */
  beta: number;
  /** Mean KL of the trained head over the examples, in nats. */
  rate: number;
  /** Mean cross-entropy of the trained head over the examples (see `evaluation`), in nats. */
  distortion: number;
  /** The training curve, one entry per epoch. */
  history: VibEpoch[];
}

/** The VIB head's parameters (or their gradients, same shapes). */
export interface VibParams {
  /** Feature size D. */
  readonly dim: number;
  /** Latent size L. */
  readonly latent: number;
  /** Vocabulary size V. */
  readonly vocab: number;
  /** Encoder mean weight Wμ, (L, D) row-major. */
  readonly muWeight: FloatArray;
  /** Encoder mean bias bμ, (L). */
  readonly muBias: FloatArray;
  /** Encoder scale weight Wσ, (L, D): σ = softplus(Wσ h + bσ). */
  readonly sigmaWeight: FloatArray;
  /** Encoder scale bias bσ, (L). */
  readonly sigmaBias: FloatArray;
  /** Decoder weight W, (V, L). */
  readonly decWeight: FloatArray;
  /** Decoder bias b, (V). */
  readonly decBias: FloatArray;
}

/** What {@linkcode vibForward} keeps for {@linkcode vibBackward}, for one example. */
export interface VibActivations {
  /** Encoder mean μ, (L). */
  readonly mu: Float64Array;
  /** Pre-softplus scale a = Wσ h + bσ, (L). */
  readonly pre: Float64Array;
  /** Encoder scale σ = softplus(a), (L). */
  readonly sigma: Float64Array;
  /** The noise ε used (zeros when z = μ), (L). */
  readonly eps: Float64Array;
  /** The latent z = μ + σ ⊙ ε, (L). */
  readonly z: Float64Array;
  /** Decoder logits W z + b, (V). */
  readonly logits: Float64Array;
  /** softmax(logits), (V). */
  readonly probs: Float64Array;
  /** Scratch for ∂loss/∂z in the backward pass, (L). */
  readonly dz: Float64Array;
  /** Cross-entropy of the last forward pass, in nats. */
  ce: number;
  /** KL(N(μ, σ²) ‖ N(0, I)) of the last forward pass, in nats. */
  kl: number;
}

const DEFAULT_LATENT = 32;
const DEFAULT_EPOCHS = 5;
const DEFAULT_LR = 1e-3;
/** bσ at initialisation: σ = softplus(x − 5) as in Alemi et al. (2017). */
const SIGMA_BIAS_INIT = -5;
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPS = 1e-8;

// ----------------------------------------------------------------------------
// small numerics

/** softplus(a) = log(1 + eᵃ), without overflow. */
function softplus(a: number): number {
  return a > 30 ? a : Math.log1p(Math.exp(a));
}

/** log softplus(a), finite for very negative a (where softplus(a) ≈ eᵃ). */
function logSoftplus(a: number): number {
  return a < -30 ? a : Math.log(softplus(a));
}

/** sigmoid(a) / softplus(a) = ∂ log σ / ∂a, → 1 as a → −∞. */
function sigmoidOverSoftplus(a: number): number {
  return a < -30 ? 1 : 1 / ((1 + Math.exp(-a)) * softplus(a));
}

function sigmoid(a: number): number {
  return 1 / (1 + Math.exp(-a));
}

/** Seed of stream `k` derived from `seed` (k = 0: init, 1: training, 2: evaluation). */
function streamSeed(seed: number, k: number): number {
  return k === 0 ? seed : lowbias32((seed + Math.imul(k, 0x9e3779b9)) >>> 0);
}

// ----------------------------------------------------------------------------
// parameters and activations

/**
 * A freshly initialised VIB head (f32): U(±1/√fan_in) weights and biases, bσ = −5.
 *
 * @example
 * ```ts
 * import { createVibParams } from "@metatokens/analysis";
 * const p = createVibParams(4, 2, 10, 1);
 * console.log(p.muWeight.length, p.decWeight.length, p.sigmaBias[0]); // 8 20 -5
 * ```
 */
export function createVibParams(dim: number, latent: number, vocab: number, seed = 0): VibParams {
  checkPositiveInt("dim", dim);
  checkPositiveInt("latent", latent);
  checkPositiveInt("vocab", vocab);
  checkSeed(seed);
  const rng = new Rng(streamSeed(seed, 0));
  const uniform = (n: number, bound: number): Float32Array => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = (2 * rng.uniform() - 1) * bound;
    return out;
  };
  const encBound = 1 / Math.sqrt(dim), decBound = 1 / Math.sqrt(latent);
  return {
    dim,
    latent,
    vocab,
    muWeight: uniform(latent * dim, encBound), // (L, D)
    muBias: uniform(latent, encBound), // (L)
    sigmaWeight: uniform(latent * dim, encBound), // (L, D)
    sigmaBias: new Float32Array(latent).fill(SIGMA_BIAS_INIT), // (L)
    decWeight: uniform(vocab * latent, decBound), // (V, L)
    decBias: uniform(vocab, decBound), // (V)
  };
}

/**
 * Zero buffers shaped and typed like `params`: gradients or Adam moments.
 *
 * @example
 * ```ts
 * import { createVibParams, vibParamsLike } from "@metatokens/analysis";
 * const g = vibParamsLike(createVibParams(4, 2, 10));
 * console.log(g.decBias.length, g.decBias[0]); // 10 0
 * ```
 */
export function vibParamsLike(params: VibParams): VibParams {
  const zeros = (a: FloatArray): FloatArray =>
    a instanceof Float64Array ? new Float64Array(a.length) : new Float32Array(a.length);
  return {
    dim: params.dim,
    latent: params.latent,
    vocab: params.vocab,
    muWeight: zeros(params.muWeight),
    muBias: zeros(params.muBias),
    sigmaWeight: zeros(params.sigmaWeight),
    sigmaBias: zeros(params.sigmaBias),
    decWeight: zeros(params.decWeight),
    decBias: zeros(params.decBias),
  };
}

/**
 * Activation buffers for one example of a head with latent size L and vocabulary V.
 *
 * @example
 * ```ts
 * import { createVibActivations } from "@metatokens/analysis";
 * const acts = createVibActivations(2, 10);
 * console.log(acts.z.length, acts.logits.length); // 2 10
 * ```
 */
export function createVibActivations(latent: number, vocab: number): VibActivations {
  checkPositiveInt("latent", latent);
  checkPositiveInt("vocab", vocab);
  return {
    mu: new Float64Array(latent), // (L)
    pre: new Float64Array(latent), // (L)
    sigma: new Float64Array(latent), // (L)
    eps: new Float64Array(latent), // (L)
    z: new Float64Array(latent), // (L)
    logits: new Float64Array(vocab), // (V)
    probs: new Float64Array(vocab), // (V)
    dz: new Float64Array(latent), // (L)
    ce: 0,
    kl: 0,
  };
}

// ----------------------------------------------------------------------------
// forward and backward, one example

/**
 * Forward pass for one example: fills `acts` and sets `acts.ce` (distortion term) and
 * `acts.kl` (rate term). The objective is `acts.ce + β · acts.kl`.
 *
 * @param params The head.
 * @param acts Buffers from {@linkcode createVibActivations}.
 * @param h The features of the example, (D).
 * @param y The target token, in [0, V).
 * @param eps The noise ε, (L); `null` for z = μ.
 *
 * @example
 * ```ts
 * import { createVibActivations, createVibParams, vibForward } from "@metatokens/analysis";
 * const p = createVibParams(3, 2, 5);
 * const acts = createVibActivations(2, 5);
 * vibForward(p, acts, new Float32Array([1, 0, -1]), 4, new Float64Array([0.5, -0.5]));
 * console.log(acts.ce > 0, acts.kl > 0); // true true
 * ```
 */
export function vibForward(
  params: VibParams,
  acts: VibActivations,
  h: FloatArray, // (D)
  y: number,
  eps: FloatArray | null, // (L)
): void {
  const D = params.dim, L = params.latent, V = params.vocab;
  const muW = params.muWeight, muB = params.muBias; // (L, D), (L)
  const sgW = params.sigmaWeight, sgB = params.sigmaBias; // (L, D), (L)
  const W = params.decWeight, b = params.decBias; // (V, L), (V)
  const mu = acts.mu, pre = acts.pre, sigma = acts.sigma, e = acts.eps, z = acts.z; // (L)
  const logits = acts.logits, probs = acts.probs; // (V)
  checkExample(params, acts, h, y, eps);

  // encoder: μ = Wμ h + bμ, a = Wσ h + bσ, σ = softplus(a), z = μ + σ ⊙ ε   (L)
  // rate:    kl = Σ_l ½ (μ_l² + σ_l² − 1) − log σ_l
  let kl = 0;
  for (let l = 0; l < L; l++) {
    const row = l * D;
    let m = muB[l], a = sgB[l];
    for (let d = 0; d < D; d++) {
      m += muW[row + d] * h[d];
      a += sgW[row + d] * h[d];
    }
    const s = softplus(a);
    const noise = eps === null ? 0 : eps[l];
    mu[l] = m;
    pre[l] = a;
    sigma[l] = s;
    e[l] = noise;
    z[l] = m + s * noise;
    kl += 0.5 * (m * m + s * s - 1) - logSoftplus(a);
  }

  // decoder: logits = W z + b   (V)
  let max = -Infinity;
  for (let v = 0; v < V; v++) {
    const row = v * L;
    let acc = b[v];
    for (let l = 0; l < L; l++) acc += W[row + l] * z[l];
    logits[v] = acc;
    if (acc > max) max = acc;
  }

  // distortion: probs = softmax(logits), ce = lse − logits[y] = −log probs[y]
  let sum = 0;
  for (let v = 0; v < V; v++) {
    const p = Math.exp(logits[v] - max);
    probs[v] = p;
    sum += p;
  }
  const inv = 1 / sum;
  for (let v = 0; v < V; v++) probs[v] *= inv;
  acts.ce = max + Math.log(sum) - logits[y];
  acts.kl = kl;
}

/**
 * Backward pass for one example: writes (overwrites) every gradient in `grads` with
 * ∂(ce + β · kl)/∂θ at the activations of the last {@linkcode vibForward} on `h`, `y`.
 *
 * @param grads Buffers from {@linkcode vibParamsLike}; every one is overwritten.
 * @param params The head, unchanged since the forward pass.
 * @param acts The activations of that forward pass (`acts.dz` is used as scratch).
 * @param h The features of the example, (D).
 * @param y The target token.
 * @param beta The weight of the KL term.
 *
 * @example
 * ```ts
 * import {
 *   createVibActivations, createVibParams, vibBackward, vibForward, vibParamsLike,
 * } from "@metatokens/analysis";
 * const p = createVibParams(3, 2, 5);
 * const acts = createVibActivations(2, 5);
 * const h = new Float32Array([1, 0, -1]);
 * vibForward(p, acts, h, 4, new Float64Array([0.5, -0.5]));
 * const g = vibParamsLike(p);
 * vibBackward(g, p, acts, h, 4, 0.1);
 * console.log(g.decBias[4] < 0); // true: raising the target's logit lowers the CE
 * ```
 */
export function vibBackward(
  grads: VibParams,
  params: VibParams,
  acts: VibActivations,
  h: FloatArray, // (D)
  y: number,
  beta: number,
): void {
  const L = params.latent, V = params.vocab;
  const W = params.decWeight; // (V, L)
  const dW = grads.decWeight, db = grads.decBias; // (V, L), (V)
  const z = acts.z; // (L)
  const probs = acts.probs; // (V)
  const dz = acts.dz; // (L)

  // forward: ce = lse − logits[y]   ⇒ dlogits = probs − onehot(y)                      (V)
  // forward: logits = W z + b       ⇒ dW = dlogits zᵀ, db = dlogits, dz = Wᵀ dlogits
  dz.fill(0);
  for (let v = 0; v < V; v++) {
    const dlogit = v === y ? probs[v] - 1 : probs[v];
    const row = v * L;
    db[v] = dlogit;
    for (let l = 0; l < L; l++) {
      dW[row + l] = dlogit * z[l];
      dz[l] += W[row + l] * dlogit;
    }
  }
  encoderBackward(grads, params, acts, h, beta);
}

/** The encoder half of {@linkcode vibBackward}: from `acts.dz` to the four encoder gradients. */
function encoderBackward(
  grads: VibParams,
  params: VibParams,
  acts: VibActivations,
  h: FloatArray, // (D)
  beta: number,
): void {
  const D = params.dim, L = params.latent;
  const dmuW = grads.muWeight, dmuB = grads.muBias; // (L, D), (L)
  const dsgW = grads.sigmaWeight, dsgB = grads.sigmaBias; // (L, D), (L)
  const mu = acts.mu, pre = acts.pre, sigma = acts.sigma, e = acts.eps, dz = acts.dz; // (L)
  for (let l = 0; l < L; l++) {
    // forward: z = μ + σ ⊙ ε, kl = Σ ½ (μ² + σ² − 1) − log σ   (loss = ce + β·kl)
    //   ⇒ dμ = dz + β μ,  dσ = dz ε + β (σ − 1/σ)
    // forward: σ = softplus(a)   ⇒ da = dσ · sigmoid(a)
    //   = (dz ε + β σ) · sigmoid(a) − β · sigmoid(a)/σ, the last ratio → 1 as a → −∞
    const a = pre[l];
    const dmu = dz[l] + beta * mu[l];
    const da = (dz[l] * e[l] + beta * sigma[l]) * sigmoid(a) - beta * sigmoidOverSoftplus(a);
    // forward: μ = Wμ h + bμ   ⇒ dWμ = dμ hᵀ, dbμ = dμ
    // forward: a = Wσ h + bσ   ⇒ dWσ = da hᵀ, dbσ = da
    const row = l * D;
    dmuB[l] = dmu;
    dsgB[l] = da;
    for (let d = 0; d < D; d++) {
      dmuW[row + d] = dmu * h[d];
      dsgW[row + d] = da * h[d];
    }
  }
}

// ----------------------------------------------------------------------------
// Adam (torch.optim.Adam defaults, no weight decay), and the fused training step

/** Adam's hyperparameters at step t (from 1): the tensor package's AdamW rule with no weight decay. */
function adamParams(lr: number, step: number): AdamWParams {
  return adamwStepParams({ lr, beta1: ADAM_BETA1, beta2: ADAM_BETA2, eps: ADAM_EPS, weightDecay: 0 }, step);
}

/**
 * The decoder half of {@linkcode vibBackward} fused with Adam on W and b: each element's
 * gradient is formed, used and dropped, so the (V, L) gradient is never stored and W, m, v
 * are read once. dz uses W before its update, as in the unfused backward.
 */
function decoderBackwardAdam(
  params: VibParams,
  m: VibParams,
  v: VibParams,
  acts: VibActivations,
  y: number,
  h: AdamWParams,
): void {
  const L = params.latent, V = params.vocab;
  const W = params.decWeight, b = params.decBias; // (V, L), (V)
  const mW = m.decWeight, vW = v.decWeight; // (V, L)
  const mb = m.decBias, vb = v.decBias; // (V)
  const z = acts.z, dz = acts.dz; // (L)
  const probs = acts.probs; // (V)

  // forward: ce = lse − logits[y]   ⇒ dlogits = probs − onehot(y)                      (V)
  // forward: logits = W z + b       ⇒ dW = dlogits zᵀ, db = dlogits, dz = Wᵀ dlogits
  // Adam:    adamwStepAt (m = β₁ m + (1 − β₁) g;  v = β₂ v + (1 − β₂) g²;  θ −= lr · m̂ / (√v̂ + ε))
  dz.fill(0);
  for (let r = 0; r < V; r++) { // r: a vocabulary row
    const dlogit = r === y ? probs[r] - 1 : probs[r];
    adamwStepAt(b, mb, vb, r, dlogit, h);
    const row = r * L;
    for (let l = 0; l < L; l++) {
      const i = row + l;
      dz[l] += W[i] * dlogit; // W before its update
      adamwStepAt(W, mW, vW, i, dlogit * z[l], h);
    }
  }
}

const ENCODER_GROUPS = ["muWeight", "muBias", "sigmaWeight", "sigmaBias"] as const;

/**
 * A VIB head with its Adam state (PyTorch defaults: β₁ 0.9, β₂ 0.999, ε 1e-8, no weight
 * decay): one {@linkcode VibTrainer.step} per example is forward, backward and update. The
 * result equals {@linkcode vibForward}, {@linkcode vibBackward} and Adam on every parameter;
 * the decoder's backward is fused into its update, which keeps a step on a 50304 × 32
 * decoder at one pass over W and its moments.
 *
 * @example
 * ```ts
 * import { createVibParams, VibTrainer } from "@metatokens/analysis";
 * const trainer = new VibTrainer(createVibParams(2, 2, 3), 0.05);
 * const h = new Float32Array([1, -1]), eps = new Float64Array([0.1, -0.2]);
 * const first = trainer.step(h, 2, eps, 0.1);
 * for (let i = 0; i < 50; i++) trainer.step(h, 2, eps, 0.1);
 * console.log(trainer.step(h, 2, eps, 0.1) < first, trainer.steps); // true 52
 * ```
 */
export class VibTrainer {
  /** The head, updated in place. */
  readonly params: VibParams;
  /** The activations of the last step. */
  readonly acts: VibActivations;
  /** Adam learning rate. */
  readonly lr: number;
  readonly #m: VibParams;
  readonly #v: VibParams;
  readonly #grads: VibParams;
  #step = 0;

  /** Zero Adam moments for `params` (which the trainer then updates in place). */
  constructor(params: VibParams, lr: number = DEFAULT_LR) {
    checkLr(lr);
    checkParams(params);
    this.params = params;
    this.lr = lr;
    this.acts = createVibActivations(params.latent, params.vocab);
    this.#m = vibParamsLike(params);
    this.#v = vibParamsLike(params);
    // Encoder gradients only: the decoder's are never stored.
    const enc = (a: FloatArray): FloatArray =>
      a instanceof Float64Array ? new Float64Array(a.length) : new Float32Array(a.length);
    this.#grads = {
      ...params,
      muWeight: enc(params.muWeight),
      muBias: enc(params.muBias),
      sigmaWeight: enc(params.sigmaWeight),
      sigmaBias: enc(params.sigmaBias),
      decWeight: new Float32Array(0),
      decBias: new Float32Array(0),
    };
  }

  /** Adam steps taken. */
  get steps(): number {
    return this.#step;
  }

  /**
   * One update on one example; returns its loss ce + β · kl before the update (the two
   * terms are in `acts.ce` and `acts.kl`). Throws when the loss is not finite.
   */
  step(
    h: FloatArray, // (D)
    y: number,
    eps: FloatArray | null, // (L), or null for z = μ
    beta: number,
  ): number {
    const { params, acts } = this;
    vibForward(params, acts, h, y, eps);
    const loss = acts.ce + beta * acts.kl;
    if (!Number.isFinite(loss)) {
      throw new Error(
        `VIB training diverged at step ${this.#step + 1} with beta ${beta}: the loss is ${loss}; ` +
          `try an lr below ${this.lr}`,
      );
    }
    this.#step++;
    const adam = adamParams(this.lr, this.#step);
    decoderBackwardAdam(params, this.#m, this.#v, acts, y, adam); // fills acts.dz
    encoderBackward(this.#grads, params, acts, h, beta);
    for (const key of ENCODER_GROUPS) {
      const p = params[key];
      adamwStep(p, this.#grads[key], this.#m[key], this.#v[key], 1, p.length, adam);
    }
    return loss;
  }
}

// ----------------------------------------------------------------------------
// training and evaluation

interface Resolved {
  n: number;
  dim: number;
  vocab: number;
  latent: number;
  epochs: number;
  lr: number;
  seed: number;
  evaluation: VibEvaluation;
}

/** Mean rate and distortion of `params` on every example (fixed evaluation draws). */
function evaluate(
  params: VibParams,
  acts: VibActivations,
  features: FloatArray, // (N, D)
  targets: Int32Array, // (N)
  o: Resolved,
): { rate: number; distortion: number } {
  const D = o.dim, L = o.latent;
  const rng = new Rng(streamSeed(o.seed, 2));
  const eps = new Float64Array(L); // (L)
  let rate = 0, distortion = 0;
  for (let i = 0; i < o.n; i++) {
    for (let l = 0; l < L; l++) eps[l] = rng.normal();
    vibForward(
      params,
      acts,
      features.subarray(i * D, (i + 1) * D),
      targets[i],
      o.evaluation === "mean" ? null : eps,
    );
    rate += acts.kl;
    distortion += acts.ce;
  }
  return { rate: rate / o.n, distortion: distortion / o.n };
}

/**
 * Trains one VIB head on frozen features at one β and measures its rate and distortion
 * (see the module documentation for every choice).
 *
 * @param features The features, (N, D) row-major, N = `targets.length`.
 * @param targets The target token of every example, (N), each in [0, `vocab`).
 * @param options Sizes, β and training settings.
 * @returns β, the rate and distortion (nats) measured after training, and the training
 *   curve: the mean of each term over every epoch's steps.
 *
 * @example
 * ```ts
 * import { trainVib } from "@metatokens/analysis";
 * const features = new Float32Array([1, 0, 0, 1, -1, 0, 0, -1]); // (N = 4, D = 2)
 * const targets = new Int32Array([0, 1, 2, 3]);
 * const r = trainVib(features, targets, { dim: 2, vocab: 4, beta: 0.1, latent: 2, lr: 0.05, epochs: 20 });
 * console.log(r.history.length, r.distortion < r.history[0].distortion); // 20 true
 * ```
 */
export function trainVib(features: FloatArray, targets: Int32Array, options: VibOptions): VibResult {
  const beta = options.beta;
  checkBeta(beta);
  const o = resolve(features, targets, options);
  const D = o.dim, L = o.latent, N = o.n;

  const trainer = new VibTrainer(createVibParams(D, L, o.vocab, o.seed), o.lr);
  const rng = new Rng(streamSeed(o.seed, 1));
  const order = new Int32Array(N); // (N)
  for (let i = 0; i < N; i++) order[i] = i;
  const eps = new Float64Array(L); // (L)

  const history: VibEpoch[] = [];
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    for (let i = N - 1; i > 0; i--) { // Fisher–Yates shuffle
      const j = rng.int(i + 1);
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    let rate = 0, distortion = 0;
    for (let k = 0; k < N; k++) {
      const i = order[k];
      for (let l = 0; l < L; l++) eps[l] = rng.normal();
      trainer.step(features.subarray(i * D, (i + 1) * D), targets[i], eps, beta);
      rate += trainer.acts.kl;
      distortion += trainer.acts.ce;
    }
    history.push({ epoch, rate: rate / N, distortion: distortion / N });
  }
  return { beta, ...evaluate(trainer.params, trainer.acts, features, targets, o), history };
}

/**
 * One {@linkcode trainVib} run per β (default the paper's {@linkcode PAPER_BETAS}), all from
 * the same initial head and random draws: the points of one rate–distortion curve.
 *
 * @param features The features, (N, D) row-major.
 * @param targets The target token of every example, (N).
 * @param options Sizes, the β list and training settings.
 * @returns One result per β, in the order of `betas`.
 *
 * @example
 * ```ts
 * import { vibSweep } from "@metatokens/analysis";
 * const features = new Float32Array([1, 0, 0, 1, -1, 0, 0, -1]); // (N = 4, D = 2)
 * const targets = new Int32Array([0, 1, 2, 3]);
 * const curve = vibSweep(features, targets, { dim: 2, vocab: 4, latent: 2, betas: [0.01, 1] });
 * console.log(curve.map((r) => r.beta)); // [ 0.01, 1 ]
 * ```
 */
export function vibSweep(features: FloatArray, targets: Int32Array, options: VibSweepOptions): VibResult[] {
  const betas = options.betas ?? PAPER_BETAS;
  if (betas.length === 0) {
    throw new RangeError("Cannot run a VIB sweep with an empty beta list: expected at least one beta");
  }
  for (const beta of betas) checkBeta(beta);
  resolve(features, targets, options);
  return betas.map((beta) => trainVib(features, targets, { ...options, beta }));
}

// ----------------------------------------------------------------------------
// input checks

function checkPositiveInt(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`Cannot build a VIB head with ${name} ${value}: expected a positive integer`);
  }
}

function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new RangeError(`Cannot seed the VIB head with ${seed}: expected an integer in [0, 2^32)`);
  }
}

/** Every buffer of `params` has the length its sizes give. */
function checkParams(params: VibParams): void {
  const { dim: D, latent: L, vocab: V } = params;
  checkPositiveInt("dim", D);
  checkPositiveInt("latent", L);
  checkPositiveInt("vocab", V);
  const expected = {
    muWeight: L * D,
    muBias: L,
    sigmaWeight: L * D,
    sigmaBias: L,
    decWeight: V * L,
    decBias: V,
  };
  for (const [key, n] of Object.entries(expected)) {
    const got = params[key as keyof typeof expected].length;
    if (got !== n) {
      throw new RangeError(
        `Cannot use a VIB head whose ${key} holds ${got} values: expected ${n} for D ${D}, L ${L}, V ${V}`,
      );
    }
  }
}

/** One example fits the head and the activation buffers (cheap: O(1)). */
function checkExample(
  params: VibParams,
  acts: VibActivations,
  h: FloatArray,
  y: number,
  eps: FloatArray | null,
): void {
  const { dim: D, latent: L, vocab: V } = params;
  if (h.length !== D) {
    throw new RangeError(`Cannot run the VIB head on ${h.length} features: expected D = ${D}`);
  }
  if (!Number.isInteger(y) || y < 0 || y >= V) {
    throw new RangeError(`Cannot run the VIB head on target ${y}: expected a token in [0, ${V})`);
  }
  if (eps !== null && eps.length !== L) {
    throw new RangeError(`Cannot run the VIB head with ${eps.length} noise values: expected L = ${L}`);
  }
  if (acts.z.length !== L || acts.logits.length !== V) {
    throw new RangeError(
      `Cannot run the VIB head with activations for L ${acts.z.length}, V ${acts.logits.length}: ` +
        `expected L ${L}, V ${V}`,
    );
  }
}

function checkLr(lr: number): void {
  if (typeof lr !== "number" || !Number.isFinite(lr) || lr <= 0) {
    throw new RangeError(`Cannot train the VIB head with lr ${lr}: expected a finite number > 0`);
  }
}

function checkBeta(beta: number): void {
  if (typeof beta !== "number" || !Number.isFinite(beta) || beta <= 0) {
    throw new RangeError(`Cannot train the VIB head with beta ${beta}: expected a finite number > 0`);
  }
}

function resolve(features: FloatArray, targets: Int32Array, options: Omit<VibOptions, "beta">): Resolved {
  const { dim, vocab } = options;
  const latent = options.latent ?? DEFAULT_LATENT;
  const epochs = options.epochs ?? DEFAULT_EPOCHS;
  const lr = options.lr ?? DEFAULT_LR;
  const seed = options.seed ?? 0;
  const evaluation = options.evaluation ?? "sample";
  checkPositiveInt("dim", dim);
  checkPositiveInt("vocab", vocab);
  checkPositiveInt("latent", latent);
  if (!Number.isSafeInteger(epochs) || epochs <= 0) {
    throw new RangeError(`Cannot train the VIB head for ${epochs} epochs: expected a positive integer`);
  }
  checkLr(lr);
  checkSeed(seed);
  if (evaluation !== "sample" && evaluation !== "mean") {
    throw new RangeError(`Cannot evaluate the VIB head with "${evaluation}": expected "sample" or "mean"`);
  }
  const n = targets.length;
  if (n === 0) {
    throw new RangeError("Cannot train the VIB head on 0 examples: expected at least one target");
  }
  if (features.length !== n * dim) {
    throw new RangeError(
      `Cannot train the VIB head on ${features.length} feature values: expected N · D = ${n} · ${dim} = ${
        n * dim
      } (one row of dim ${dim} per target)`,
    );
  }
  for (let i = 0; i < n; i++) {
    const y = targets[i];
    if (y < 0 || y >= vocab) {
      throw new RangeError(
        `Cannot train the VIB head on target ${y} of example ${i}: expected a token in [0, ${vocab})`,
      );
    }
  }
  for (let i = 0; i < features.length; i++) {
    if (!Number.isFinite(features[i])) {
      const row = Math.floor(i / dim), col = i % dim;
      throw new RangeError(
        `Cannot train the VIB head on feature ${
          features[i]
        } at example ${row}, component ${col}: expected finite values`,
      );
    }
  }
  return { n, dim, vocab, latent, epochs, lr, seed, evaluation };
}
