import assert from "node:assert/strict";
import {
  checkpointConfig,
  CONFIG_LIMITS,
  type GptConfig,
  gptConfig,
  MAX_MODEL_BYTES,
  parameterBytes,
  PRESETS,
} from "./config.ts";
import { parameterSpecs } from "./gpt.ts";

const count = (preset: string): number =>
  parameterSpecs(gptConfig({}, preset)).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);

Deno.test("parameter counts: gpt2 124,475,904 and meta-gpt2 152,842,752 (the paper's 152M)", () => {
  assert.equal(count("gpt2"), 124_475_904);
  assert.equal(count("meta-gpt2"), 152_842_752);
  // meta adds, per layer, c_attn + c_proj + ln_meta.
  assert.equal(count("meta-gpt2") - count("gpt2"), 12 * (768 * 2304 + 2304 + 768 * 768 + 768 + 2 * 768));
  // RoPE drops the 1024 × 768 position table.
  assert.equal(count("meta-gpt2-rope"), 152_842_752 - 1024 * 768);
});

Deno.test("presets have the documented shapes", () => {
  assert.deepEqual(
    [
      PRESETS.tiny.nLayer,
      PRESETS.tiny.nHead,
      PRESETS.tiny.nEmbd,
      PRESETS.tiny.blockSize,
      PRESETS.tiny.vocabSize,
    ],
    [4, 4, 256, 256, 50304],
  );
  assert.equal(PRESETS.gpt2.metaAttention, false);
  assert.equal(PRESETS["meta-gpt2-rope"].posEncoding, "rope");
});

Deno.test("config errors name the key, the value and what was expected", () => {
  assert.throws(() => gptConfig({ nLayers: 2 }), /unknown model config key "nLayers"/);
  assert.throws(
    () => gptConfig({ nLayer: "4" }),
    /nLayer = "4" in a model config: expected an integer in \[1, 1024\]/,
  );
  assert.throws(() => gptConfig({ posEncoding: "alibi" }), /posEncoding = "alibi"/);
  assert.throws(() => gptConfig({ nHead: 3 }), /Cannot split nEmbd 256 into nHead 3 heads/);
  assert.throws(() => gptConfig({}, "gpt3"), /Cannot find model preset "gpt3"/);
  assert.throws(() => gptConfig({ dropout: 1 }), /dropout = 1/);
  assert.throws(() => gptConfig({ yarn: { scale: 2, originalContext: 256 } }), /yarn/);
  assert.throws(() => gptConfig({ posEncoding: "rope", nEmbd: 12, nHead: 4 }), /RoPE with head size 3/);
});

Deno.test("parameterBytes is 4 × the sum of parameterSpecs for every preset and variant", () => {
  for (const preset of Object.keys(PRESETS)) {
    for (const bias of [true, false]) {
      for (const posEncoding of ["ape", "rope", "none"]) {
        const config = gptConfig({ bias, posEncoding, nLayer: 2, nEmbd: 64, nHead: 4 }, preset);
        const sum = parameterSpecs(config).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
        assert.equal(parameterBytes(config), 4 * sum, `${preset} ${bias} ${posEncoding}`);
      }
    }
  }
});

const tiny = (): Record<string, unknown> => JSON.parse(JSON.stringify(PRESETS.tiny));

Deno.test("issue 14: a huge config is refused with a message before anything is allocated", () => {
  const start = performance.now();
  assert.throws(() => checkpointConfig({ ...tiny(), nLayer: 1_000_000_000 }, "c.json"), {
    name: "TypeError",
    message: 'Cannot use nLayer = 1000000000 in model config "c.json": expected an integer in [1, 1024]',
  });
  for (const key of ["vocabSize", "blockSize", "nLayer", "nHead", "nEmbd"] as const) {
    for (const value of [2 ** 31, 2 ** 53, 0, -1, 1.5, NaN, Infinity, "8", null]) {
      assert.throws(() => checkpointConfig({ ...tiny(), [key]: value }), TypeError, `${key} ${value}`);
    }
    assert.throws(() => gptConfig({ [key]: CONFIG_LIMITS[key] + 1 }), new RegExp(`${key} = `));
  }
  // Every size within its own bound, the whole too big: refused by the byte size.
  assert.throws(() => gptConfig({ nLayer: 1024, nEmbd: 4096, nHead: 32 }), {
    name: "RangeError",
    message: new RegExp(`over the limit of 4\\.00 GiB \\(nLayer 1024, nEmbd 4096`),
  });
  assert.equal(MAX_MODEL_BYTES, 2 ** 32);
  assert.ok(performance.now() - start < 100);
});

Deno.test("issue 14: ropeTheta must be finite, yarn exactly { scale, originalContext } with bounded values", () => {
  assert.throws(() => checkpointConfig({ ...tiny(), ropeTheta: 1e999 }), /ropeTheta = Infinity/); // JSON.parse("1e999") is Infinity too
  assert.throws(
    () => gptConfig({ ropeTheta: Infinity }),
    /ropeTheta = Infinity .*: expected a finite number > 1/,
  );
  assert.throws(() => gptConfig({ ropeTheta: 0.5 }), /ropeTheta = 0\.5/);
  const rope = { posEncoding: "rope" };
  assert.throws(() => gptConfig({ ...rope, yarn: { scale: Infinity, originalContext: 256 } }), /yarn\.scale/);
  assert.throws(() => gptConfig({ ...rope, yarn: { scale: 2 } }), /yarn\.originalContext = undefined/);
  assert.throws(
    () => gptConfig({ ...rope, yarn: { scale: 2, originalContext: 256, x: 1 } }),
    /exactly the keys/,
  );
  assert.throws(() => gptConfig({ ...rope, yarn: [2, 256] }), /yarn = \[2,256\]/);
  assert.deepEqual(gptConfig({ ...rope, yarn: { scale: 2, originalContext: 256 } }).yarn, {
    scale: 2,
    originalContext: 256,
  });
});

Deno.test("issue 14: a checkpoint's config must name every key; nothing is filled from a preset", () => {
  const { nHead: _, ...noHeads } = { ...tiny(), nHead: 2 };
  assert.throws(() => checkpointConfig(noHeads, "run/checkpoint/config.json"), {
    name: "TypeError",
    message: /^Cannot use model config "run\/checkpoint\/config\.json": it has no "nHead"; /,
  });
  assert.throws(() => checkpointConfig([1]), /it holds \[1\], expected a JSON object/);
  assert.throws(() => checkpointConfig({ ...tiny(), extra: 1 }), /unknown model config key "extra"/);
  // Inherited keys do not count: only own properties.
  assert.throws(() => checkpointConfig(Object.create(tiny())), /it has no "vocabSize"/);
  const back: GptConfig = checkpointConfig({ ...tiny(), nHead: 2 });
  assert.deepEqual(back, { ...PRESETS.tiny, nHead: 2 });
  assert.throws(() => checkpointConfig({ ...tiny(), nHead: 3 }), RangeError);
});

Deno.test("config messages quote at most about 200 characters of the value", () => {
  const long = "x".repeat(1_000_000);
  for (const bad of [{ posEncoding: long }, { [long]: 1 }, { activation: [[[[long]]]] }]) {
    try {
      checkpointConfig({ ...tiny(), ...bad });
      assert.fail("accepted");
    } catch (e) {
      assert.ok(e instanceof TypeError);
      assert.ok(e.message.length < 500, e.message.slice(0, 100));
    }
  }
});
