// Test helper: a seeded batch source of random windows over a fixed token stream.
import { Rng } from "@metatokens/tensor";
import type { Batch } from "../gpt.ts";
import type { BatchSource } from "../train.ts";

/** 2 × 16 windows of ids 0–59 with the meta id 63 in every 5th slot (targets −1 before it). */
export class WindowSource implements BatchSource {
  #rng = new Rng(7);
  next(): Batch {
    const b = 2, t = 16;
    const x = new Int32Array(b * t), y = new Int32Array(b * t);
    for (let r = 0; r < b; r++) {
      const start = this.#rng.int(60);
      for (let i = 0; i < t; i++) x[r * t + i] = i % 5 === 4 ? 63 : (start + i) % 60;
    }
    for (let i = 0; i < b * t; i++) y[i] = (i + 1) % t === 0 || x[i + 1] === 63 ? -1 : x[i + 1];
    return { b, t, x, y };
  }
  state(): unknown {
    return this.#rng.state();
  }
  restore(state: unknown): void {
    this.#rng.restore(state as { seed: number; counter: number });
  }
}
