// Finite-difference gradient checks of every core op, on every backend
// (`webgpu` too when this runtime has an adapter; reads are awaited there).
//
// The case table is typed `{ [K in OpName]: GradCase[] }`, so an op added to
// the registry without a gradient check here does not compile.

import { backward, noGrad } from "../autograd.ts";
import type { Backend } from "../backend.ts";
import { Rng } from "../rng.ts";
import { randn, scope, type Tensor, tensor } from "../tensor.ts";
import { assertClose, testBackends, webgpuTestBackend } from "../_testing/harness.ts";
import { add } from "./add.ts";
import { crossEntropy } from "./cross_entropy.ts";
import { dropout } from "./dropout.ts";
import { embedding } from "./embedding.ts";
import { gelu } from "./gelu.ts";
import { layernorm } from "./layernorm.ts";
import { matmul } from "./matmul.ts";
import { mul } from "./mul.ts";
import { mergeHeads, permute, splitHeads, transpose } from "./permute.ts";
import type { OpName } from "./registry.ts";
import { relu } from "./relu.ts";
import { reshape } from "./reshape.ts";
import { scale } from "./scale.ts";
import { softmax } from "./softmax.ts";
import { mean, sum } from "./sum.ts";

interface GradCase {
  /** What the case covers. */
  label: string;
  /** Shapes of the differentiable inputs. */
  shapes: readonly (readonly number[])[];
  /** The function under test; its output is reduced with fixed random weights. */
  fn(inputs: readonly Tensor[], backend: Backend): Tensor;
  /** Keep inputs away from 0 (kinks). */
  awayFromZero?: boolean;
}

const ids = (backend: Backend, values: number[], shape: number[]): Tensor =>
  tensor(values, shape, { dtype: "i32", backend });

const cases: { [K in OpName]: GradCase[] } = {
  matmul: [
    ...[false, true].flatMap((transA) =>
      [false, true].map((transB): GradCase => ({
        label: `transA ${transA}, transB ${transB}, bias`,
        shapes: [transA ? [4, 3] : [3, 4], transB ? [5, 4] : [4, 5], [5]],
        fn: ([a, b, bias]) => matmul(a, b, { transA, transB, bias }),
      }))
    ),
    { label: "batched", shapes: [[2, 3, 4], [2, 4, 5]], fn: ([a, b]) => matmul(a, b) },
    {
      label: "batched, both transposed",
      shapes: [[2, 4, 3], [2, 5, 4]],
      fn: ([a, b]) => matmul(a, b, { transA: true, transB: true }),
    },
    {
      label: "3-D by shared 2-D",
      shapes: [[2, 3, 4], [5, 4]],
      fn: ([a, b]) => matmul(a, b, { transB: true }),
    },
  ],
  add: [
    { label: "same shape", shapes: [[3, 4], [3, 4]], fn: ([a, b]) => add(a, b) },
    { label: "suffix broadcast", shapes: [[2, 3, 4], [3, 4]], fn: ([a, b]) => add(a, b) },
    { label: "same tensor twice", shapes: [[5]], fn: ([a]) => add(a, a) },
    { label: "one-element broadcast", shapes: [[2, 3], [1]], fn: ([a, b]) => add(a, b) },
  ],
  mul: [
    { label: "same shape", shapes: [[3, 4], [3, 4]], fn: ([a, b]) => mul(a, b) },
    { label: "suffix broadcast", shapes: [[2, 3, 4], [4]], fn: ([a, b]) => mul(a, b) },
    { label: "square", shapes: [[5]], fn: ([a]) => mul(a, a) },
    { label: "one-element broadcast", shapes: [[2, 3], [1]], fn: ([a, b]) => mul(a, b) },
  ],
  scale: [{ label: "by -1.5", shapes: [[7]], fn: ([a]) => scale(a, -1.5) }],
  gelu: [{ label: "elementwise", shapes: [[3, 5]], fn: ([a]) => gelu(a) }],
  relu: [{ label: "elementwise", shapes: [[3, 5]], fn: ([a]) => relu(a), awayFromZero: true }],
  layernorm: [
    { label: "rows of 6", shapes: [[3, 6], [6], [6]], fn: ([x, w, b]) => layernorm(x, w, b) },
    { label: "3-D input", shapes: [[2, 2, 5], [5], [5]], fn: ([x, w, b]) => layernorm(x, w, b) },
  ],
  softmax: [{ label: "rows of 5", shapes: [[3, 5]], fn: ([x]) => softmax(x) }],
  crossEntropy: [{
    label: "with an ignored target",
    shapes: [[4, 6]],
    fn: ([logits], backend) => crossEntropy(logits, ids(backend, [2, -1, 5, 0], [4])),
  }],
  embedding: [{
    label: "repeated ids",
    shapes: [[5, 3]],
    fn: ([w], backend) => embedding(w, ids(backend, [4, 0, 4, 2, 1, 4], [2, 3])),
  }],
  reshape: [{ label: "(2, 6) to (3, 4)", shapes: [[2, 6]], fn: ([x]) => reshape(x, [3, -1]) }],
  permute: [
    { label: "(2, 3, 4) by [2, 0, 1]", shapes: [[2, 3, 4]], fn: ([x]) => permute(x, [2, 0, 1]) },
    { label: "transpose of a matrix", shapes: [[3, 5]], fn: ([x]) => transpose(x, 0, 1) },
    {
      label: "split then merge heads",
      shapes: [[2, 3, 8]],
      fn: ([x]) => mergeHeads(scale(splitHeads(x, 4), 2)),
    },
  ],
  dropout: [{ label: "p = 0.3", shapes: [[4, 5]], fn: ([x]) => dropout(x, 0.3, new Rng(7)) }],
  sum: [
    { label: "all elements", shapes: [[3, 4]], fn: ([x]) => sum(x) },
    { label: "last axis", shapes: [[3, 4]], fn: ([x]) => sum(x, { axis: -1 }) },
    { label: "mean of the last axis", shapes: [[2, 3, 4]], fn: ([x]) => mean(x, { axis: -1 }) },
  ],
};

/** Loss = Σ out · w for fixed random w, so every output element gets its own gradient. */
function lossOf(kase: GradCase, inputs: readonly Tensor[], backend: Backend, weights: Float32Array): Tensor {
  const out = kase.fn(inputs, backend);
  const w = tensor(weights.subarray(0, out.size), out.shape.length ? out.shape : [1], { backend });
  return sum(mul(out.shape.length ? out : reshape(out, [1]), w));
}

/** Reads a tensor back on any backend (CPU backends resolve at once). */
async function host(t: Tensor): Promise<Float32Array> {
  return await t.data() as Float32Array;
}

async function gradcheck(kase: GradCase, backend: Backend): Promise<void> {
  const rng = new Rng(42);
  const inputs = await Promise.all(kase.shapes.map(async (shape) => {
    const t = randn(shape, rng, 1, { backend, requiresGrad: true });
    if (kase.awayFromZero) {
      const values = await host(t);
      for (let i = 0; i < values.length; i++) values[i] += values[i] >= 0 ? 0.2 : -0.2;
      backend.write(t.storage, values);
    }
    return t;
  }));
  const weights = rng.fillNormal(new Float32Array(256));
  scope(() => backward(lossOf(kase, inputs, backend, weights)));
  const eps = 1e-2;
  for (const [which, input] of inputs.entries()) {
    const values = await host(input);
    // Every loss read starts right after its forward pass and is awaited at the end, so
    // the GPU backend pipelines them (a read copies the value at the time it is called).
    const at = (i: number, x: number): Promise<number> => {
      values[i] = x;
      backend.write(input.storage, values);
      const loss = noGrad(() => scope(() => lossOf(kase, inputs, backend, weights)));
      const value = host(loss).then(([v]) => v);
      loss.dispose();
      return value;
    };
    const pending: Promise<number>[] = [];
    for (let i = 0; i < values.length; i++) {
      const x0 = values[i];
      const [plus, minus] = [at(i, x0 + eps), at(i, x0 - eps)];
      pending.push(Promise.all([plus, minus]).then(([p, m]) => (p - m) / (2 * eps)));
      values[i] = x0;
      backend.write(input.storage, values);
    }
    const numeric = Float32Array.from(await Promise.all(pending));
    const analytic = input.grad ? await host(input.grad) : new Float32Array(values.length);
    assertClose(analytic, numeric, { atol: 5e-3, rtol: 2e-2 }, `${kase.label}: gradient of input ${which}`);
  }
}

const { ref, wasm1 } = testBackends();
for (const backend of [ref, wasm1]) {
  for (const [op, list] of Object.entries(cases)) {
    Deno.test(`${op} gradients match finite differences on ${backend.name}`, async () => {
      for (const kase of list) await gradcheck(kase, backend);
    });
  }
}

const gpu = await webgpuTestBackend();
for (const [op, list] of Object.entries(cases)) {
  Deno.test({
    name: `${op} gradients match finite differences on webgpu`,
    ignore: gpu === null,
    async fn() {
      for (const kase of list) await gradcheck(kase, gpu!);
    },
  });
}
