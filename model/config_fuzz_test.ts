/**
 * Seeded fuzzing of checkpoint config loading (issue 14): complete configs,
 * edited at random, serialised as `config.json` text and read back with
 * {@linkcode checkpointConfig}. Every case must end in a config that satisfies
 * every bound or in a `TypeError` / `RangeError`, within a bounded time; a
 * config missing a key must never be accepted. Nothing is allocated.
 */

import assert from "node:assert/strict";
import { Rng } from "@metatokens/tensor/rng";
import { fuzzCases, reportFuzz, RssBound } from "../tensor/_testing/fuzz.ts";
import {
  checkpointConfig,
  CONFIG_LIMITS,
  type GptConfig,
  MAX_MODEL_BYTES,
  parameterBytes,
  PRESETS,
} from "./config.ts";

const CASES = fuzzCases(3000);
const MAX_CASE_MS = 50;
const KEYS = Object.keys(PRESETS.tiny) as (keyof GptConfig)[];

const VALUES: unknown[] = [
  0,
  1,
  -1,
  2,
  3,
  4,
  7,
  64,
  1.5,
  1e9,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  1e308,
  -0,
  "4",
  "",
  "toString",
  "rope",
  "none",
  "gelu",
  "relu",
  true,
  false,
  null,
  [],
  [4],
  {},
  { scale: 2, originalContext: 256 },
  { scale: 1e308, originalContext: 256 },
  { scale: 2 },
  { scale: 2, originalContext: 256, extra: 1 },
  { __proto__: { scale: 2, originalContext: 256 } },
];

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)];
}

/** A complete, small, valid config. */
function validConfig(rng: Rng): Record<string, unknown> {
  const nHead = pick(rng, [1, 2, 4]);
  const posEncoding = pick(rng, ["ape", "rope", "none"]);
  return {
    ...PRESETS[pick(rng, Object.keys(PRESETS))],
    nLayer: 1 + rng.int(4),
    nHead,
    nEmbd: nHead * 2 * (1 + rng.int(8)),
    blockSize: 8 << rng.int(4),
    vocabSize: 64 + rng.int(64),
    metaTokenId: 63,
    posEncoding,
    yarn: posEncoding === "rope" && rng.int(2) === 0 ? { scale: 2, originalContext: 8 } : null,
  };
}

/** Checks an accepted config against every documented bound. */
function checkAccepted(c: GptConfig): void {
  assert.deepEqual(Object.keys(c).sort(), [...KEYS].sort());
  for (const key of ["vocabSize", "blockSize", "nLayer", "nHead", "nEmbd"] as const) {
    assert.ok(Number.isInteger(c[key]) && c[key] >= 1 && c[key] <= CONFIG_LIMITS[key], key);
  }
  assert.equal(c.nEmbd % c.nHead, 0);
  assert.ok(Number.isFinite(c.ropeTheta) && c.ropeTheta > 1);
  assert.ok(c.dropout >= 0 && c.dropout < 1);
  assert.ok(Number.isInteger(c.metaTokenId) && c.metaTokenId >= 0 && c.metaTokenId < c.vocabSize);
  assert.ok(["ape", "rope", "none"].includes(c.posEncoding) && ["gelu", "relu"].includes(c.activation));
  assert.ok(typeof c.bias === "boolean" && typeof c.metaAttention === "boolean");
  if (c.yarn !== null) {
    assert.equal(c.posEncoding, "rope");
    assert.ok(c.yarn.scale >= 1 && c.yarn.scale <= CONFIG_LIMITS.yarnScale);
    assert.ok(Number.isInteger(c.yarn.originalContext) && c.yarn.originalContext >= 1);
  }
  assert.ok(parameterBytes(c) <= MAX_MODEL_BYTES);
}

Deno.test(`config fuzz: ${CASES} seeded config.json files end in a valid config or a typed error, quickly`, () => {
  const rng = new Rng(1414);
  let accepted = 0, missing = 0, refused = 0, maxMs = 0, maxRssGrowth = 0;
  const memory = new RssBound();
  for (let i = 0; i < CASES; i++) {
    const config = validConfig(rng);
    const set = (key: string, value: unknown): void => {
      Object.defineProperty(config, key, { value, enumerable: true, writable: true, configurable: true });
    };
    for (let edits = rng.int(4); edits > 0; edits--) {
      const what = rng.int(4);
      if (what === 0) {
        delete config[pick(rng, KEYS)];
      } else if (what === 1) {
        set(pick(rng, [...KEYS, "toString", "__proto__", "constructor", "nLayers"]), pick(rng, VALUES));
      } else if (what === 2) {
        set(pick(rng, ["nLayer", "nEmbd", "vocabSize", "blockSize"]), 2 ** rng.int(40));
      } else {
        set(pick(rng, KEYS), JSON.parse(pick(rng, ["1e999", "-1e999", "[[[[[[[[[[]]]]]]]]]]", '"\\u0000"'])));
      }
    }
    const mustFail = KEYS.some((key) => !Object.hasOwn(config, key));
    let text = JSON.stringify(config);
    if (rng.int(10) === 0) text = text.replace(/"(\w+)":/, (_, key) => `"${key}":${rng.int(9)},"${key}":`);
    const label = `case ${i}: ${text.slice(0, 300)}`;
    const start = performance.now();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      refused++;
      continue;
    }
    try {
      checkAccepted(checkpointConfig(parsed, "fuzz/config.json"));
      accepted++;
      assert.ok(!mustFail, `${label}: accepted a config without a key`);
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      assert.ok(e instanceof TypeError || e instanceof RangeError, `${label}: ${e}`);
      assert.ok(e.message.length < 1000, `${label}: a ${e.message.length}-character message`);
      if (mustFail) missing++;
      refused++;
    }
    const ms = performance.now() - start;
    maxMs = Math.max(maxMs, ms);
    assert.ok(ms < MAX_CASE_MS, `${label}: slow`);
    maxRssGrowth = memory.check(label.slice(0, 80));
  }
  reportFuzz("config.json", { cases: CASES, accepted, refused, invalid: missing, maxMs, maxRssGrowth });
  assert.ok(
    accepted > CASES / 10 && missing > CASES / 10,
    `accepted ${accepted}, missing-key refusals ${missing}`,
  );
});
