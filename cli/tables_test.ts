import assert from "node:assert/strict";
import { PRESETS } from "@metatokens/model";
import { pretrainDefaults } from "@metatokens/experiments";
import { helpText, kebab, parseOptions } from "./args.ts";
import { COMMAND_SPECS, pretrainOptions } from "./tables.ts";

Deno.test("pretrain's table has a typed, documented row for every setting of every preset", () => {
  for (const preset of Object.keys(PRESETS)) {
    const table = pretrainOptions(preset);
    const defaults = pretrainDefaults(preset) as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(defaults)) {
      assert.ok(Object.hasOwn(table, key), `${preset}: no option for setting ${key}`);
      assert.deepEqual(table[key].default, value, `${preset}: ${key}`);
      assert.ok(table[key].doc.length > 3, key);
    }
  }
});

Deno.test("every command's help lists each option with its default, and each default passes its own checks", async () => {
  for (const command of COMMAND_SPECS) {
    const text = helpText(command);
    for (const [key, spec] of Object.entries(command.options)) {
      const line = text.split("\n").findIndex((l) => new RegExp(`^  --${kebab(key)}([ ,]|$)`).test(l));
      assert.ok(line >= 0, `${command.name} --${kebab(key)}`);
      const doc = text.split("\n").slice(line, line + 2).join(" ");
      assert.ok(doc.includes(spec.doc), `${command.name} --${kebab(key)}: ${doc}`);
      if (spec.default !== undefined && spec.type !== "json") {
        const shown = Array.isArray(spec.default) ? spec.default.join(",") : String(spec.default);
        assert.ok(doc.includes(`default ${shown === "" ? '""' : shown}`), `${command.name} ${key}: ${doc}`);
      }
    }
    // The defaults fed back as values are valid (so the tables cannot contradict themselves).
    const args = Object.entries(command.options).flatMap(([key, spec]) =>
      spec.default === undefined || spec.default === "" || spec.type === "json" || spec.multiple
        ? (spec.required
          ? [`--${kebab(key)}`, spec.choices?.[0] ?? (spec.type === "string" ? "x" : "2")]
          : [])
        : [`--${kebab(key)}=${Array.isArray(spec.default) ? spec.default.join(",") : spec.default}`]
    );
    await parseOptions(command, args);
  }
});
