import assert from "node:assert/strict";
import { encode } from "@metatokens/data/tokenizer";
import { category } from "./categories.ts";
import type { ListRecallExample } from "./example.ts";
import { formatListRecall, generateListRecall } from "./list_recall.ts";
import { Rng } from "@metatokens/tensor/rng";
import { parseListRecall } from "./_testing/parse.ts";
import { APPENDIX_H, PHASE_NUMBERS, samples } from "./_testing/samples.ts";

Deno.test("formatListRecall reproduces the Appendix H prompt exactly; the parser recovers its answer", () => {
  const lists = [
    { category: "Fruits", items: ["orange", "peach", "banana", "plum"] },
    { category: "Tools", items: ["hammer", "wrench", "level", "pliers"] },
    { category: "Sports", items: ["boxing", "baseball", "boxing", "golf"] },
    { category: "Spices", items: ["turmeric", "cardamom", "cumin", "cinnamon"] },
    { category: "Animals", items: ["cat", "tiger", "wolf", "fox"] },
    { category: "Professions", items: ["teacher", "nurse", "lawyer", "architect"] },
    { category: "Vegetables", items: ["onion", "cucumber", "broccoli", "cucumber"] },
    { category: "Instruments", items: ["piano", "clarinet", "violin", "piano"] },
    { category: "Professions", items: ["teacher", "nurse", "lawyer", "architect"] },
  ];
  assert.equal(formatListRecall(lists, 8, 3), APPENDIX_H.listRecall.prompt);
  assert.equal(parseListRecall(APPENDIX_H.listRecall.prompt).answer, APPENDIX_H.listRecall.completion);
});

Deno.test("every phase: prompt parsed back, answer recomputed, metadata agrees", () => {
  for (const phase of PHASE_NUMBERS) {
    for (const ex of samples("list-recall", phase) as ListRecallExample[]) {
      const parsed = parseListRecall(ex.prompt);
      assert.equal(parsed.answer, ex.answer);
      assert.equal(parsed.j, ex.j);
      assert.equal(parsed.target, ex.target);
      assert.deepEqual(parsed.lists.map((l) => ({ category: l.category, items: l.items })), ex.lists);
      assert.equal(ex.phase, phase);
      assert.equal(ex.promptTokens, encode(ex.prompt).length);
      // m distinct categories, n items each from the category's inventory.
      assert.equal(new Set(ex.lists.map((l) => l.category)).size, ex.lists.length);
      const n = ex.lists[0].items.length;
      for (const l of ex.lists) {
        assert.equal(l.items.length, n);
        for (const item of l.items) {
          assert.ok(category(l.category).items.includes(item), `${item} in ${l.category}`);
        }
      }
    }
  }
});

Deno.test("no leak: the question names the category and j but never the answer; one pause in the lists", () => {
  for (const phase of PHASE_NUMBERS) {
    for (const ex of samples("list-recall", phase)) {
      const question = ex.prompt.slice(ex.prompt.lastIndexOf(" Q: "));
      assert.ok(!question.split(/\W+/).includes(ex.answer), question);
      assert.equal(ex.prompt.split("_PAUSE_").length, 3);
      assert.ok(!/\d/.test(ex.prompt.slice(0, ex.prompt.lastIndexOf(" Q: "))), "digits in the lists");
    }
  }
});

Deno.test("j covers 1 … n and the target every list position", () => {
  const rng = new Rng(5);
  const js = new Set<number>(), first = new Set<boolean>(), last = new Set<boolean>();
  for (let i = 0; i < 300; i++) {
    const ex = generateListRecall(rng, 1);
    js.add(ex.j === ex.lists[0].items.length ? -1 : ex.j);
    first.add(ex.target === 0);
    last.add(ex.target === ex.lists.length - 1);
  }
  assert.ok(js.has(1) && js.has(-1), `j values ${[...js]}`);
  assert.deepEqual([first.size, last.size], [2, 2]);
});

Deno.test("same seed ⇒ same examples", () => {
  assert.deepEqual(
    generateListRecall(new Rng(9), 2),
    generateListRecall(new Rng(9), 2),
  );
  assert.notDeepEqual(
    generateListRecall(new Rng(9), 2),
    generateListRecall(new Rng(10), 2),
  );
});

Deno.test("bad targets and item positions are errors quoting the value", () => {
  const lists = [{ category: "Fruits", items: ["apple", "pear"] }];
  assert.throws(() => formatListRecall(lists, 1, 1), /target 1 is out of range: expected 0 … 0/);
  assert.throws(() => formatListRecall(lists, 0, 3), /item 3 is out of range: expected 1 … 2/);
  assert.throws(
    () => generateListRecall(new Rng(1), 9),
    /Unknown phase 9: expected one of 1, 2, 3, 4, 5/,
  );
});
