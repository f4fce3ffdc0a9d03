/**
 * Durable file output for the whole toolkit: one implementation of "write a
 * file so that a crash leaves the old contents or the new, never a torn file",
 * of "replace a folder whole", and of "can we write there at all", used by
 * checkpoints and safetensors (`model`), the token cache (`data`), analysis
 * output (`analysis`) and run reports.
 *
 * The recipe is the classic one (as in SQLite, LevelDB and `os.replace` +
 * `fsync` in Python): write a temporary file beside the destination, `fsync`
 * it, `rename` it over the destination, then `fsync` the folder so the
 * rename itself survives a power cut. A folder is replaced by renaming the old
 * one aside first, so a complete folder exists under a known name at every
 * instant.
 *
 * Every failure of the disk (no space left, a read-only file system, a
 * permission) is rethrown with the operation and the path in front of the
 * system's message — `Cannot write "/runs/x/model.safetensors": No space left
 * on device (os error 28)` — keeping its class (`Deno.errors.*`), so callers
 * can still tell a missing file from a full disk.
 *
 * It lives in `tensor` because `tensor` is the lowest package in the
 * dependency DAG (`_tools/check_deps.ts`) that both `model` and `data` may
 * import; the module itself depends on nothing but `node:path` and
 * `node:crypto`, so importing `@metatokens/tensor/fs` pulls in no tensor code.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import { basename, dirname, join, resolve } from "node:path";

/** A short random hex suffix for temporary names (12 hex digits). */
function randomSuffix(): string {
  return randomBytes(6).toString("hex");
}

/**
 * The reason of a failed file system call, without the operation and path
 * Deno appends to its messages (`… (os error 2): open '/a/b'`), so that a
 * message naming the path itself names it once; at most 200 characters.
 *
 * @param e What the call threw.
 * @returns Its message, e.g. `No such file or directory (os error 2)`.
 *
 * @example
 * ```ts
 * import { errorReason } from "@metatokens/tensor/fs";
 * try {
 *   await Deno.readFile("/nonexistent/file");
 * } catch (e) {
 *   console.log(errorReason(e)); // No such file or directory (os error 2)
 * }
 * ```
 */
export function errorReason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.replace(/(\(os error \d+\)): [a-z_]+ '.*$/s, "$1").slice(0, 200);
}

/** Marks errors already annotated, so a path is named once. */
const ANNOTATED = Symbol("annotated");

/**
 * Puts the operation and the path in front of a disk error's message (once),
 * keeping its class and cause; returns it to be thrown.
 */
function diskError(e: unknown, operation: string, path: string): unknown {
  if (!(e instanceof Error) || (e as { [ANNOTATED]?: boolean })[ANNOTATED]) return e;
  e.message = `Cannot ${operation} "${path}": ${errorReason(e)}`;
  Object.defineProperty(e, ANNOTATED, { value: true });
  return e;
}

/** Runs a disk operation, naming the operation and the path when it fails. */
async function disk<T>(operation: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw diskError(e, operation, path);
  }
}

function bytesOf(contents: Uint8Array | string): Uint8Array {
  return typeof contents === "string" ? new TextEncoder().encode(contents) : contents;
}

/**
 * Flushes a folder's entry list (its creations and renames) to disk where the
 * platform allows it; a no-op where folders cannot be opened (Windows), where
 * renames are still atomic.
 *
 * @param path The folder.
 *
 * @example
 * ```ts
 * import { syncDir } from "@metatokens/tensor/fs";
 * await syncDir(await Deno.makeTempDir());
 * ```
 */
export async function syncDir(path: string): Promise<void> {
  let dir: Deno.FsFile;
  try {
    dir = await Deno.open(path, { read: true });
  } catch {
    return; // Not supported on every platform; see above.
  }
  try {
    await dir.sync();
  } catch {
    // Some file systems refuse fsync on a folder; the rename is still atomic.
  } finally {
    dir.close();
  }
}

/**
 * Creates `path` (it must not exist), writes all of `contents` and flushes the
 * file to disk before returning.
 *
 * @param path The new file.
 * @param contents Bytes, or text written as UTF-8.
 * @throws {Deno.errors.AlreadyExists} When `path` exists.
 *
 * @example
 * ```ts
 * import { writeNewFileSynced } from "@metatokens/tensor/fs";
 * const path = `${await Deno.makeTempDir()}/a.bin`;
 * await writeNewFileSynced(path, new Uint8Array([1, 2]));
 * console.log((await Deno.readFile(path)).length); // 2
 * ```
 */
export async function writeNewFileSynced(path: string, contents: Uint8Array | string): Promise<void> {
  const bytes = bytesOf(contents);
  const file = await disk("create", path, () => Deno.open(path, { write: true, createNew: true }));
  try {
    await writeAll(file, bytes, path);
    await disk("flush", path, () => file.sync());
  } finally {
    file.close();
  }
}

/**
 * Writes all of `bytes` to an open file; a failure (a full disk: `os error
 * 28`) names `path` and the operation.
 *
 * @param file The open file.
 * @param bytes What to write, at the file's position.
 * @param path The file's path, for the message.
 * @throws {Error} `Cannot write "<path>": <the system's message>`, of the system error's class.
 *
 * @example
 * ```ts
 * import { writeAll } from "@metatokens/tensor/fs";
 * const path = `${await Deno.makeTempDir()}/a.bin`;
 * using file = await Deno.open(path, { write: true, create: true });
 * await writeAll(file, new Uint8Array(3), path);
 * console.log((await Deno.stat(path)).size); // 3
 * ```
 */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array, path: string): Promise<void> {
  await disk("write", path, async () => {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
  });
}

/**
 * Appends `contents` to the file `path` (created when missing), a failure
 * naming the path: for logs such as a run's `metrics.jsonl`, where a torn
 * last line is acceptable and a full disk must say where.
 *
 * @param path The file.
 * @param contents Text, written as UTF-8.
 *
 * @example
 * ```ts
 * import { appendToFile } from "@metatokens/tensor/fs";
 * const path = `${await Deno.makeTempDir()}/log.jsonl`;
 * await appendToFile(path, "a\n");
 * await appendToFile(path, "b\n");
 * console.log(await Deno.readTextFile(path)); // "a\nb\n"
 * ```
 */
export async function appendToFile(path: string, contents: string): Promise<void> {
  await disk("append to", path, () => Deno.writeTextFile(path, contents, { append: true }));
}

/**
 * Moves the finished file `temp` over `path` durably: flushes `temp`, renames
 * it (atomic on one file system) and flushes the folder of `path`. Use it
 * when the temporary file was streamed by hand; {@linkcode writeFileAtomic}
 * does all of it for contents held in memory.
 *
 * @param temp A complete file in the same folder (file system) as `path`.
 * @param path The destination; an existing file there is replaced.
 *
 * @example
 * ```ts
 * import { commitFile } from "@metatokens/tensor/fs";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/.a.tmp`, "new");
 * await commitFile(`${dir}/.a.tmp`, `${dir}/a.txt`);
 * console.log(await Deno.readTextFile(`${dir}/a.txt`)); // new
 * ```
 */
export async function commitFile(temp: string, path: string): Promise<void> {
  const file = await disk("open", temp, () => Deno.open(temp, { read: true, write: true }));
  try {
    await disk("flush", temp, () => file.sync());
  } finally {
    file.close();
  }
  await disk(`rename "${temp}" to`, path, () => Deno.rename(temp, path));
  await syncDir(dirname(path));
}

/**
 * A fresh temporary name beside `path`: `<dir>/.<name>.tmp-<random>`, on the
 * same file system so that the final rename is atomic.
 *
 * @example
 * ```ts
 * import { tempPathBeside } from "@metatokens/tensor/fs";
 * console.log(tempPathBeside("/runs/a.json").startsWith("/runs/.a.json.tmp-")); // true
 * ```
 */
export function tempPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${randomSuffix()}`);
}

/**
 * Writes `contents` to `path` atomically and durably: into a temporary file
 * beside it, flushed, renamed over `path`, then the folder flushed. A crash
 * leaves the old file or the new one, never a partial file under `path`.
 *
 * @param path The destination.
 * @param contents Bytes, or text written as UTF-8.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "@metatokens/tensor/fs";
 * const path = `${await Deno.makeTempDir()}/a.json`;
 * await writeFileAtomic(path, "{}");
 * console.log(await Deno.readTextFile(path)); // {}
 * ```
 */
export async function writeFileAtomic(path: string, contents: Uint8Array | string): Promise<void> {
  const temp = tempPathBeside(path);
  try {
    await writeNewFileSynced(temp, contents);
    await disk(`rename "${temp}" to`, path, () => Deno.rename(temp, path));
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
  await syncDir(dirname(path));
}

/**
 * Replaces the folder `dir` by the complete folder `temp` (both on one file
 * system): flushes `temp`'s entries, renames an existing `dir` aside to
 * `<dir>.old-<random>`, renames `temp` to `dir`, flushes the parent folder,
 * and only then removes the old folder. At every instant a complete folder
 * exists under `dir` or `<dir>.old-*`. The files inside `temp` should have
 * been written with {@linkcode writeNewFileSynced}.
 *
 * @param temp The new folder, fully written.
 * @param dir The destination; need not exist.
 *
 * @example
 * ```ts
 * import { replaceDir } from "@metatokens/tensor/fs";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/out`);
 * await Deno.mkdir(`${root}/.out-new`);
 * await Deno.writeTextFile(`${root}/.out-new/a.txt`, "new");
 * await replaceDir(`${root}/.out-new`, `${root}/out`);
 * console.log(await Deno.readTextFile(`${root}/out/a.txt`)); // new
 * ```
 */
export async function replaceDir(temp: string, dir: string): Promise<void> {
  await syncDir(temp);
  const old = `${dir}.old-${randomSuffix()}`;
  const existed = await Deno.stat(dir).then(() => true, () => false);
  if (existed) await disk(`rename "${dir}" to`, old, () => Deno.rename(dir, old));
  await disk(`rename "${temp}" to`, dir, () => Deno.rename(temp, dir));
  await syncDir(dirname(dir));
  if (existed) await disk("remove", old, () => Deno.remove(old, { recursive: true }));
}

/**
 * Creates the folder `dir` and its missing parents, and returns what undoes
 * it: a function that removes the folders this call created, deepest first,
 * as long as they are still empty. A step that fails after creating its
 * output folder calls it, so a failed run leaves no empty folders behind
 * (and never removes anything it did not create, or anything written since).
 *
 * @param dir The folder to create.
 * @returns The undo function; it never throws.
 * @throws {Error} `Cannot create folder "<dir>": <reason>`.
 *
 * @example
 * ```ts
 * import { makeDirs } from "@metatokens/tensor/fs";
 * const root = await Deno.makeTempDir();
 * const undo = await makeDirs(`${root}/runs/a`);
 * await undo();
 * console.log([...Deno.readDirSync(root)].length); // 0
 * ```
 */
export async function makeDirs(dir: string): Promise<() => Promise<void>> {
  const created: string[] = [];
  for (let path = resolve(dir); !(await Deno.stat(path).then(() => true, () => false));) {
    created.push(path);
    const parent = dirname(path);
    if (parent === path) break;
    path = parent;
  }
  await disk("create folder", dir, () => Deno.mkdir(dir, { recursive: true }));
  return async () => {
    for (const path of created) {
      if (!(await Deno.remove(path).then(() => true, () => false))) return; // not empty: keep it and above
    }
  };
}

/**
 * Checks, before any expensive work starts, that the folder `dir` can be
 * written: creates its parent, writes and removes a probe file there, and
 * refuses a `dir` that exists as a file. `dir` itself is not created.
 *
 * @param dir The folder that will be written (or replaced).
 * @throws {Error} `Cannot write to "<dir>": <reason>`.
 *
 * @example
 * ```ts
 * import { checkWritableDir } from "@metatokens/tensor/fs";
 * await checkWritableDir(await Deno.makeTempDir() + "/analysis");
 * ```
 */
export async function checkWritableDir(dir: string): Promise<void> {
  const parent = dirname(dir);
  try {
    await Deno.mkdir(parent, { recursive: true });
    await Deno.remove(await Deno.makeTempFile({ dir: parent, prefix: ".write-check-" }));
  } catch (e) {
    throw new Error(`Cannot write to "${dir}": ${errorReason(e)}`, { cause: e });
  }
  const info = await Deno.stat(dir).catch(() => null);
  if (info && !info.isDirectory) throw new Error(`Cannot write to "${dir}": it is a file`);
}
