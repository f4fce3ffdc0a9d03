import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import {
  type CacheManifest,
  computeSplit,
  defaultCacheDir,
  openCorpus,
  readSplit,
  readTokens,
} from "./cache.ts";
import { decode, encode, EOT_ID, META_ID } from "./tokenizer.ts";

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = await Deno.makeTempDir({ prefix: "metatokens-cache-" });
    try {
      await fn(dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  };
}

const quiet = { warn: () => {} };

Deno.test(
  "tokens.bin is uint16 little-endian GPT-2 ids with EOT after each document, in source order",
  withDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "b.txt"), "Second file _PAUSE_ here.");
    await Deno.writeTextFile(join(dir, "a.jsonl"), '{"text":"Hello world"}\n{"text":"Again."}\n');
    const docs = ["Hello world", "Again.", "Second file _PAUSE_ here."];
    const expected: number[] = [];
    for (const d of docs) expected.push(...encode(d), EOT_ID);
    const cache = await openCorpus([join(dir, "a.jsonl"), join(dir, "b.txt")], {
      cacheDir: join(dir, "cache"),
      blockSize: 2,
      ...quiet,
    });
    assert.equal(cache.built, true);
    assert.equal(cache.manifest.documents, 3);
    assert.equal(cache.manifest.tokens, expected.length);
    assert.ok(expected.includes(META_ID));
    const bytes = await Deno.readFile(cache.tokensPath);
    assert.equal(bytes.length, expected.length * 2);
    const view = new DataView(bytes.buffer);
    assert.deepEqual(
      Array.from({ length: expected.length }, (_, i) => view.getUint16(2 * i, true)),
      expected,
    );
    const all = await readTokens(cache.tokensPath, 0, cache.manifest.tokens);
    assert.equal(decode(all), docs.join("<|endoftext|>") + "<|endoftext|>");
    const m: CacheManifest = JSON.parse(await Deno.readTextFile(join(dir, "cache", "manifest.json")));
    assert.equal(m.tokenizer, "gpt2");
    assert.equal(m.version, 1);
    assert.deepEqual(m.sources.map((s) => s.path), [join(dir, "a.jsonl"), join(dir, "b.txt")]);
    assert.ok(m.sources.every((s) => s.size > 0 && s.mtimeMs > 0));
    // No temporary files are left behind.
    const names = [...Deno.readDirSync(join(dir, "cache"))].map((e) => e.name).sort();
    assert.deepEqual(names, ["manifest.json", "tokens.bin"]);
  }),
);

Deno.test(
  "C4 json.gz shards through a glob, and paragraph-split text files",
  withDir(async (dir) => {
    const shard = (i: number): Uint8Array =>
      gzipSync(new TextEncoder().encode(`{"text":"Shard ${i} doc one."}\n{"text":"Shard ${i} doc two."}\n`));
    await Deno.mkdir(join(dir, "c4", "en"), { recursive: true });
    for (let i = 0; i < 3; i++) {
      await Deno.writeFile(join(dir, "c4", "en", `c4-train.0000${i}-of-01024.json.gz`), shard(i));
    }
    const c4 = await openCorpus(join(dir, "c4", "**", "c4-train.*.json.gz"), {
      cacheDir: join(dir, "c1"),
      blockSize: 4,
    });
    assert.equal(c4.manifest.documents, 6);
    assert.match(
      decode(await readTokens(c4.tokensPath, 0, c4.manifest.tokens)),
      /^Shard 0 doc one\.<\|endoftext\|>/,
    );
    await Deno.writeTextFile(join(dir, "p.txt"), "One para.\n\nTwo para.\n\nThree para.\n");
    const paras = await openCorpus(join(dir, "p.txt"), {
      cacheDir: join(dir, "c2"),
      blockSize: 2,
      txt: "paragraphs",
    });
    assert.equal(paras.manifest.documents, 3);
    assert.equal(paras.manifest.txt, "paragraphs");
    const whole = await openCorpus(join(dir, "p.txt"), { cacheDir: join(dir, "c2"), blockSize: 2 });
    assert.equal(whole.built, true, "another txt mode rebuilds");
    assert.equal(whole.manifest.documents, 1);
  }),
);

Deno.test(
  "the cache is reused while sources match and rebuilt when a file changes, is added or tokens.bin is truncated",
  withDir(async (dir) => {
    const a = join(dir, "a.txt");
    await Deno.writeTextFile(a, "Some text that is long enough to split. ".repeat(10));
    const opts = { cacheDir: join(dir, "cache"), blockSize: 8 };
    assert.equal((await openCorpus(a, opts)).built, true);
    const again = await openCorpus(a, opts);
    assert.equal(again.built, false);
    // Another split only rewrites the manifest.
    const resplit = await openCorpus(a, { ...opts, valFraction: 0.5 });
    assert.equal(resplit.built, false);
    assert.equal(
      resplit.manifest.split.val[1] - resplit.manifest.split.val[0],
      Math.round(resplit.manifest.tokens / 2),
    );
    // Changed content (size and mtime) rebuilds.
    await Deno.writeTextFile(a, "Different text now, also long enough to split. ".repeat(12));
    const changed = await openCorpus(a, opts);
    assert.equal(changed.built, true);
    assert.equal(decode(await readTokens(changed.tokensPath, 0, 4)), "Different text now,");
    // Same size, new mtime: rebuild.
    const t = new Date(Date.now() + 5000);
    await Deno.utime(a, t, t);
    assert.equal((await openCorpus(a, opts)).built, true);
    // A truncated tokens.bin rebuilds.
    await Deno.truncate(join(dir, "cache", "tokens.bin"), 10);
    assert.equal((await openCorpus(a, opts)).built, true);
    // A missing manifest rebuilds; rebuild: true forces it.
    await Deno.remove(join(dir, "cache", "manifest.json"));
    assert.equal((await openCorpus(a, opts)).built, true);
    assert.equal((await openCorpus(a, { ...opts, rebuild: true })).built, true);
    assert.equal((await openCorpus(a, opts)).built, false);
    // An added file rebuilds.
    await Deno.writeTextFile(join(dir, "b.txt"), "More text. ".repeat(5));
    assert.equal((await openCorpus(join(dir, "*.txt"), opts)).built, true);
    assert.equal((await openCorpus(join(dir, "*.txt"), opts)).built, false);
  }),
);

Deno.test("split: the last valFraction of tokens, at least one window each, or a clear error", () => {
  assert.deepEqual(computeSplit(1000, 0.05, 16), { train: [0, 950], val: [950, 1000] });
  assert.deepEqual(computeSplit(100, 0.05, 10), { train: [0, 89], val: [89, 100] });
  assert.deepEqual(computeSplit(22, 0.05, 10), { train: [0, 11], val: [11, 22] });
  assert.throws(
    () => computeSplit(21, 0.05, 10),
    /Cannot split a corpus of 21 tokens for block size 10: expected at least 22/,
  );
  assert.throws(() => computeSplit(1000, 0, 10), /validation fraction of 0: expected a number in \(0, 1\)/);
  assert.throws(() => computeSplit(1000, 0.1, 0), /block size 0/);
});

Deno.test(
  "splits read back the right ranges",
  withDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "a.txt"), Array.from({ length: 300 }, (_, i) => `w${i}`).join(" "));
    const cache = await openCorpus(join(dir, "a.txt"), {
      cacheDir: join(dir, "cache"),
      blockSize: 8,
      valFraction: 0.1,
    });
    const all = await readTokens(cache.tokensPath, 0, cache.manifest.tokens);
    const train = await readSplit(cache, "train"), val = await readSplit(cache, "val");
    assert.equal(train.length + val.length, all.length);
    assert.deepEqual(Array.from(val), Array.from(all.subarray(train.length)));
    assert.equal(val.length, Math.round(0.1 * all.length));
    assert.equal(val[val.length - 1], EOT_ID);
    await assert.rejects(
      () => readTokens(cache.tokensPath, 0, all.length + 5),
      /the file ends after \d+ tokens/,
    );
  }),
);

Deno.test(
  "errors: missing file, glob matching nothing, empty corpus, corpus smaller than two windows, bad JSON",
  withDir(async (dir) => {
    const c = { cacheDir: join(dir, "cache"), blockSize: 4 };
    await assert.rejects(
      () => openCorpus(join(dir, "nope.txt"), c),
      /Cannot read corpus ".*nope\.txt": no such file/,
    );
    await assert.rejects(() => openCorpus(join(dir, "*.jsonl"), c), /the pattern matches no files/);
    await Deno.writeTextFile(join(dir, "empty.txt"), "");
    await Deno.writeTextFile(join(dir, "blank.jsonl"), '\n{"text":""}\n');
    await assert.rejects(
      () => openCorpus([join(dir, "empty.txt"), join(dir, "blank.jsonl")], c),
      /Cannot build a token cache from \[.*empty\.txt.*\]: the corpus has 0 tokens; expected at least one non-empty document/,
    );
    await Deno.writeTextFile(join(dir, "tiny.txt"), "Hi");
    await assert.rejects(
      () => openCorpus(join(dir, "tiny.txt"), c),
      /Cannot split a corpus of 2 tokens for block size 4/,
    );
    await Deno.writeTextFile(join(dir, "bad.jsonl"), '{"text":"fine"}\n{"text":"fine"}\n{oops}\n');
    await assert.rejects(() => openCorpus(join(dir, "bad.jsonl"), c), /bad\.jsonl" at line 3: invalid JSON/);
    // Failed builds leave neither a manifest nor temporary files, nor the cache folder they created.
    assert.equal(await Deno.stat(join(dir, "cache")).then(() => true, () => false), false);
  }),
);

Deno.test(
  "a non-UTF-8 file is skipped with a warning naming it, its partial tokens rolled back",
  withDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "a.txt"), "Good text before. ".repeat(5));
    // Valid for 5 MB, then a bad byte: over two million tokens are flushed to disk before the error.
    const big = new Uint8Array(5_000_001).fill(0x61);
    for (let i = 1; i < big.length; i += 2) big[i] = 0x20;
    big[big.length - 1] = 0xff;
    await Deno.writeFile(join(dir, "b.txt"), big);
    await Deno.writeTextFile(join(dir, "c.txt"), "Good text after. ".repeat(5));
    const warnings: string[] = [];
    const cache = await openCorpus(join(dir, "*.txt"), {
      cacheDir: join(dir, "cache"),
      blockSize: 4,
      warn: (m) => warnings.push(m),
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /Skipping corpus file ".*b\.txt": it is not valid UTF-8/);
    assert.deepEqual(cache.manifest.skipped, [join(dir, "b.txt")]);
    assert.equal(cache.manifest.documents, 2);
    const text = decode(await readTokens(cache.tokensPath, 0, cache.manifest.tokens));
    assert.equal(
      text,
      "Good text before. ".repeat(5) + "<|endoftext|>" + "Good text after. ".repeat(5) + "<|endoftext|>",
    );
  }),
);

Deno.test("default cache directories differ by source list", () => {
  assert.notEqual(defaultCacheDir(["/a.txt"]), defaultCacheDir(["/b.txt"]));
  assert.match(defaultCacheDir(["/a.txt"]), /^\.cache[/\\]metatokens[/\\]corpus-[0-9a-f]{12}$/);
});

Deno.test(
  "issue 14: a manifest is read by a typed reader; one that lies about its tokens is refused and the cache rebuilt",
  withDir(async (dir) => {
    const a = join(dir, "a.txt");
    await Deno.writeTextFile(a, "Some text that is long enough to split. ".repeat(10));
    const opts = { cacheDir: join(dir, "cache"), blockSize: 8 };
    const built = await openCorpus(a, opts);
    const path = join(dir, "cache", "manifest.json");
    const good = JSON.parse(await Deno.readTextFile(path)) as CacheManifest;
    const edits: [Record<string, unknown>, RegExp][] = [
      // A split past the tokens the cache holds: before, read past tokens.bin's end at training time.
      [{ split: { train: [0, 10_000], val: [10_000, 20_000] } }, /split is \{"train":\[0,10000\]/],
      [{ split: { train: [-5, 2], val: [2, good.tokens] } }, /split is/],
      [{ documents: "2" }, /documents is "2", expected an integer ≥ 0/],
      [{ valFraction: 7 }, /valFraction is 7, expected a number in \(0, 1\)/],
      [{ version: 2 }, /version is 2, expected 1/],
      [{ sources: [{ path: 1, size: 0, mtimeMs: 0 }] }, /sources\[0\]\.path is 1, expected a string/],
      [{ extra: 1 }, /it has an unknown key "extra", expected only version, /],
    ];
    for (const [edit, message] of edits) {
      await Deno.writeTextFile(path, JSON.stringify({ ...good, ...edit }));
      const warnings: string[] = [];
      const again = await openCorpus(a, { ...opts, warn: (m) => warnings.push(m) });
      assert.equal(again.built, true, JSON.stringify(edit));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /^Cannot read token cache manifest ".*manifest\.json": /);
      assert.match(warnings[0], message);
      assert.match(warnings[0], /; rebuilding the cache$/);
      assert.deepEqual(again.manifest, built.manifest);
    }
    await Deno.writeFile(path, new Uint8Array([0x7b, 0xff, 0x7d]));
    const warnings: string[] = [];
    assert.equal((await openCorpus(a, { ...opts, warn: (m) => warnings.push(m) })).built, true);
    assert.match(warnings[0], /is not valid UTF-8; rebuilding the cache$/);
  }),
);

Deno.test("issue 15: a cache build that fails leaves no empty cache folders behind", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(root, "tiny.txt"), "hello world\n");
    for (
      const [file, message] of [["tiny.txt", /Cannot split a corpus of 4 tokens/], ["empty.txt", /0 tokens/]]
    ) {
      if (file === "empty.txt") await Deno.writeTextFile(join(root, file), "");
      await assert.rejects(
        () => openCorpus(join(root, file as string), { cacheDir: join(root, ".cache/metatokens/corpus-x") }),
        message as RegExp,
      );
      assert.deepEqual(
        [...Deno.readDirSync(root)].map((e) => e.name).filter((n) => !n.endsWith(".txt")),
        [],
        `${file}: no .cache left`,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
