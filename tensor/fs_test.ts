import assert from "node:assert/strict";
import {
  appendToFile,
  checkWritableDir,
  commitFile,
  errorReason,
  makeDirs,
  replaceDir,
  tempPathBeside,
  writeAll,
  writeFileAtomic,
  writeNewFileSynced,
} from "./fs.ts";

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("writeFileAtomic replaces a file and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  await writeFileAtomic(`${dir}/a.txt`, "old");
  await writeFileAtomic(`${dir}/a.txt`, new TextEncoder().encode("new"));
  assert.equal(await Deno.readTextFile(`${dir}/a.txt`), "new");
  assert.deepEqual(await names(dir), ["a.txt"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeFileAtomic leaves the old file and no temporary file when the write fails", async () => {
  const dir = await Deno.makeTempDir();
  await writeFileAtomic(`${dir}/a.txt`, "old");
  await assert.rejects(() => writeFileAtomic(`${dir}/missing/a.txt`, "x"), Deno.errors.NotFound);
  assert.deepEqual(await names(dir), ["a.txt"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeNewFileSynced refuses an existing file", async () => {
  const dir = await Deno.makeTempDir();
  await writeNewFileSynced(`${dir}/a`, "1");
  await assert.rejects(() => writeNewFileSynced(`${dir}/a`, "2"), Deno.errors.AlreadyExists);
  assert.equal(await Deno.readTextFile(`${dir}/a`), "1");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("commitFile moves a streamed temporary file over the destination", async () => {
  const dir = await Deno.makeTempDir();
  const temp = tempPathBeside(`${dir}/t.bin`);
  assert.ok(temp.startsWith(`${dir}/.t.bin.tmp-`));
  await Deno.writeFile(temp, new Uint8Array([7]));
  await commitFile(temp, `${dir}/t.bin`);
  assert.deepEqual(await Deno.readFile(`${dir}/t.bin`), new Uint8Array([7]));
  assert.deepEqual(await names(dir), ["t.bin"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("replaceDir swaps a folder whole and removes the old one", async () => {
  const root = await Deno.makeTempDir();
  await Deno.mkdir(`${root}/out`);
  await Deno.writeTextFile(`${root}/out/old.txt`, "old");
  await Deno.mkdir(`${root}/.new`);
  await Deno.writeTextFile(`${root}/.new/new.txt`, "new");
  await replaceDir(`${root}/.new`, `${root}/out`);
  assert.deepEqual(await names(`${root}/out`), ["new.txt"]);
  assert.deepEqual(await names(root), ["out"]);
  await Deno.mkdir(`${root}/.fresh`);
  await replaceDir(`${root}/.fresh`, `${root}/made`);
  assert.deepEqual(await names(root), ["made", "out"]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("checkWritableDir creates the parent, refuses files and unwritable places", async () => {
  const root = await Deno.makeTempDir();
  await checkWritableDir(`${root}/a/b`);
  assert.deepEqual(await names(`${root}/a`), []);
  await Deno.writeTextFile(`${root}/file`, "");
  await assert.rejects(() => checkWritableDir(`${root}/file`), /Cannot write to ".*file": it is a file/);
  await assert.rejects(() => checkWritableDir(`${root}/file/x`), /Cannot write to ".*file\/x": /);
  await Deno.remove(root, { recursive: true });
});

Deno.test({
  name: "issue 14 (10): a full disk names the path and the operation",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // Linux's /dev/full fails every write with ENOSPC, as a full disk does.
    using file = await Deno.open("/dev/full", { write: true });
    await assert.rejects(() => writeAll(file, new Uint8Array(10), "/dev/full"), {
      message: /^Cannot write "\/dev\/full": No space left on device \(os error 28\)/,
    });
    await assert.rejects(() => appendToFile("/dev/full", "x"), {
      message: /^Cannot append to "\/dev\/full": No space left on device \(os error 28\)/,
    });
  },
});

Deno.test("issue 14 (10): failed writes and renames name the path, keeping the error's class", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeNewFileSynced(`${dir}/a`, "1");
    await assert.rejects(() => writeNewFileSynced(`${dir}/a`, "2"), (e: unknown) => {
      assert.ok(e instanceof Deno.errors.AlreadyExists);
      assert.match(e.message, new RegExp(`^Cannot create "${dir}/a": `));
      assert.equal(e.message.split(`${dir}/a`).length, 2, `the path once: ${e.message}`);
      return true;
    });
    await Deno.mkdir(`${dir}/.new`);
    await Deno.writeTextFile(`${dir}/file`, "");
    await assert.rejects(() => replaceDir(`${dir}/.new`, `${dir}/file/sub`), (e: unknown) => {
      assert.match((e as Error).message, new RegExp(`^Cannot rename "${dir}/.new" to "${dir}/file/sub": `));
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("errorReason: Deno's reason without the operation and path it appends, bounded", async () => {
  const missing = "/nonexistent-metatokens/" + "x".repeat(300);
  for (const call of [() => Deno.readFile(missing), () => Deno.open(missing), () => Deno.stat(missing)]) {
    await assert.rejects(call, (e: unknown) => {
      assert.equal(errorReason(e), "No such file or directory (os error 2)");
      return true;
    });
  }
  assert.equal(errorReason(new Error("y".repeat(1000))).length, 200);
  assert.equal(errorReason("plain"), "plain");
});

Deno.test("makeDirs: undo removes only the folders it created, and only while they are empty", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/runs`);
    const undo = await makeDirs(`${root}/runs/a/b`);
    assert.ok((await Deno.stat(`${root}/runs/a/b`)).isDirectory);
    await undo();
    assert.deepEqual(await names(root), ["runs"], "runs/ existed before: kept");
    assert.deepEqual(await names(`${root}/runs`), []);
    const keep = await makeDirs(`${root}/runs/c/d`);
    await Deno.writeTextFile(`${root}/runs/c/d/metrics.jsonl`, "{}");
    await keep();
    assert.deepEqual(await names(`${root}/runs/c/d`), ["metrics.jsonl"], "written since: kept");
    await (await makeDirs(`${root}/runs`))(); // existed: nothing to undo
    assert.deepEqual(await names(root), ["runs"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
