import assert from "node:assert/strict";
import { importHfGpt2 } from "./hf_import.ts";
import { encodeSafetensors, type StateDict } from "./safetensors.ts";

const L = 2, C = 8, V = 11, T = 5;

/** A tiny GPT-2 in Hugging Face layout; tensor number k holds k * 10000 + flat index, all exact in f32. */
function hfTiny(prefix = ""): StateDict {
  const shapes: [string, number[]][] = [["wte.weight", [V, C]], ["wpe.weight", [T, C]]];
  for (let i = 0; i < L; i++) {
    shapes.push(
      [`h.${i}.ln_1.weight`, [C]],
      [`h.${i}.ln_1.bias`, [C]],
      [`h.${i}.attn.bias`, [1, 1, T, T]],
      [`h.${i}.attn.masked_bias`, []],
      [`h.${i}.attn.c_attn.weight`, [C, 3 * C]],
      [`h.${i}.attn.c_attn.bias`, [3 * C]],
      [`h.${i}.attn.c_proj.weight`, [C, C]],
      [`h.${i}.attn.c_proj.bias`, [C]],
      [`h.${i}.ln_2.weight`, [C]],
      [`h.${i}.ln_2.bias`, [C]],
      [`h.${i}.mlp.c_fc.weight`, [C, 4 * C]],
      [`h.${i}.mlp.c_fc.bias`, [4 * C]],
      [`h.${i}.mlp.c_proj.weight`, [4 * C, C]],
      [`h.${i}.mlp.c_proj.bias`, [C]],
    );
  }
  shapes.push(["ln_f.weight", [C]], ["ln_f.bias", [C]]);
  const out: StateDict = {};
  shapes.forEach(([name, shape], k) => {
    const n = shape.reduce((a, b) => a * b, 1);
    out[prefix + name] = { shape, data: Float32Array.from({ length: n }, (_, j) => k * 10000 + j) };
  });
  return out;
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

Deno.test("imports a tiny HF GPT-2 file: names, shapes, transposes element by element", () => {
  const hf = hfTiny();
  const { state, shape } = importHfGpt2(encodeSafetensors(hf));
  assert.deepEqual(shape, { nLayer: L, nEmbd: C, blockSize: T, vocabSize: V, sourceVocabSize: V });
  const expectedNames = ["transformer.wte.weight", "transformer.wpe.weight"];
  for (let i = 0; i < L; i++) {
    for (
      const s of [
        "ln_1.weight",
        "ln_1.bias",
        "attn.c_attn.weight",
        "attn.c_attn.bias",
        "attn.c_proj.weight",
        "attn.c_proj.bias",
        "ln_2.weight",
        "ln_2.bias",
        "mlp.c_fc.weight",
        "mlp.c_fc.bias",
        "mlp.c_proj.weight",
        "mlp.c_proj.bias",
      ]
    ) expectedNames.push(`transformer.h.${i}.${s}`);
  }
  expectedNames.push("transformer.ln_f.weight", "transformer.ln_f.bias");
  assert.deepEqual(Object.keys(state), expectedNames);
  assert.ok(!("lm_head.weight" in state));

  const linear: [string, number, number][] = [ // [suffix, in, out]
    ["attn.c_attn.weight", C, 3 * C],
    ["attn.c_proj.weight", C, C],
    ["mlp.c_fc.weight", C, 4 * C],
    ["mlp.c_proj.weight", 4 * C, C],
  ];
  for (let i = 0; i < L; i++) {
    for (const [suffix, inF, outF] of linear) {
      const src = hf[`h.${i}.${suffix}`], dst = state[`transformer.h.${i}.${suffix}`];
      assert.deepEqual(src.shape, [inF, outF]);
      assert.deepEqual(dst.shape, [outF, inF], suffix);
      for (let o = 0; o < outF; o++) {
        for (let k = 0; k < inF; k++) {
          assert.equal(dst.data[o * inF + k], src.data[k * outF + o], `${suffix}[${o}, ${k}]`);
        }
      }
    }
  }
  // Everything else is copied unchanged.
  for (
    const name of [
      "wte.weight",
      "wpe.weight",
      "h.1.ln_1.bias",
      "h.0.attn.c_attn.bias",
      "h.1.mlp.c_fc.bias",
      "ln_f.weight",
    ]
  ) {
    assert.deepEqual(state[`transformer.${name}`], hf[name], name);
  }
  // c_attn row r of the nanoGPT weight is output feature r: q for r < C, k for C ≤ r < 2C, v above.
  const attn = state["transformer.h.0.attn.c_attn.weight"];
  const base = hf["h.0.attn.c_attn.weight"].data[0];
  assert.equal(attn.data[C * C + 3], base + 3 * 3 * C + C); // k-row 0, input 3 = HF [3, C]
});

Deno.test('accepts the "transformer." prefix and lm_head.weight, pads the vocabulary with zero rows', () => {
  const hf = hfTiny("transformer.");
  hf["lm_head.weight"] = hf["transformer.wte.weight"];
  const plain = importHfGpt2(encodeSafetensors(hfTiny())).state;
  const { state, shape } = importHfGpt2(encodeSafetensors(hf), { padVocabTo: 16 });
  assert.deepEqual(shape, { nLayer: L, nEmbd: C, blockSize: T, vocabSize: 16, sourceVocabSize: V });
  const wte = state["transformer.wte.weight"];
  assert.deepEqual(wte.shape, [16, C]);
  assert.deepEqual(wte.data.subarray(0, V * C), plain["transformer.wte.weight"].data);
  assert.ok(wte.data.subarray(V * C).every((x) => x === 0));
  for (const name of Object.keys(plain)) {
    if (name !== "transformer.wte.weight") assert.deepEqual(state[name], plain[name], name);
  }
  assert.match(
    errorOf(() => importHfGpt2(encodeSafetensors(hfTiny()), { padVocabTo: 10 })),
    /padVocabTo 10 is smaller than the file's vocabulary of 11 tokens/,
  );
});

/** Encodes tensors as an F16 safetensors file; values must be small integers (exact in f16). */
function encodeF16(tensors: StateDict): Uint8Array {
  const header: Record<string, unknown> = {};
  const chunks: number[] = [];
  for (const [name, { shape, data }] of Object.entries(tensors)) {
    header[name] = {
      dtype: "F16",
      shape,
      data_offsets: [2 * chunks.length, 2 * (chunks.length + data.length)],
    };
    for (const x of data) {
      const e = x === 0 ? 0 : Math.floor(Math.log2(x));
      chunks.push(x === 0 ? 0 : ((e + 15) << 10) | ((x / 2 ** e - 1) * 1024));
    }
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + 2 * chunks.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  out.set(json, 8);
  chunks.forEach((h, i) => view.setUint16(8 + json.length + 2 * i, h, true));
  return out;
}

Deno.test("F16 files are converted to f32 and imported the same way", () => {
  const hf = hfTiny();
  for (const t of Object.values(hf)) t.data = t.data.map((x) => x % 7);
  const fromF16 = importHfGpt2(encodeF16(hf)).state;
  const fromF32 = importHfGpt2(encodeSafetensors(hf)).state;
  assert.deepEqual(fromF16, fromF32);
  assert.ok(fromF16["transformer.h.1.mlp.c_proj.weight"].data.some((x) => x === 6));
});

Deno.test("missing, unexpected and misshapen tensors are named", () => {
  const without = hfTiny();
  delete without["h.1.mlp.c_fc.weight"];
  delete without["ln_f.bias"];
  assert.equal(
    errorOf(() => importHfGpt2(encodeSafetensors(without), { source: "gpt2.safetensors" })),
    'Cannot import Hugging Face GPT-2 "gpt2.safetensors": missing 2 tensors: "h.1.mlp.c_fc.weight", "ln_f.bias"',
  );
  const noWpe = hfTiny();
  delete noWpe["wpe.weight"];
  assert.match(
    errorOf(() => importHfGpt2(encodeSafetensors(noWpe))),
    /missing "wpe.weight"; the file holds "h.0.attn.c_attn.bias", .* and 22 more$/,
  );
  assert.match(
    errorOf(() => importHfGpt2(encodeSafetensors({}))),
    /missing "wte.weight", "wpe.weight"; the file holds no tensors/,
  );
  const extra = hfTiny();
  extra["h.0.attn.rotary.weight"] = { shape: [1], data: new Float32Array(1) };
  assert.match(
    errorOf(() => importHfGpt2(encodeSafetensors(extra))),
    /unexpected tensors for GPT-2: "h.0.attn.rotary.weight"/,
  );
  const bad = hfTiny();
  // Stored as nn.Linear [3C, C] instead of Conv1D [C, 3C]: an already-converted file.
  bad["h.1.attn.c_attn.weight"] = { shape: [3 * C, C], data: bad["h.1.attn.c_attn.weight"].data };
  bad["ln_f.weight"] = { shape: [C + 1], data: new Float32Array(C + 1) };
  assert.match(
    errorOf(() => importHfGpt2(encodeSafetensors(bad))),
    /shapes do not match width 8 \(from wte.weight\): "h.1.attn.c_attn.weight" is \[24, 8\], expected \[8, 24\]; "ln_f.weight" is \[9\], expected \[8\]$/,
  );
  const badWpe = hfTiny();
  badWpe["wpe.weight"] = { shape: [T, C - 1], data: new Float32Array(T * (C - 1)) };
  assert.match(
    errorOf(() => importHfGpt2(encodeSafetensors(badWpe))),
    /"wpe.weight" has shape \[5, 7\], expected \[positions, 8\]/,
  );
  assert.match(
    errorOf(() => importHfGpt2(new Uint8Array(3), { source: "x" })),
    /^Cannot read safetensors "x"/,
  );
});
