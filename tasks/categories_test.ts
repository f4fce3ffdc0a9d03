import assert from "node:assert/strict";
import { encode } from "@metatokens/data";
import { CATEGORIES, category } from "./categories.ts";

Deno.test("20 categories × 10 distinct single-word items, no word in two categories", () => {
  assert.equal(CATEGORIES.length, 20);
  assert.equal(new Set(CATEGORIES.map((c) => c.name)).size, 20);
  const all = CATEGORIES.flatMap((c) => c.items);
  assert.equal(all.length, 200);
  assert.equal(new Set(all).size, 200);
  for (const c of CATEGORIES) {
    assert.equal(c.items.length, 10, c.name);
    assert.match(c.name, /^[A-Z][a-z]+$/);
    for (const item of c.items) assert.match(item, /^[A-Za-z]+$/, item);
  }
  assert.ok(!all.some((w) => CATEGORIES.some((c) => c.name === w)), "an item is also a category name");
});

Deno.test("items are one or two GPT-2 tokens after a space; headers at most three", () => {
  for (const c of CATEGORIES) {
    assert.ok(encode(` ${c.name}:`).length <= 3, c.name);
    for (const item of c.items) assert.ok(encode(` ${item}`).length <= 2, `${item}: ${encode(` ${item}`)}`);
  }
  const single = CATEGORIES.flatMap((c) => c.items).filter((w) => encode(` ${w}`).length === 1).length;
  assert.ok(single >= 150, `only ${single} single-token items`);
});

Deno.test("category() finds by name; an unknown name lists the choices", () => {
  assert.equal(category("Gems").items[0], "diamond");
  assert.throws(() => category("Planets"), /Unknown category "Planets": expected one of Fruits, Colors/);
});
