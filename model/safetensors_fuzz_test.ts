/**
 * Seeded fuzzing of the safetensors reader (issue 14): valid files, mutated at
 * random and by known-invalid edits. Every case must end in a decoded file that
 * satisfies the format's invariants or in a {@linkcode SafetensorsError}, each within a
 * bounded time; known-invalid files must never be accepted.
 */

import assert from "node:assert/strict";
import { Rng } from "@metatokens/tensor/rng";
import { fuzzCases, reportFuzz, RssBound } from "../tensor/_testing/fuzz.ts";
import { decodeSafetensors, MAX_HEADER_DEPTH, SafetensorsError, SUPPORTED_DTYPES } from "./safetensors.ts";

const CASES = fuzzCases(3000);
const MAX_CASE_MS = 250;
const DTYPES = Object.keys(SUPPORTED_DTYPES);

interface Built {
  header: Record<string, unknown>;
  data: Uint8Array;
}

/** A valid header and data buffer: a few tensors of random dtypes and shapes, packed with gaps. */
function validFile(rng: Rng): Built {
  const header: Record<string, unknown> = {};
  if (rng.int(2) === 0) header.__metadata__ = { format: "pt", step: String(rng.int(1000)) };
  let offset = 0;
  const n = rng.int(5);
  for (let i = 0; i < n; i++) {
    const dtype = DTYPES[rng.int(DTYPES.length)];
    const shape = Array.from({ length: rng.int(3) }, () => rng.int(4));
    const bytes = shape.reduce((a, b) => a * b, 1) * SUPPORTED_DTYPES[dtype];
    offset += rng.int(2) * 4; // an occasional gap
    header[`t${i}.${["weight", "bias", "x"][rng.int(3)]}`] = {
      dtype,
      shape,
      data_offsets: [offset, offset + bytes],
    };
    offset += bytes;
  }
  const data = new Uint8Array(offset);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return { header, data };
}

function assemble(headerText: string | Uint8Array, data: Uint8Array, lengthOverride?: number): Uint8Array {
  const json = typeof headerText === "string" ? new TextEncoder().encode(headerText) : headerText;
  const out = new Uint8Array(8 + json.length + data.length);
  const view = new DataView(out.buffer);
  const length = lengthOverride ?? json.length;
  view.setUint32(0, length % 2 ** 32, true);
  view.setUint32(4, Math.floor(length / 2 ** 32), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const NASTY: unknown[] = [
  null,
  true,
  -1,
  1.5,
  2 ** 53,
  1e308,
  "",
  "toString",
  "__proto__",
  "constructor",
  "F32 ",
  "f32",
  [],
  [-1],
  [1.5],
  [2 ** 31, 2 ** 31],
  [[1]],
  {},
  { dtype: "F32" },
  "x".repeat(10_000),
];

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)];
}

/** A known-invalid edit of a valid file, or null when the file has no tensor to edit. */
function invalidEdit(rng: Rng, { header, data }: Built): Uint8Array | null {
  const names = Object.keys(header).filter((n) => n !== "__metadata__");
  const text = JSON.stringify(header);
  switch (rng.int(8)) {
    case 0: { // a duplicate tensor name
      if (names.length === 0) return null;
      const name = pick(rng, names);
      return assemble(`${text.slice(0, -1)},${JSON.stringify(name)}:${JSON.stringify(header[name])}}`, data);
    }
    case 1: // a byte order mark
      return assemble(`\uFEFF${text}`, data);
    case 2: { // nesting past the limit
      const depth = MAX_HEADER_DEPTH + rng.int(100_000);
      return assemble(`{"a":${"[".repeat(depth)}${"]".repeat(depth)}}`, data);
    }
    case 3: { // an unsupported or inherited dtype
      if (names.length === 0) return null;
      const entry = {
        ...(header[pick(rng, names)] as object),
        dtype: pick(rng, ["toString", "I64", "", "U8", "bool"]),
      };
      return assemble(JSON.stringify({ ...header, [names[0]]: entry }), data);
    }
    case 4: { // data cut short
      if (data.length === 0) return null;
      const end = Math.max(...names.map((n) => ((header[n] as { data_offsets: number[] }).data_offsets[1])));
      if (end === 0) return null;
      return assemble(text, data.subarray(0, rng.int(end)));
    }
    case 5: // a header length past the file
      return assemble(text, data, text.length + data.length + 1 + rng.int(2 ** 40));
    case 6: { // a negative or fractional dimension
      if (names.length === 0) return null;
      const name = pick(rng, names);
      const entry = { ...(header[name] as object), shape: [pick(rng, [-1, 0.5, NaN, "2"])] };
      return assemble(JSON.stringify({ ...header, [name]: entry }), data);
    }
    default: { // overlapping tensors
      const sized = names.filter((n) => {
        const [b, e] = (header[n] as { data_offsets: number[] }).data_offsets;
        return e - b >= 2;
      });
      if (sized.length === 0) return null;
      const name = pick(rng, sized);
      const entry = header[name] as { data_offsets: number[] };
      return assemble(
        JSON.stringify({ ...header, "zz.overlap": { ...entry, data_offsets: [...entry.data_offsets] } }),
        data,
      );
    }
  }
}

/** A random edit: bytes flipped, JSON values replaced, text spliced, or truncation. */
function randomEdit(rng: Rng, { header, data }: Built): Uint8Array {
  const names = Object.keys(header);
  switch (rng.int(5)) {
    case 0: {
      const bytes = assemble(JSON.stringify(header), data);
      for (let k = 1 + rng.int(4); k > 0; k--) bytes[rng.int(bytes.length)] = rng.int(256);
      return bytes;
    }
    case 1: {
      if (names.length === 0) return assemble(JSON.stringify(pick(rng, NASTY)), data);
      const name = pick(rng, names);
      const entry = header[name];
      const replaced = typeof entry === "object" && entry !== null && rng.int(2) === 0
        ? { ...entry, [pick(rng, ["dtype", "shape", "data_offsets", "extra"])]: pick(rng, NASTY) }
        : pick(rng, NASTY);
      return assemble(JSON.stringify({ ...header, [name]: replaced }), data);
    }
    case 2: {
      const text = JSON.stringify(header);
      const at = rng.int(text.length + 1);
      const insert = pick(rng, ["{", "}", "[", "]", ",", '"', "\\", ":", "\u0000", "\uFFFF", "1e999", "-0"]);
      return assemble(text.slice(0, at) + insert + text.slice(at + rng.int(2)), data);
    }
    case 3: {
      const bytes = assemble(JSON.stringify(header), data);
      return bytes.subarray(0, rng.int(bytes.length + 1));
    }
    default: {
      const bytes = new Uint8Array(rng.int(64));
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
      return bytes;
    }
  }
}

/** What an accepted file must satisfy. */
function checkAccepted(bytes: Uint8Array): void {
  const { tensors, metadata } = decodeSafetensors(bytes);
  for (const [name, t] of Object.entries(tensors)) {
    assert.ok(Object.hasOwn(tensors, name));
    assert.ok(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0), name);
    // `===`, not Object.is: a dimension written -0 (valid JSON) is an empty dimension.
    assert.ok(t.data.length === t.shape.reduce((a, b) => a * b, 1), name);
  }
  for (const value of Object.values(metadata)) assert.equal(typeof value, "string");
}

const stats = { cases: 0, accepted: 0, refused: 0, invalid: 0, maxMs: 0, maxRssGrowth: 0 };
const memory = new RssBound();

function run(bytes: Uint8Array, mustFail: boolean, label: string): void {
  const start = performance.now();
  let accepted = true;
  try {
    checkAccepted(bytes);
  } catch (e) {
    if (!(e instanceof SafetensorsError)) {
      throw new Error(`${label}: not a SafetensorsError: ${e}`, { cause: e });
    }
    assert.ok(e.message.length < 1000, `${label}: a ${e.message.length}-character message`);
    accepted = false;
  }
  const ms = performance.now() - start;
  assert.ok(ms < MAX_CASE_MS, `${label}: took ${ms.toFixed(0)} ms`);
  if (mustFail) assert.ok(!accepted, `${label}: an invalid file was accepted`);
  stats.cases++;
  stats[accepted ? "accepted" : "refused"]++;
  if (mustFail) stats.invalid++;
  stats.maxMs = Math.max(stats.maxMs, ms);
  stats.maxRssGrowth = memory.check(label);
}

Deno.test(`safetensors fuzz: ${CASES} seeded cases end in a valid file or a SafetensorsError, quickly`, () => {
  const rng = new Rng(14);
  let invalid = 0;
  for (let i = 0; i < CASES; i++) {
    const file = validFile(rng);
    const kind = rng.int(3);
    if (kind === 0) {
      run(assemble(JSON.stringify(file.header), file.data), false, `case ${i} (valid)`);
      checkAccepted(assemble(JSON.stringify(file.header), file.data));
    } else if (kind === 1) {
      const bytes = invalidEdit(rng, file);
      if (bytes !== null) {
        invalid++;
        run(bytes, true, `case ${i} (invalid edit)`);
      }
    } else {
      run(randomEdit(rng, file), false, `case ${i} (random edit)`);
    }
  }
  assert.ok(invalid > CASES / 5, `only ${invalid} known-invalid cases`);
  reportFuzz("safetensors", stats);
});
