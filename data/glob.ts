/**
 * Corpus sources as files, directories or glob patterns, expanded to a sorted
 * list of files. Patterns support `*` (any run of characters within one path
 * segment), `?` (one character), `[abc]` classes and `**` (any number of
 * directories, including none). A directory stands for every supported
 * corpus file below it.
 *
 * @module
 */

import { existsSync, lstatSync, readdirSync, statSync } from "node:fs";
import { isAbsolute, join, resolve, sep } from "node:path";

/** File name endings a corpus may use, longest first. */
export const CORPUS_EXTENSIONS: readonly string[] = [".jsonl.gz", ".json.gz", ".jsonl", ".txt"];

/**
 * Whether a path has glob characters (`*`, `?`, `[`).
 *
 * @example
 * ```ts
 * import { isGlob } from "@metatokens/data/glob";
 * console.log(isGlob("c4/*.json.gz"), isGlob("book.txt")); // true false
 * ```
 */
export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/**
 * Translates one path segment pattern (no separators) to a regular expression.
 *
 * @example
 * ```ts
 * import { segmentRegExp } from "@metatokens/data/glob";
 * console.log(segmentRegExp("c4-*.json.gz").test("c4-train.00000-of-01024.json.gz")); // true
 * ```
 */
export function segmentRegExp(segment: string): RegExp {
  let re = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = segment.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        let body = segment.slice(i + 1, end).replace(/\\/g, "\\\\");
        if (body.startsWith("!")) body = "^" + body.slice(1);
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A real directory, not a symbolic link to one (so `**` cannot loop). */
function isRealDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/**
 * Expands one glob pattern to the sorted list of matching files (directories
 * are not returned). Hidden entries match only when the pattern names the dot.
 *
 * @example
 * ```ts
 * import { globFiles } from "@metatokens/data/glob";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/a.txt`, "x");
 * Deno.mkdirSync(`${dir}/sub`);
 * Deno.writeTextFileSync(`${dir}/sub/b.txt`, "y");
 * console.log(globFiles(`${dir}/**\/*.txt`).length); // 2
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function globFiles(pattern: string): string[] {
  const normalized = pattern.split(sep).join("/");
  const absolute = isAbsolute(pattern);
  const parts = normalized.split("/").filter((p, i) => p !== "" || i === 0);
  // The literal prefix (no glob characters) is the walk's root.
  let root = absolute ? "/" : ".";
  let i = 0;
  if (absolute && parts[0] === "") i = 1;
  while (i < parts.length - 1 && !isGlob(parts[i])) {
    root = join(root, parts[i]);
    i++;
  }
  const rest = parts.slice(i);
  const out = new Set<string>();
  const walk = (dir: string, k: number): void => {
    if (k === rest.length) return;
    const seg = rest[k];
    const lastSeg = k === rest.length - 1;
    if (seg === "**") {
      walk(dir, k + 1); // zero directories
      for (const name of listDir(dir)) {
        if (name.startsWith(".")) continue;
        const path = join(dir, name);
        if (isRealDir(path)) walk(path, k); // one more directory
      }
      return;
    }
    if (!isGlob(seg)) {
      const path = join(dir, seg);
      if (lastSeg) {
        if (existsSync(path) && !isDir(path)) out.add(path);
      } else if (isDir(path)) walk(path, k + 1);
      return;
    }
    const re = segmentRegExp(seg);
    for (const name of listDir(dir)) {
      if (name.startsWith(".") && !seg.startsWith(".")) continue;
      if (!re.test(name)) continue;
      const path = join(dir, name);
      if (lastSeg) {
        if (!isDir(path)) out.add(path);
      } else if (isDir(path)) walk(path, k + 1);
    }
  };
  walk(root, 0);
  return [...out].sort();
}

/**
 * Expands corpus sources — files, directories or glob patterns — to a sorted,
 * de-duplicated list of absolute file paths, in source order. A missing file
 * and a pattern or directory that matches no corpus file are errors.
 *
 * @example
 * ```ts
 * import { expandSources } from "@metatokens/data/glob";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/b.jsonl`, "{}");
 * Deno.writeTextFileSync(`${dir}/a.txt`, "x");
 * console.log(expandSources([`${dir}/*.txt`, dir]).map((p) => p.slice(dir.length))); // ["/a.txt", "/b.jsonl"]
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function expandSources(sources: string | readonly string[]): string[] {
  const list = typeof sources === "string" ? [sources] : [...sources];
  if (list.length === 0) {
    throw new Error("Cannot read a corpus from no sources: expected at least one file, directory or glob");
  }
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (path: string): void => {
    const abs = resolve(path);
    if (!seen.has(abs)) {
      seen.add(abs);
      out.push(abs);
    }
  };
  for (const source of list) {
    if (typeof source !== "string" || source === "") {
      throw new TypeError(`Cannot read corpus source ${JSON.stringify(source)}: expected a path or glob`);
    }
    if (isGlob(source)) {
      const files = globFiles(source);
      if (files.length === 0) {
        throw new Error(
          `Cannot read corpus "${source}": the pattern matches no files; expected at least one`,
        );
      }
      files.forEach(add);
    } else if (isDir(source)) {
      const files = globFiles(join(source, "**", "*")).filter((f) =>
        CORPUS_EXTENSIONS.some((e) => f.endsWith(e))
      );
      if (files.length === 0) {
        throw new Error(
          `Cannot read corpus "${source}": the directory holds no ${
            CORPUS_EXTENSIONS.join(", ")
          } files; expected at least one`,
        );
      }
      files.forEach(add);
    } else if (!existsSync(source)) {
      throw new Error(`Cannot read corpus "${source}": no such file; expected a file, directory or glob`);
    } else add(source);
  }
  return out;
}
