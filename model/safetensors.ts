/**
 * A reader and writer of the [safetensors](https://github.com/huggingface/safetensors)
 * format, on plain `Float32Array`s (no tensor library needed).
 *
 * Layout of a file:
 *
 * ```text
 * u64 little-endian N | N bytes of UTF-8 JSON header | data buffer
 * header = { "__metadata__"?: { string: string },
 *            name: { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ... }
 * ```
 *
 * Offsets are relative to the start of the data buffer. The writer follows the
 * reference implementation byte for byte for F32 tensors: tensors sorted by name,
 * `__metadata__` first, compact JSON, the header padded with spaces to a multiple
 * of 8 bytes, tensors packed back to back. The reader validates the whole header
 * against the file before it reads any data, and converts F16, BF16 and F64
 * tensors to f32.
 *
 * Files are untrusted input (checkpoints travel between machines), so the reader
 * bounds its work before parsing: the header is at most {@linkcode MAX_HEADER_BYTES}
 * and no deeper than {@linkcode MAX_HEADER_DEPTH}, duplicate keys and a byte order
 * mark are refused (the format forbids both; `JSON.parse` would keep the last
 * duplicate silently), and every error is a {@linkcode SafetensorsError} quoting at
 * most about 200 characters of the file.
 *
 * @module
 */

import { formatShape } from "@metatokens/tensor";
import { writeFileAtomic } from "@metatokens/tensor/fs";
import { preview, quote } from "@metatokens/tensor/quote";

/** A named array: a shape and its row-major f32 data. */
export interface NamedArray {
  /** Dimensions, outermost first; `[]` for a scalar. */
  shape: number[];
  /** Row-major values; its length is the product of `shape`. */
  data: Float32Array;
}

/** Arrays by name, as in a PyTorch state dict. */
export type StateDict = Record<string, NamedArray>;

/** What {@linkcode decodeSafetensors} returns: the tensors and the free-form metadata. */
export interface SafetensorsContents {
  /** The tensors, in the order of their data offsets. */
  tensors: StateDict;
  /** The `__metadata__` string map; empty when the file has none. */
  metadata: Record<string, string>;
}

/** The dtypes the reader accepts, with their sizes in bytes. All are converted to f32. */
export const SUPPORTED_DTYPES: Readonly<Record<string, number>> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/** The largest header the reader accepts (as the reference implementation: 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/**
 * The deepest nesting of JSON objects and arrays the reader accepts in a header.
 * A valid header needs 3 (the header, a tensor entry, its shape); the bound keeps
 * a hostile header (`[[[[…` a million deep) from costing time and memory in `JSON.parse`.
 */
export const MAX_HEADER_DEPTH = 8;

/**
 * A safetensors file that cannot be read: the message names the source and what is
 * wrong, quoting at most about 200 characters of the file.
 *
 * @example
 * ```ts
 * import { decodeSafetensors, SafetensorsError } from "@metatokens/model/safetensors";
 * try {
 *   decodeSafetensors(new Uint8Array(3), "m.safetensors");
 * } catch (e) {
 *   console.log(e instanceof SafetensorsError, (e as SafetensorsError).source); // true "m.safetensors"
 * }
 * ```
 */
export class SafetensorsError extends Error {
  /** What the bytes were called: usually the file path. */
  readonly source: string;
  /** Creates the error for `source`; the message is prefixed with `Cannot read safetensors "<source>": `. */
  constructor(source: string, message: string, options?: ErrorOptions) {
    super(`Cannot read safetensors "${source}": ${message}`, options);
    this.name = "SafetensorsError";
    this.source = source;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Compares strings by code point, which is the UTF-8 byte order the reference sorts by. */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator](), ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next(), y = ib.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/** Sets `record[key]` as an own property, even for keys such as `__proto__`. */
function define<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Encodes f32 tensors (and optional string metadata) as safetensors bytes.
 *
 * Tensors are written in name order, so the same inputs always give the same bytes,
 * identical to what the reference implementation writes.
 *
 * @param tensors The arrays to write; each `data.length` must equal the product of its shape.
 * @param metadata Free-form strings stored under `__metadata__` (omitted when empty or absent).
 * @returns The file contents.
 * @throws {Error} A shape that is not a list of non-negative integers, a length that does not
 *   match its shape, a value in `metadata` that is not a string, or a tensor named `__metadata__`.
 *
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "@metatokens/model/safetensors";
 * const bytes = encodeSafetensors({ w: { shape: [2], data: new Float32Array([1, 2]) } }, { step: "3" });
 * const { tensors, metadata } = decodeSafetensors(bytes);
 * console.log(tensors.w.data, metadata.step); // Float32Array [1, 2] "3"
 * ```
 */
export function encodeSafetensors(tensors: StateDict, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort(compareCodePoints);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    const sorted: Record<string, string> = {};
    for (const key of Object.keys(metadata).sort(compareCodePoints)) {
      const value = metadata[key];
      if (typeof value !== "string") {
        throw new TypeError(
          `Cannot write safetensors metadata "${key}": the value ${
            JSON.stringify(value)
          } is a ${typeof value}, expected a string`,
        );
      }
      define(sorted, key, value);
    }
    header.__metadata__ = sorted;
  }
  let offset = 0;
  for (const name of names) {
    if (name === "__metadata__") {
      throw new Error(`Cannot write a tensor named "__metadata__": the name is reserved for the metadata`);
    }
    const { shape, data } = tensors[name];
    if (!isShape(shape)) {
      throw new Error(
        `Cannot write tensor "${name}": shape ${
          JSON.stringify(shape)
        } is not a list of non-negative integers`,
      );
    }
    if (!(data instanceof Float32Array) || data.length !== product(shape)) {
      const length = data instanceof Float32Array
        ? `${data.length} values`
        : "data that is not a Float32Array";
      throw new Error(
        `Cannot write tensor "${name}": shape ${formatShape(shape)} needs ${
          product(shape)
        } values, got ${length}`,
      );
    }
    const end = offset + 4 * data.length;
    define(header, name, { dtype: "F32", shape, data_offsets: [offset, end] });
    offset = end;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padding = (8 - (json.length % 8)) % 8;
  if (padding > 0) {
    const padded = new Uint8Array(json.length + padding).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  view.setUint32(4, Math.floor(json.length / 2 ** 32), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const name of names) {
    const { data } = tensors[name];
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    } else {
      for (let i = 0; i < data.length; i++) view.setFloat32(at + 4 * i, data[i], true);
    }
    at += data.byteLength;
  }
  return out;
}

/** Converts an IEEE half-precision bit pattern to a number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

function readArray(bytes: Uint8Array, start: number, count: number, dtype: string): Float32Array {
  const out = new Float32Array(count);
  if (dtype === "F32" && LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes.subarray(start, start + 4 * count));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, count * SUPPORTED_DTYPES[dtype]);
  if (dtype === "F32") {
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  } else if (dtype === "F64") {
    for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
  } else if (dtype === "F16") {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  }
  return out;
}

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Checks the structure of a header's JSON text before `JSON.parse` sees it, in one
 * pass: objects and arrays nest at most {@linkcode MAX_HEADER_DEPTH} deep, and no
 * object has the same key twice (keys are compared after unescaping, so `"a"` and
 * `"\u0061"` are the same). Syntax errors are left to `JSON.parse`.
 */
function checkHeaderStructure(text: string, fail: (message: string) => never): void {
  const QUOTE = 0x22, BACKSLASH = 0x5c;
  const objects: (Set<string> | null)[] = []; // one per open bracket: its keys, or null for an array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== QUOTE) j += text.charCodeAt(j) === BACKSLASH ? 2 : 1;
      const keys = objects.at(-1);
      if (expectKey && keys) {
        let key = text.slice(i + 1, j);
        if (key.includes("\\")) {
          try {
            key = JSON.parse(text.slice(i, j + 1));
          } catch {
            return; // a bad escape: JSON.parse reports it
          }
        }
        if (keys.has(key)) {
          fail(
            objects.length === 1
              ? `the header names tensor ${quote(key)} twice; names must be unique`
              : `the header has key ${quote(key)} twice in one object; keys must be unique`,
          );
        }
        keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) { // { [
      if (objects.length >= MAX_HEADER_DEPTH) {
        fail(`the header nests deeper than the limit of ${MAX_HEADER_DEPTH} levels of objects and arrays`);
      }
      objects.push(c === 0x7b ? new Set() : null);
      expectKey = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) { // } ]
      objects.pop();
      expectKey = false;
    } else if (c === 0x2c) { // ,
      expectKey = objects.at(-1) instanceof Set;
    } else if (c === 0x3a) { // :
      expectKey = false;
    }
  }
}

/** An own property of a plain object, or undefined (never an inherited one such as `toString`). */
function own(record: object, key: string): unknown {
  return Object.hasOwn(record, key) ? (record as Record<string, unknown>)[key] : undefined;
}

/**
 * Decodes safetensors bytes, validating the whole header against the file first.
 *
 * Checked before the header is parsed: the header length lies within the file and
 * within {@linkcode MAX_HEADER_BYTES}, the header is UTF-8 without a byte order mark,
 * nests at most {@linkcode MAX_HEADER_DEPTH} deep and repeats no key (so no tensor
 * name twice). Checked before any data is read: the header is a JSON object, every
 * entry has a supported dtype (an own key of {@linkcode SUPPORTED_DTYPES}), a shape of
 * non-negative integers and `data_offsets` `[begin, end]` with `end - begin` equal to
 * the dtype size times the number of elements, no two tensors overlap, and every
 * tensor lies inside the data buffer (a file whose tensors run past its end reads as
 * truncated). Gaps between tensors are allowed. F16, BF16 and F64 tensors are
 * converted to f32. The work is linear in the file size.
 *
 * @param bytes The file contents.
 * @param source What to call the bytes in error messages, usually the file path.
 * @returns The tensors and the `__metadata__` map.
 * @throws {SafetensorsError} Any validation failure, with a message naming `source`, the
 *   tensor and the value (at most about 200 characters of it).
 *
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "@metatokens/model/safetensors";
 * const bytes = encodeSafetensors({ scalar: { shape: [], data: new Float32Array([7]) } });
 * console.log(decodeSafetensors(bytes).tensors.scalar); // { shape: [], data: Float32Array [7] }
 * try {
 *   decodeSafetensors(bytes.subarray(0, bytes.length - 1), "model.safetensors");
 * } catch (e) {
 *   console.log((e as Error).message); // Cannot read safetensors "model.safetensors": the file is truncated: ...
 * }
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array, source = "<bytes>"): SafetensorsContents {
  const fail = (message: string): never => {
    throw new SafetensorsError(source, message);
  };
  if (bytes.length < 8) {
    fail(`the file is ${bytes.length} bytes, too short for the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (headerLength > bytes.length - 8) {
    fail(`header length ${headerLength} exceeds the file size ${bytes.length}`);
  }
  if (headerLength > MAX_HEADER_BYTES) {
    fail(`header length ${headerLength} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  const headerBytes = bytes.subarray(8, 8 + headerLength);
  if (headerBytes[0] === 0xef && headerBytes[1] === 0xbb && headerBytes[2] === 0xbf) {
    fail("the header starts with a UTF-8 byte order mark; expected JSON text without one");
  }
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    fail(`the ${headerLength}-byte header is not valid UTF-8`);
  }
  checkHeaderStructure(text, fail);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`the header is not valid JSON (${(e as Error).message.slice(0, 200)}): ${quote(text, 60)}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail(`the header is ${preview(header, 60)}, expected a JSON object`);
  }
  const bufferStart = 8 + headerLength;
  const bufferLength = bytes.length - bufferStart;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        fail(`"__metadata__" is ${preview(raw)}, expected an object of strings`);
      }
      for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof value !== "string") {
          fail(`metadata ${quote(key)} is ${preview(value)}, expected a string`);
        }
        define(metadata, key, value as string);
      }
      continue;
    }
    const tensor = `tensor ${quote(name)}`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      fail(`${tensor} has entry ${preview(raw)}, expected {dtype, shape, data_offsets}`);
    }
    const entry = raw as object;
    const dtype = own(entry, "dtype"), shape = own(entry, "shape"), offsets = own(entry, "data_offsets");
    if (typeof dtype !== "string" || !Object.hasOwn(SUPPORTED_DTYPES, dtype)) {
      fail(
        `${tensor} has dtype ${preview(dtype)}; supported dtypes are ${
          Object.keys(SUPPORTED_DTYPES).join(", ")
        }`,
      );
    }
    if (!isShape(shape)) {
      fail(`${tensor} has shape ${preview(shape)}, expected a list of non-negative integers`);
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]
    ) {
      fail(`${tensor} has data_offsets ${preview(offsets)}, expected [begin, end] with 0 ≤ begin ≤ end`);
    }
    const s = shape as number[], [begin, end] = offsets as number[];
    const expected = product(s) * SUPPORTED_DTYPES[dtype as string];
    if (end - begin !== expected) {
      fail(
        `${tensor} has data_offsets [${begin}, ${end}] spanning ${end - begin} bytes, but ${dtype} shape ${
          s.length <= 16 ? formatShape(s) : preview(s)
        } needs ${expected}`,
      );
    }
    entries.push({ name, dtype: dtype as string, shape: s, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let previous: Entry | null = null;
  let contiguous = true;
  let maxEnd = 0;
  for (const entry of entries) {
    if (entry.begin !== maxEnd) contiguous = false;
    if (entry.end === entry.begin) continue;
    if (previous !== null && entry.begin < previous.end) {
      fail(
        `tensors ${quote(previous.name)} [${previous.begin}, ${previous.end}] and ${
          quote(entry.name)
        } [${entry.begin}, ${entry.end}] overlap`,
      );
    }
    previous = entry;
    maxEnd = Math.max(maxEnd, entry.end);
  }
  if (maxEnd > bufferLength && contiguous) {
    fail(
      `the file is truncated: it has ${bytes.length} bytes, but its header describes ${
        bufferStart + maxEnd
      } (8 + ${headerLength}-byte header + ${maxEnd} data bytes)`,
    );
  }
  for (const entry of entries) {
    if (entry.end > bufferLength) {
      fail(
        `tensor ${
          quote(entry.name)
        } has data_offsets [${entry.begin}, ${entry.end}] past the end of the ${bufferLength}-byte data buffer`,
      );
    }
  }
  const tensors: StateDict = {};
  for (const { name, dtype, shape, begin } of entries) {
    define(tensors, name, { shape, data: readArray(bytes, bufferStart + begin, product(shape), dtype) });
  }
  return { tensors, metadata };
}

/**
 * Reads and validates a safetensors file (see {@linkcode decodeSafetensors}).
 *
 * @param path The file to read.
 * @returns The tensors and the `__metadata__` map.
 * @throws {SafetensorsError} A missing or unreadable file or any validation failure, naming the path.
 *
 * @example
 * ```ts
 * import { readSafetensors, writeSafetensors } from "@metatokens/model/safetensors";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await writeSafetensors(path, { b: { shape: [1, 2], data: new Float32Array([3, 4]) } });
 * console.log((await readSafetensors(path)).tensors.b.shape); // [1, 2]
 * await Deno.remove(path);
 * ```
 */
export async function readSafetensors(path: string): Promise<SafetensorsContents> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new SafetensorsError(path, "no such file");
    throw new SafetensorsError(path, (e as Error).message, { cause: e });
  }
  return decodeSafetensors(bytes, path);
}

/**
 * Encodes f32 tensors as safetensors (see {@linkcode encodeSafetensors}) and writes
 * them atomically (a temporary file in the same directory, then a rename).
 *
 * @param path The destination file.
 * @param tensors The arrays to write.
 * @param metadata Free-form strings stored under `__metadata__`.
 *
 * @example
 * ```ts
 * import { readSafetensors, writeSafetensors } from "@metatokens/model/safetensors";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await writeSafetensors(path, { w: { shape: [3], data: new Float32Array([1, 2, 3]) } }, { format: "pt" });
 * console.log((await readSafetensors(path)).metadata); // { format: "pt" }
 * await Deno.remove(path);
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: StateDict,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
