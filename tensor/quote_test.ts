import assert from "node:assert/strict";
import { preview, quote, QUOTE_CHARS } from "./quote.ts";

Deno.test("quote keeps short text whole and escapes it as a JSON string", () => {
  assert.equal(quote('a "b"\n'), '"a \\"b\\"\\n"');
  assert.equal(quote(""), '""');
});

Deno.test("quote cuts long text to max characters and names the full length", () => {
  const q = quote("y".repeat(5_000_000));
  assert.equal(q, `"${"y".repeat(QUOTE_CHARS)}"… (5000000 characters)`);
  assert.equal(quote("abcdef", 2), '"ab"… (6 characters)');
});

Deno.test("quote never cuts inside a surrogate pair", () => {
  assert.equal(quote("a😀b", 2), '"a"… (4 characters)');
});

Deno.test("preview prints JSON values like JSON.stringify while short", () => {
  for (const v of [null, 1.5, true, "s", [1, [2]], { a: { b: "c" }, d: [] }]) {
    assert.equal(preview(v), JSON.stringify(v));
  }
  assert.equal(preview(undefined), "undefined");
  assert.equal(preview([NaN, -Infinity]), "[NaN,-Infinity]");
});

Deno.test("preview of a huge or deeply nested value is bounded in length and time", () => {
  const deep = JSON.parse("[".repeat(1_000_000) + "]".repeat(1_000_000));
  const wide: Record<string, string> = {};
  for (let i = 0; i < 100_000; i++) wide[`k${i}`] = "v".repeat(100);
  const start = performance.now();
  assert.equal(preview(deep), "[".repeat(QUOTE_CHARS) + "…");
  const p = preview(wide, 50);
  assert.equal(p.length, 51);
  assert.ok(p.startsWith('{"k0":"vvv') && p.endsWith("…"));
  assert.ok(preview("z".repeat(10_000_000)).length <= QUOTE_CHARS + 1);
  assert.ok(performance.now() - start < 200);
});
