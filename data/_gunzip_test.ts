import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { gunzipStream } from "./_gunzip.ts";

function gunzip(bytes: Uint8Array, chunk = 7): Promise<string> {
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.length; i += chunk) c.enqueue(bytes.slice(i, i + chunk));
      c.close();
    },
  });
  return new Response(stream.pipeThrough(gunzipStream())).text();
}

const gz = (text: string): Uint8Array => new Uint8Array(gzipSync(text));

Deno.test("issue 14: multi-member gzip reads as the concatenation, as gzip -d does", async () => {
  const bytes = new Uint8Array([...gz("first\n"), ...gz("second\n"), ...gz(""), ...gz("third")]);
  for (const chunk of [1, 7, 1 << 16]) assert.equal(await gunzip(bytes, chunk), "first\nsecond\nthird");
  // DecompressionStream refuses it: the reason for this module.
  await assert.rejects(() =>
    new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text()
  );
});

Deno.test("issue 14: zero padding after the last member is ignored", async () => {
  const bytes = new Uint8Array([...gz("a"), ...gz("b"), ...new Uint8Array(4096)]);
  assert.equal(await gunzip(bytes), "ab");
});

Deno.test("truncated members and garbage after a member are errors", async () => {
  const one = gz("hello world, hello world");
  await assert.rejects(() => gunzip(one.subarray(0, one.length - 5)), /unexpected end of file/);
  await assert.rejects(() => gunzip(new Uint8Array([...one, 1, 2, 3])), /incorrect header check/);
  await assert.rejects(() => gunzip(new TextEncoder().encode("not gzip at all")), /incorrect header check/);
  await assert.rejects(() => gunzip(new Uint8Array(0)), /unexpected end of file/); // as gzip -d
});
