import assert from "node:assert/strict";
import { toCsv } from "./csv.ts";

Deno.test("toCsv writes a header and CRLF-ended rows, columns in the order first seen", () => {
  assert.equal(
    toCsv([{ layer: 0, cosine: 0.5 }, { layer: 1, cosine: -0.25, extra: true }]),
    "layer,cosine,extra\r\n0,0.5,\r\n1,-0.25,true\r\n",
  );
});

Deno.test("toCsv quotes commas, quotes, line breaks and edge spaces (RFC 4180)", () => {
  const csv = toCsv([{ text: 'a "b", c' }, { text: "two\nlines" }, { text: "cr\rlf" }, { text: " pad" }, {
    text: "plain _PAUSE_",
  }]);
  assert.equal(csv, 'text\r\n"a ""b"", c"\r\n"two\nlines"\r\n"cr\rlf"\r\n" pad"\r\nplain _PAUSE_\r\n');
  assert.equal(toCsv([{ "a,b": 1 }]), '"a,b"\r\n1\r\n');
});

Deno.test("toCsv writes numbers with full precision and special values by name", () => {
  const csv = toCsv([{ x: 0.1 + 0.2 }, { x: 1e-300 }, { x: 123456789012345680000 }, { x: NaN }, {
    x: -Infinity,
  }, {
    x: -0,
  }]);
  assert.equal(
    csv,
    "x\r\n0.30000000000000004\r\n1e-300\r\n123456789012345680000\r\nNaN\r\n-Infinity\r\n-0\r\n",
  );
  for (const line of csv.trim().split("\r\n").slice(1, 4)) assert.ok(Number.isFinite(Number(line)));
  assert.equal(Number(csv.split("\r\n")[1]), 0.1 + 0.2);
});

Deno.test("toCsv keeps only the columns asked for, in their order, and leaves missing cells empty", () => {
  assert.equal(toCsv([{ a: 1, b: 2, c: 3 }, { c: null }], ["c", "a"]), "c,a\r\n3,1\r\n,\r\n");
  assert.equal(toCsv([], ["beta", "rate"]), "beta,rate\r\n");
});

Deno.test("toCsv rejects bad input with messages that name it", () => {
  assert.throws(() => toCsv([]), /Cannot write a CSV table with no rows and no columns/);
  assert.throws(() => toCsv([{}]), /Cannot write a CSV table with no columns: the rows have no keys/);
  assert.throws(() => toCsv([{ a: 1 }], ["a", "b", "a"]), /Column "a" is named twice/);
  assert.throws(
    () => toCsv([{ a: 1 }, { a: { nested: 1 } as unknown as string }]),
    /CSV cells must be strings, numbers, booleans or null, got an object in row 1, column "a"/,
  );
  assert.throws(
    () => toCsv([{ a: [1, 2] as unknown as string }]),
    /got an array in row 0, column "a"/,
  );
});
