import assert from "node:assert/strict";
import { join } from "node:path";
import { expandSources, globFiles, isGlob, segmentRegExp } from "./glob.ts";

function tree(): string {
  const dir = Deno.makeTempDirSync({ prefix: "metatokens-glob-" });
  for (
    const f of ["a.txt", "b.txt", "c.jsonl", "x/d.txt", "x/y/e.txt", "x/y/f.json.gz", ".hidden/g.txt", "h.md"]
  ) {
    Deno.mkdirSync(join(dir, f, ".."), { recursive: true });
    Deno.writeTextFileSync(join(dir, f), f);
  }
  return dir;
}

const rel = (dir: string, files: string[]): string[] => files.map((f) => f.slice(dir.length + 1));

Deno.test("segment patterns: *, ?, classes, literal dots", () => {
  assert.ok(segmentRegExp("*.txt").test("a.txt"));
  assert.ok(!segmentRegExp("*.txt").test("a.txt.bak"));
  assert.ok(!segmentRegExp("*.txt").test("atxt"));
  assert.ok(segmentRegExp("c4-train.0000?-of-*.json.gz").test("c4-train.00003-of-01024.json.gz"));
  assert.ok(segmentRegExp("[ab].txt").test("b.txt"));
  assert.ok(!segmentRegExp("[!ab].txt").test("b.txt"));
  assert.ok(isGlob("**/x") && isGlob("a?") && isGlob("[a]") && !isGlob("plain/file.txt"));
});

Deno.test("globs: * stays in one directory, ** crosses any number, hidden entries are skipped", () => {
  const dir = tree();
  try {
    assert.deepEqual(rel(dir, globFiles(join(dir, "*.txt"))), ["a.txt", "b.txt"]);
    assert.deepEqual(rel(dir, globFiles(join(dir, "**", "*.txt"))), [
      "a.txt",
      "b.txt",
      join("x", "d.txt"),
      join("x", "y", "e.txt"),
    ]);
    assert.deepEqual(rel(dir, globFiles(join(dir, "x", "**", "*.gz"))), [join("x", "y", "f.json.gz")]);
    assert.deepEqual(rel(dir, globFiles(join(dir, "*", "d.txt"))), [join("x", "d.txt")]);
    assert.deepEqual(globFiles(join(dir, "*.nothing")), []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("relative patterns resolve against the working directory", () => {
  const dir = tree();
  const cwd = Deno.cwd();
  try {
    Deno.chdir(dir);
    assert.deepEqual(expandSources("x/**/*.txt"), [join(dir, "x", "d.txt"), join(dir, "x", "y", "e.txt")]);
  } finally {
    Deno.chdir(cwd);
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("sources: files, globs and directories in order, de-duplicated; directories keep corpus files", () => {
  const dir = tree();
  try {
    const files = expandSources([join(dir, "b.txt"), join(dir, "*.txt"), join(dir, "x")]);
    assert.deepEqual(rel(dir, files), [
      "b.txt",
      "a.txt",
      join("x", "d.txt"),
      join("x", "y", "e.txt"),
      join("x", "y", "f.json.gz"),
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("missing files, empty globs and empty source lists are clear errors", () => {
  const dir = tree();
  try {
    assert.throws(
      () => expandSources(join(dir, "nope.txt")),
      /Cannot read corpus ".*nope\.txt": no such file/,
    );
    assert.throws(
      () => expandSources(join(dir, "*.csv")),
      /Cannot read corpus ".*\*\.csv": the pattern matches no files/,
    );
    Deno.mkdirSync(join(dir, "empty"));
    assert.throws(() => expandSources(join(dir, "empty")), /the directory holds no .* files/);
    assert.throws(() => expandSources([]), /from no sources/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
