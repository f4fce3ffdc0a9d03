import assert from "node:assert/strict";
import { type CommandSpec, helpText, kebab, nearest, parseOptions, parseValue } from "./args.ts";

const DEMO: CommandSpec = {
  name: "demo",
  summary: "a demo command",
  config: true,
  options: {
    steps: { type: "integer", default: 10, min: 1, doc: "optimizer steps" },
    lr: { type: "number", default: 1e-3, above: 0, doc: "learning rate" },
    meta: { type: "boolean", default: true, doc: "meta-attention" },
    pos: { type: "string", default: "ape", choices: ["ape", "rope", "none"], doc: "positions" },
    yarn: { type: "json", default: null, doc: "YaRN" },
    phases: { type: "integers", default: [1], min: 1, max: 5, doc: "phases" },
    prompt: { type: "string", multiple: true, doc: "a prompt" },
    checkpoint: { type: "string", required: true, placeholder: "DIR", doc: "a checkpoint folder" },
    topK: { type: "integer", min: 1, doc: "top-k" },
  },
};

const parse = (...args: string[]) => parseOptions(DEMO, ["--checkpoint", "c", ...args]);

Deno.test("options: --key value, --key=value, flags, --no-flags and camelCase aliases, typed", async () => {
  const { values, given } = await parse(
    "--steps=5",
    "--lr",
    "3e-4",
    "--no-meta",
    "--pos",
    "rope",
    "--yarn",
    '{"scale":2}',
    "--phases",
    "1,3",
    "--topK",
    "40",
  );
  assert.deepEqual(values, {
    checkpoint: "c",
    steps: 5,
    lr: 3e-4,
    meta: false,
    pos: "rope",
    yarn: { scale: 2 },
    phases: [1, 3],
    topK: 40,
  });
  assert.deepEqual([...given].sort(), ["checkpoint", "lr", "meta", "phases", "pos", "steps", "topK", "yarn"]);
  assert.equal((await parse("--meta", "false")).values.meta, false);
  assert.equal((await parse("--meta=false")).values.meta, false);
  assert.equal((await parse("--meta")).values.meta, true);
  // Absent without a default stays absent; a repeatable option collects its values.
  assert.equal(Object.hasOwn((await parse()).values, "topK"), false);
  assert.deepEqual((await parse("--prompt", "a", "--prompt", "b")).values.prompt, ["a", "b"]);
});

Deno.test("options: every value is range- and type-checked, quoting it", async () => {
  const cases: [string[], RegExp][] = [
    [["--steps", "1.5"], /Cannot use --steps "1\.5": expected an integer ≥ 1/],
    [["--steps", "0"], /Cannot use --steps "0": expected an integer ≥ 1/],
    [["--lr", "-1"], /Cannot use --lr "-1": expected a number > 0$/],
    [["--pos", "alibi"], /Cannot use --pos "alibi": expected one of ape, rope, none/],
    [["--phases", "1,7"], /Cannot use --phases "1,7": expected integers .*each 1…5/],
    [["--phases", "x"], /Cannot use --phases "x"/],
    [["--meta", "yes"], /Cannot use argument "yes"/],
    [["--meta=yes"], /Cannot use --meta "yes": expected true or false/],
    [["--yarn", "{"], /Cannot use --yarn "\{": expected JSON/],
    [["--top-k", "0"], /Cannot use --top-k "0": expected an integer ≥ 1/],
    [["--steps"], /Cannot use --steps without a value/],
    [["--steps", "2", "--steps", "3"], /Cannot use --steps twice/],
    [["positional"], /Cannot use argument "positional": options start with --/],
  ];
  for (const [args, message] of cases) await assert.rejects(() => parse(...args), message, args.join(" "));
  await assert.rejects(() => parseOptions(DEMO, []), /Cannot run demo without --checkpoint DIR/);
});

Deno.test("options: names are own properties only — toString and constructor are unknown", async () => {
  for (const name of ["constructor", "to-string", "toString", "__proto__", "has-own-property"]) {
    await assert.rejects(() => parse(`--${name}`, "1"), /Cannot use unknown option/, name);
  }
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(path, "constructor: 1\n");
  await assert.rejects(() => parse("--config", path), /unknown option "--constructor" from config file/);
  await Deno.remove(path);
});

Deno.test("options: near misses suggest the nearest name", async () => {
  await assert.rejects(() => parse("--stpes", "3"), /unknown option "--stpes" .*did you mean --steps\?/);
  await assert.rejects(() => parse("--max-lenght", "3"), /unknown option "--max-lenght"/);
  assert.equal(nearest("stpes", ["steps", "seed"]), "steps");
  assert.equal(nearest("checkpoint-evry", ["checkpoint-every", "checkpoint"]), "checkpoint-every");
  assert.equal(nearest("zzzzzz", ["steps"]), undefined);
  assert.equal(kebab("maxNewTokens"), "max-new-tokens");
});

Deno.test("options: a YAML --config file under the command line, either spelling, its errors naming it", async () => {
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(path, "steps: 7\nmeta: false\ntop-k: 5\nphases: [2, 3]\nyarn: { scale: 2 }\n");
  const { values, configFile } = await parse("--config", path, "--steps", "9");
  assert.equal(configFile, path);
  assert.deepEqual([values.steps, values.meta, values.topK, values.phases, values.yarn], [
    9,
    false,
    5,
    [2, 3],
    {
      scale: 2,
    },
  ]);
  await Deno.writeTextFile(path, "steps: 0\n");
  await assert.rejects(
    () => parse("--config", path),
    /--steps "0": expected an integer ≥ 1 \(in config file/,
  );
  await Deno.writeTextFile(path, "steps: [1\n");
  await assert.rejects(() => parse("--config", path), /Cannot parse config file ".*\.yaml" as YAML/);
  await Deno.writeTextFile(path, "- 1\n");
  await assert.rejects(() => parse("--config", path), /expected a mapping/);
  await assert.rejects(() => parse("--config", `${path}.missing`), /Cannot read config file/);
  await Deno.remove(path);
});

Deno.test("help lists every option with its type, default, range and doc, and parses", async () => {
  const text = helpText(DEMO);
  for (const [key, spec] of Object.entries(DEMO.options)) {
    const line = text.split("\n").find((l) => l.includes(`--${kebab(key)}`));
    assert.ok(line?.includes(spec.doc), `${key} in\n${text}`);
  }
  assert.match(text, /--steps INT +optimizer steps \(default 10; ≥ 1\)/);
  assert.match(text, /--pos ape\|rope\|none +positions \(default ape\)/);
  assert.match(text, /--meta, --no-meta +meta-attention \(default true\)/);
  assert.match(text, /--checkpoint DIR +a checkpoint folder \(required\)/);
  assert.match(text, /--config FILE\.yaml/);
  // --help needs no required option.
  assert.equal((await parseOptions(DEMO, ["--help"])).help, true);
  assert.equal((await parseOptions(DEMO, ["-h"])).help, true);
});

Deno.test("parseValue: numbers from YAML, lists, choices after normalising", () => {
  assert.equal(parseValue("n", { type: "integer", doc: "", min: 0 }, 3), 3);
  assert.deepEqual(parseValue("b", { type: "numbers", doc: "", above: 0 }, [0.1, 1]), [0.1, 1]);
  const task = {
    type: "string" as const,
    doc: "",
    choices: ["list-recall"],
    normalize: (s: string) => s.replace("_", "-"),
  };
  assert.equal(parseValue("task", task, "list_recall"), "list-recall");
  assert.throws(() => parseValue("n", { type: "integer", doc: "" }, "1e400"), /expected an integer/);
});
