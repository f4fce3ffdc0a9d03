// Test helper: the smallest models the task tokenizer can drive (the real GPT-2 vocabulary), and
// the live bytes of the wasm allocator that every lifetime test compares.
import { type Backend, backward, defaultBackend, Rng, scope } from "@metatokens/tensor";
import { Gpt, type GptConfig, gptConfig, type PosEncoding } from "@metatokens/model";

/** The backend of the tests: the default one, which must be `wasm` to count live bytes. */
export function testBackend(): Backend {
  const backend = defaultBackend();
  if (!backend.wasm) throw new Error(`Cannot count live bytes on backend "${backend.name}": expected wasm`);
  return backend;
}

/** Bytes the wasm allocator has handed out and not yet taken back. */
export function liveBytes(backend: Backend): number {
  return backend.wasm!.bytesInUse();
}

/** One layer, width 16, two heads, the real vocabulary. */
export function tinyConfig(
  options: { pos?: PosEncoding; meta?: boolean; blockSize?: number } = {},
): GptConfig {
  return gptConfig({
    nLayer: 1,
    nHead: 2,
    nEmbd: 16,
    blockSize: options.blockSize ?? 256,
    posEncoding: options.pos ?? "ape",
    metaAttention: options.meta ?? true,
  }, "tiny");
}

/** A freshly initialised tiny model. */
export function tinyModel(
  options: { pos?: PosEncoding; meta?: boolean; blockSize?: number; seed?: number } = {},
): Gpt {
  return new Gpt(tinyConfig(options), new Rng(options.seed ?? 0), testBackend());
}

/**
 * Grows the backend's attention workspaces (one per backend, kept for reuse: a cache, not a leak)
 * to `t` tokens by a forward and backward pass of a throwaway model, so that live bytes measured
 * afterwards count only what a stage leaks.
 */
export function warmAttention(backend: Backend, t = 512): void {
  using model = new Gpt(tinyConfig({ pos: "rope", blockSize: t }), new Rng(0), backend);
  const x = Int32Array.from({ length: t }, (_, i) => (i % 7 === 3 ? model.config.metaTokenId : i % 50));
  scope(() => backward(model.forward({ b: 1, t, x, y: x.map((v) => (v + 1) % 50) }).loss!));
}
