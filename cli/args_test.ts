import assert from "node:assert/strict";
import { applyOverrides, coerce, readConfigFile, splitArgs } from "./args.ts";

Deno.test("arguments split into --key=value, --key value, bare flags and --no-flags", () => {
  assert.deepEqual(splitArgs(["--a=1", "--b", "two", "--c", "--no-d", "--e"]), {
    options: { a: "1", b: "two", c: true, d: "false", e: true },
    positionals: [],
  });
});

Deno.test("overrides keep the defaults' types and reject unknown keys by name", () => {
  const defaults = { steps: 10, meta: true, pos: "ape", yarn: null, lr: 1e-3 };
  assert.deepEqual(applyOverrides(defaults, { steps: "20", meta: "false", "lr": "3e-4" }), {
    ...defaults,
    steps: 20,
    meta: false,
    lr: 3e-4,
  });
  assert.deepEqual(applyOverrides(defaults, { yarn: '{"scale":2,"originalContext":256}' }).yarn, {
    scale: 2,
    originalContext: 256,
  });
  assert.throws(
    () => applyOverrides(defaults, { stpes: "3" }),
    /Cannot use unknown option "stpes" from the command line/,
  );
  assert.throws(
    () => applyOverrides(defaults, { steps: "many" }),
    /Cannot set steps to "many": expected a number/,
  );
  assert.throws(
    () => applyOverrides(defaults, { meta: "yes" }),
    /Cannot set meta to "yes": expected true or false/,
  );
  assert.throws(() => coerce("yarn", "{", null), /expected JSON/);
});

Deno.test("a YAML config file is a mapping of the same keys", async () => {
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(path, "steps: 7\nmeta: false\n");
  assert.deepEqual(applyOverrides({ steps: 1, meta: true }, await readConfigFile(path), "file"), {
    steps: 7,
    meta: false,
  });
  await Deno.writeTextFile(path, "- 1\n- 2\n");
  await assert.rejects(() => readConfigFile(path), /expected a mapping/);
  await assert.rejects(() => readConfigFile(`${path}.missing`), /Cannot read config file/);
  await Deno.remove(path);
});
