import assert from "node:assert/strict";
import { Rng } from "@metatokens/tensor/rng";
import {
  createVibActivations,
  createVibParams,
  type FloatArray,
  PAPER_BETAS,
  trainVib,
  vibBackward,
  vibForward,
  type VibParams,
  vibParamsLike,
  vibSweep,
  VibTrainer,
} from "./vib.ts";

const GROUPS = ["muWeight", "muBias", "sigmaWeight", "sigmaBias", "decWeight", "decBias"] as const;

/** An f64 copy of `p` with every value drawn from N(0, std²), σ's bias around `sigmaBias`. */
function randomParams64(
  dim: number,
  latent: number,
  vocab: number,
  seed: number,
  sigmaBias: number,
): VibParams {
  const rng = new Rng(seed);
  const draw = (n: number, mean = 0): Float64Array => {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = mean + 0.7 * rng.normal();
    return a;
  };
  return {
    dim,
    latent,
    vocab,
    muWeight: draw(latent * dim),
    muBias: draw(latent),
    sigmaWeight: draw(latent * dim),
    sigmaBias: draw(latent, sigmaBias),
    decWeight: draw(vocab * latent),
    decBias: draw(vocab),
  };
}

function copyParams(p: VibParams): VibParams {
  const out = vibParamsLike(p);
  for (const key of GROUPS) out[key].set(p[key]);
  return out;
}

function loss(p: VibParams, h: FloatArray, y: number, eps: FloatArray | null, beta: number): number {
  const acts = createVibActivations(p.latent, p.vocab);
  vibForward(p, acts, h, y, eps);
  return acts.ce + beta * acts.kl;
}

function checkGradients(
  p: VibParams,
  h: Float64Array,
  y: number,
  eps: Float64Array | null,
  beta: number,
): void {
  const acts = createVibActivations(p.latent, p.vocab);
  vibForward(p, acts, h, y, eps);
  const grads = vibParamsLike(p);
  for (const key of GROUPS) grads[key].fill(NaN); // every entry must be written
  vibBackward(grads, p, acts, h, y, beta);
  const step = 1e-6;
  for (const key of GROUPS) {
    const param = p[key], grad = grads[key];
    for (let i = 0; i < param.length; i++) {
      const saved = param[i];
      param[i] = saved + step;
      const up = loss(p, h, y, eps, beta);
      param[i] = saved - step;
      const down = loss(p, h, y, eps, beta);
      param[i] = saved;
      const numeric = (up - down) / (2 * step);
      const err = Math.abs(numeric - grad[i]);
      assert.ok(
        err <= 1e-6 * Math.max(1, Math.abs(numeric)),
        `${key}[${i}]: analytic ${grad[i]} vs finite difference ${numeric}`,
      );
    }
  }
}

Deno.test("gradients of every parameter group match central finite differences (f64)", () => {
  const dim = 3, latent = 2, vocab = 5;
  const rng = new Rng(11);
  const h = Float64Array.from({ length: dim }, () => rng.normal());
  const eps = Float64Array.from({ length: latent }, () => rng.normal());
  // σ around 0.7 (softplus(0)), around the initial 0.007 (softplus(−5)), and z = μ.
  checkGradients(randomParams64(dim, latent, vocab, 1, 0), h, 2, eps, 0.3);
  checkGradients(randomParams64(dim, latent, vocab, 2, -5), h, 0, eps, 1);
  checkGradients(randomParams64(dim, latent, vocab, 3, 0), h, 4, null, 0.05);
  // Very negative a (σ ≈ e^a, log σ = a): the KL term's gradient stays exact.
  const p = randomParams64(dim, latent, vocab, 4, 0);
  p.sigmaBias[0] = -40;
  p.sigmaWeight.fill(0, 0, dim);
  checkGradients(p, h, 1, eps, 0.5);
});

Deno.test("KL matches the closed form ½ Σ (μ² + σ² − 1) − log σ and a numerical integral", () => {
  // D = 1 with h = 0: μ = bμ and σ = softplus(bσ), so bσ = log(e^σ − 1) sets σ.
  const cases: [number[], number[], number][] = [
    [[0, 0], [1, 1], 0],
    [[1, -2], [1, 1], 2.5],
    [[0, 0], [Math.E, 1], 0.5 * (Math.E ** 2 - 1) - 1],
    [[0.5, 0], [0.5, 2], 0.5 * (0.25 + 0.25 - 1) - Math.log(0.5) + 0.5 * (4 - 1) - Math.log(2)],
  ];
  for (const [mu, sigma, expected] of cases) {
    const p = randomParams64(1, 2, 3, 5, 0);
    p.muBias.set(mu);
    p.sigmaBias.set(sigma.map((s) => Math.log(Math.expm1(s))));
    const acts = createVibActivations(2, 3);
    vibForward(p, acts, new Float64Array([0]), 0, null);
    assert.ok(Math.abs(acts.kl - expected) < 1e-12, `μ ${mu}, σ ${sigma}: ${acts.kl} vs ${expected}`);
    // ∫ q log(q/p) dz per dimension, by the midpoint rule over μ ± 12σ.
    let integral = 0;
    for (let l = 0; l < 2; l++) {
      const m = mu[l], s = sigma[l], steps = 20000, lo = m - 12 * s, dz = (24 * s) / steps;
      for (let k = 0; k < steps; k++) {
        const z = lo + (k + 0.5) * dz;
        const logq = -0.5 * ((z - m) / s) ** 2 - Math.log(s) - 0.5 * Math.log(2 * Math.PI);
        const logp = -0.5 * z * z - 0.5 * Math.log(2 * Math.PI);
        integral += Math.exp(logq) * (logq - logp) * dz;
      }
    }
    assert.ok(Math.abs(acts.kl - integral) < 1e-6, `μ ${mu}, σ ${sigma}: ${acts.kl} vs integral ${integral}`);
  }
});

Deno.test("CE equals −log softmax(W z + b)[y], also with logits near 1000", () => {
  const dim = 4, latent = 3, vocab = 7;
  const rng = new Rng(21);
  const h = Float64Array.from({ length: dim }, () => rng.normal());
  const eps = Float64Array.from({ length: latent }, () => rng.normal());
  for (const shift of [0, 1000]) {
    const p = randomParams64(dim, latent, vocab, 6, 0);
    for (let v = 0; v < vocab; v++) p.decBias[v] += shift;
    const acts = createVibActivations(latent, vocab);
    vibForward(p, acts, h, 5, eps);
    for (let l = 0; l < latent; l++) {
      assert.ok(Math.abs(acts.z[l] - (acts.mu[l] + acts.sigma[l] * eps[l])) < 1e-12);
    }
    let sum = 0;
    const logits: number[] = [];
    for (let v = 0; v < vocab; v++) {
      let x = p.decBias[v] - shift; // shifted back: exp stays finite in the naive formula
      for (let l = 0; l < latent; l++) x += p.decWeight[v * latent + l] * acts.z[l];
      logits.push(x);
      sum += Math.exp(x);
    }
    const expected = -Math.log(Math.exp(logits[5]) / sum);
    assert.ok(Math.abs(acts.ce - expected) < 1e-9, `shift ${shift}: ${acts.ce} vs ${expected}`);
    assert.ok(Math.abs(acts.probs.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  }
});

Deno.test("a trainer step equals forward, backward and a reference Adam update", () => {
  const dim = 3, latent = 2, vocab = 5, lr = 0.01, beta = 0.2;
  const fused = randomParams64(dim, latent, vocab, 7, -1);
  const ref = copyParams(fused);
  const m = vibParamsLike(ref), v = vibParamsLike(ref), g = vibParamsLike(ref);
  const acts = createVibActivations(latent, vocab);
  const trainer = new VibTrainer(fused, lr);
  const rng = new Rng(8);
  for (let t = 1; t <= 4; t++) {
    const h = Float64Array.from({ length: dim }, () => rng.normal());
    const eps = Float64Array.from({ length: latent }, () => rng.normal());
    const y = t % vocab;
    const got = trainer.step(h, y, eps, beta);
    vibForward(ref, acts, h, y, eps);
    assert.equal(got, acts.ce + beta * acts.kl);
    vibBackward(g, ref, acts, h, y, beta);
    for (const key of GROUPS) { // torch.optim.Adam, written out
      for (let i = 0; i < ref[key].length; i++) {
        m[key][i] = 0.9 * m[key][i] + 0.1 * g[key][i];
        v[key][i] = 0.999 * v[key][i] + 0.001 * g[key][i] ** 2;
        const mHat = m[key][i] / (1 - 0.9 ** t), vHat = v[key][i] / (1 - 0.999 ** t);
        ref[key][i] -= lr * mHat / (Math.sqrt(vHat) + 1e-8);
      }
    }
    for (const key of GROUPS) {
      for (let i = 0; i < ref[key].length; i++) {
        assert.ok(Math.abs(fused[key][i] - ref[key][i]) < 1e-12, `step ${t}, ${key}[${i}]`);
      }
    }
  }
  assert.equal(trainer.steps, 4);
});

/** N examples in `classes` clusters: y is the cluster of h (a function of h). */
function clusters(n: number, dim: number, classes: number, seed: number) {
  const rng = new Rng(seed);
  const centres = rng.fillNormal(new Float32Array(classes * dim), 0, 2);
  const features = new Float32Array(n * dim), targets = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    targets[i] = 3 * c; // spread over the vocabulary
    for (let d = 0; d < dim; d++) features[i * dim + d] = centres[c * dim + d] + 0.3 * rng.normal();
  }
  return { features, targets };
}

Deno.test("training lowers distortion when y is a function of h", () => {
  const { features, targets } = clusters(50, 8, 5, 31);
  const options = { dim: 8, vocab: 20, latent: 8, lr: 0.01, epochs: 10, beta: 0.01 };
  const trained = trainVib(features, targets, options);
  // The untrained head (same seed), measured at z = μ, against the trained one.
  const init = createVibParams(8, 8, 20, 0);
  const acts = createVibActivations(8, 20);
  let before = 0;
  for (let i = 0; i < 50; i++) {
    vibForward(init, acts, features.subarray(i * 8, (i + 1) * 8), targets[i], null);
    before += acts.ce / 50;
  }
  const after = trainVib(features, targets, { ...options, evaluation: "mean" });
  assert.ok(after.distortion < 0.5 * before, `distortion ${after.distortion} vs untrained ${before}`);
  assert.ok(trained.distortion < 0.5 * Math.log(20), `distortion ${trained.distortion}`);
  assert.ok(trained.distortion < trained.history[0].distortion);
  assert.equal(trained.history.length, 10);
  assert.deepEqual(trained.history.map((e) => e.epoch), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // The rate does not depend on how z is drawn at evaluation; the distortion does.
  assert.equal(after.rate, trained.rate);
  assert.notEqual(after.distortion, trained.distortion);
});

Deno.test("a larger beta gives a lower rate", () => {
  const { features, targets } = clusters(50, 8, 5, 41);
  const curve = vibSweep(features, targets, {
    dim: 8,
    vocab: 20,
    latent: 8,
    lr: 0.01,
    betas: [0.01, 0.1, 1],
  });
  assert.deepEqual(curve.map((r) => r.beta), [0.01, 0.1, 1]);
  assert.ok(curve[2].rate < curve[0].rate, `rate ${curve[2].rate} at beta 1 vs ${curve[0].rate} at 0.01`);
  assert.ok(curve[2].rate < curve[1].rate && curve[1].rate < curve[0].rate);
  for (const r of curve) {
    assert.ok(r.rate > 0 && Number.isFinite(r.distortion));
    assert.equal(r.history.length, 5);
  }
  assert.deepEqual(PAPER_BETAS, [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]);
});

Deno.test("the same seed gives identical results, another seed others", () => {
  const { features, targets } = clusters(12, 4, 3, 51);
  const options = { dim: 4, vocab: 9, latent: 3, betas: [0.05, 0.5] };
  const a = vibSweep(features, targets, { ...options, seed: 3 });
  assert.deepEqual(vibSweep(features, targets, { ...options, seed: 3 }), a);
  assert.notDeepEqual(vibSweep(features, targets, { ...options, seed: 4 }), a);
  // A sweep is its runs: each point equals a single run at that beta.
  assert.deepEqual(trainVib(features, targets, { ...options, seed: 3, beta: 0.5 }), a[1]);
  assert.deepEqual(createVibParams(4, 3, 9, 3), createVibParams(4, 3, 9, 3));
});

Deno.test("bad input is refused with a sentence naming the value", () => {
  const features = new Float32Array(6), targets = new Int32Array([0, 1, 2]);
  const base = { dim: 2, vocab: 3, beta: 0.1 };
  const refuses = (fn: () => unknown, pattern: RegExp): void => assert.throws(fn, pattern);
  refuses(() => vibSweep(features, targets, { ...base, betas: [] }), /empty beta list/);
  for (const beta of [0, -1, NaN, Infinity]) {
    refuses(() => trainVib(features, targets, { ...base, beta }), new RegExp(`^RangeError: .*beta ${beta}:`));
    refuses(() => vibSweep(features, targets, { ...base, betas: [0.1, beta] }), new RegExp(`beta ${beta}:`));
  }
  refuses(
    () => trainVib(new Float32Array(5), targets, base),
    /Cannot train the VIB head on 5 feature values: expected N · D = 3 · 2 = 6/,
  );
  refuses(
    () => trainVib(features, new Int32Array([0, 3, 1]), base),
    /target 3 of example 1: expected a token in \[0, 3\)/,
  );
  refuses(() => trainVib(features, new Int32Array([-1, 0, 1]), base), /target -1 of example 0/);
  refuses(() => trainVib(new Float32Array(0), new Int32Array(0), base), /on 0 examples/);
  refuses(() => vibSweep(new Float32Array(0), new Int32Array(0), base), /on 0 examples/);
  refuses(
    () => trainVib(new Float32Array([0, 0, 0, NaN, 0, 0]), targets, base),
    /feature NaN at example 1, component 1: expected finite values/,
  );
  refuses(
    () => trainVib(new Float32Array([0, 0, 0, 0, Infinity, 0]), targets, base),
    /feature Infinity at example 2/,
  );
  refuses(() => trainVib(features, targets, { ...base, latent: 0 }), /latent 0: expected a positive integer/);
  refuses(() => trainVib(features, targets, { ...base, dim: 2.5 }), /dim 2.5/);
  refuses(() => trainVib(features, targets, { ...base, epochs: 0 }), /for 0 epochs/);
  refuses(() => trainVib(features, targets, { ...base, lr: -1 }), /lr -1/);
  refuses(() => trainVib(features, targets, { ...base, seed: -2 }), /seed the VIB head with -2/);
  refuses(
    () => trainVib(features, targets, { ...base, evaluation: "mode" as "mean" }),
    /with "mode": expected "sample" or "mean"/,
  );
  // The low-level API checks shapes too.
  const p = createVibParams(2, 3, 4), acts = createVibActivations(3, 4);
  refuses(() => vibForward(p, acts, new Float32Array(3), 0, null), /on 3 features: expected D = 2/);
  refuses(() => vibForward(p, acts, new Float32Array(2), 4, null), /target 4: expected a token in \[0, 4\)/);
  refuses(
    () => vibForward(p, acts, new Float32Array(2), 0, new Float64Array(2)),
    /2 noise values: expected L = 3/,
  );
  refuses(() => vibForward(p, createVibActivations(3, 5), new Float32Array(2), 0, null), /for L 3, V 5/);
  refuses(() => new VibTrainer({ ...p, decBias: new Float32Array(3) }), /decBias holds 3 values: expected 4/);
  refuses(() => new VibTrainer(p, 0), /lr 0/);
  refuses(() => createVibParams(2, 3, 4, 2 ** 32), /seed the VIB head with 4294967296/);
  refuses(() => trainVib(features, targets, { ...base, lr: 1e38 }), /diverged .* the loss is (NaN|Infinity)/);
});
