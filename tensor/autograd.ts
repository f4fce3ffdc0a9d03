/**
 * Reverse-mode automatic differentiation.
 *
 * An op is declared once as an {@linkcode OpDef}: `forward` computes the output
 * (and any caches), `backward` **adds** the gradient of every input that needs
 * one. `backward` is a required member, so an op without one does not compile.
 * {@linkcode apply} runs an op and, when gradients are on and an input needs
 * one, links a node to the output; {@linkcode backward} walks those links from
 * the loss in reverse topological order. Parameter gradients accumulate across
 * calls (`+=`) until the optimiser zeroes them, so gradient accumulation over
 * micro-batches needs nothing extra.
 *
 * @module
 */

import { formatShape, type TapeNode, type Tensor, untracked } from "./tensor.ts";

/** What an op's forward returns. */
export interface ForwardResult {
  /** The output tensor. */
  out: Tensor;
  /** Caches owned by the node (freed once backward ran), e.g. layernorm's mean and rstd. */
  saved?: readonly Tensor[];
}

/** What an op's backward receives. */
export interface BackwardArgs<A> {
  /** Gradient buffers of the inputs, or null where an input needs no gradient. Add into them. */
  grads: readonly (Tensor | null)[];
  /** Gradient of the output. */
  dout: Tensor;
  /** The forward inputs. */
  inputs: readonly Tensor[];
  /** The forward output. */
  out: Tensor;
  /** The caches returned by forward. */
  saved: readonly Tensor[];
  /** The op's attributes. */
  attrs: A;
}

/** Definition of a differentiable op with attributes `A`. */
export interface OpDef<A> {
  /** Name used in errors and the registry. */
  readonly name: string;
  /** Computes the output from the inputs. */
  forward(inputs: readonly Tensor[], attrs: A): ForwardResult;
  /** Adds the input gradients (`+=`): never overwrite, gradients accumulate. */
  backward(args: BackwardArgs<A>): void;
}

let gradEnabled = true;

/** Whether ops currently record the graph. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs `fn` without recording the graph (evaluation, optimiser updates).
 *
 * @example
 * ```ts
 * import { noGrad, tensor, mul } from "@metatokens/tensor";
 * const w = tensor([2], [1], { requiresGrad: true });
 * const y = noGrad(() => mul(w, w));
 * console.log(y.requiresGrad); // false
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** The gradient buffer of `t`, allocated (zeroed, outside any scope) on first use. */
export function gradOf(t: Tensor): Tensor {
  t.grad ??= untracked(t.backend, t.shape);
  return t.grad;
}

class Node<A> implements TapeNode {
  constructor(
    readonly def: OpDef<A>,
    readonly inputs: readonly Tensor[],
    readonly out: Tensor,
    public saved: readonly Tensor[],
    readonly attrs: A,
  ) {}

  backward(): void {
    const dout = this.out.grad;
    if (dout === null) return;
    const grads = this.inputs.map((t) => (t.requiresGrad ? gradOf(t) : null));
    this.def.backward({
      grads,
      dout,
      inputs: this.inputs,
      out: this.out,
      saved: this.saved,
      attrs: this.attrs,
    });
  }

  release(): void {
    for (const t of this.saved) t.dispose();
    this.saved = [];
  }
}

/**
 * Runs `def` on `inputs` and records a node when gradients are needed.
 * Every input must live on the same backend.
 */
export function apply<A>(def: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  const backend = inputs[0].backend;
  for (const t of inputs) {
    if (t.backend !== backend) {
      throw new Error(
        `Cannot ${def.name} tensors on backends "${backend.name}" and "${t.backend.name}": move them to one backend`,
      );
    }
    if (t.disposed) {
      throw new Error(`Cannot ${def.name} a disposed tensor of shape ${formatShape(t.shape)}`);
    }
  }
  const { out, saved = [] } = def.forward(inputs, attrs);
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = new Node(def, inputs, out, saved, attrs);
  } else {
    for (const t of saved) t.dispose();
  }
  return out;
}

/**
 * Back-propagates from `loss`: adds d loss / d t into `t.grad` of every tensor
 * with `requiresGrad` that `loss` depends on, then frees the graph and the
 * gradients of intermediate tensors. `loss` must hold one element unless
 * `dout` (its gradient) is given.
 *
 * @example
 * ```ts
 * import { backward, mul, sum, tensor } from "@metatokens/tensor";
 * const w = tensor([3], [1], { requiresGrad: true });
 * backward(sum(mul(w, w)));
 * console.log(w.grad!.dataSync()); // Float32Array [6]
 * ```
 */
export function backward(loss: Tensor, dout?: Tensor): void {
  if (released.has(loss)) {
    throw new Error(
      `Cannot run backward twice from a tensor of shape ${formatShape(loss.shape)}: ` +
        `the first backward freed its graph; recompute the forward pass`,
    );
  }
  if (!loss.requiresGrad) {
    throw new Error(
      `Cannot run backward from a tensor of shape ${formatShape(loss.shape)} that does not require grad: ` +
        `create the parameters with { requiresGrad: true } and compute it outside noGrad()`,
    );
  }
  if (dout === undefined && loss.size !== 1) {
    throw new Error(
      `Cannot run backward from a tensor of shape ${formatShape(loss.shape)}: ` +
        `expected one element, or pass its gradient`,
    );
  }
  if (dout !== undefined && dout.size !== loss.size) {
    throw new Error(
      `Cannot run backward with a gradient of shape ${formatShape(dout.shape)} for a tensor of shape ${
        formatShape(loss.shape)
      }`,
    );
  }
  // Reverse topological order by an iterative depth-first post-order walk.
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[loss, false]];
  while (stack.length > 0) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    const node = t.node as Node<unknown> | null;
    if (node) { for (const input of node.inputs) if (!seen.has(input)) stack.push([input, false]); }
  }
  const seed = gradOf(loss);
  if (dout === undefined) {
    const one = untracked(loss.backend, [1]);
    loss.backend.kernels.fill(one.storage, 1, 1);
    loss.backend.kernels.axpy(seed.storage, one.storage, 1, 1);
    one.dispose();
  } else {
    loss.backend.kernels.axpy(seed.storage, dout.storage, 1, loss.size);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    if (!t.node) continue;
    t.node.backward();
    // Every consumer of t ran before it (reverse topological order): its gradient and the
    // node's caches are no longer needed, so free them now rather than at the end.
    t.node.release();
    t.node = null;
    t.grad?.dispose();
    t.grad = null;
    released.add(t);
  }
}

/** Outputs whose graph a backward already freed (a second backward through them is an error). */
const released = new WeakSet<Tensor>();
