import assert from "node:assert/strict";
import { join } from "node:path";
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  SafetensorsError,
  type StateDict,
  writeSafetensors,
} from "./safetensors.ts";

/** Builds a file from a header object (serialised as given, unpadded) and raw data bytes. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function f32Bytes(values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

Deno.test("round trip keeps names, shapes and values, incl. scalars, empty tensors and unicode names", () => {
  const tensors: StateDict = {
    "transformer.h.0.attn.c_attn.weight": {
      shape: [2, 3],
      data: new Float32Array([1, -2, 3.5, 1e-30, -0, 6]),
    },
    scalar: { shape: [], data: new Float32Array([42.25]) },
    empty: { shape: [0, 4], data: new Float32Array(0) },
    "größe/变量 🚀": { shape: [1], data: new Float32Array([Infinity]) },
    nan: { shape: [2], data: new Float32Array([NaN, -Infinity]) },
  };
  const bytes = encodeSafetensors(tensors, { format: "pt", step: "12" });
  const { tensors: back, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(metadata, { format: "pt", step: "12" });
  assert.deepEqual(Object.keys(back).sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    assert.deepEqual(back[name].shape, t.shape, name);
    assert.deepEqual(new Uint8Array(back[name].data.buffer), new Uint8Array(t.data.buffer), name);
  }
  assert.ok(Object.is(back["transformer.h.0.attn.c_attn.weight"].data[4], -0));
  // Header length is a multiple of 8, so the data buffer is aligned.
  const n = new DataView(bytes.buffer).getUint32(0, true);
  assert.equal(n % 8, 0);
  assert.deepEqual(decodeSafetensors(encodeSafetensors({})), { tensors: {}, metadata: {} });
});

Deno.test("encoding matches the reference implementation byte for byte", () => {
  // What safetensors' save_file({"b": [[1, 2]], "a": [3]}, metadata={"format": "pt"}) writes:
  // compact JSON, __metadata__ first, tensors sorted by name, padded with spaces to 8 bytes.
  const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
    '"b":{"dtype":"F32","shape":[1,2],"data_offsets":[4,12]}}';
  const padded = json + " ".repeat((8 - (json.length % 8)) % 8);
  assert.equal(padded.length % 8, 0);
  const expected = new Uint8Array(8 + padded.length + 12);
  expected[0] = padded.length & 0xff;
  expected[1] = padded.length >> 8;
  expected.set(new TextEncoder().encode(padded), 8);
  // 3.0f = 0x40400000, 1.0f = 0x3f800000, 2.0f = 0x40000000, little-endian.
  expected.set([0, 0, 0x40, 0x40, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40], 8 + padded.length);
  const actual = encodeSafetensors(
    { b: { shape: [1, 2], data: new Float32Array([1, 2]) }, a: { shape: [1], data: new Float32Array([3]) } },
    { format: "pt" },
  );
  assert.deepEqual(actual, expected);
  // Without metadata there is no __metadata__ key at all.
  const bare = encodeSafetensors({ a: { shape: [], data: new Float32Array([0]) } });
  const text = new TextDecoder().decode(bare.subarray(8, 8 + bare[0]));
  assert.equal(text, '{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}'.padEnd(56, " "));
});

Deno.test("names sort by code point (UTF-8 byte order), as the reference does", () => {
  const one = (v: number) => ({ shape: [1], data: new Float32Array([v]) });
  // "\uFF21" < "\u{1F600}" by code point, but not by UTF-16 code unit.
  const bytes = encodeSafetensors({ "\u{1F600}": one(1), "\uFF21": one(2), B: one(3), a: one(4) });
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + bytes[0] + 256 * bytes[1])));
  assert.deepEqual(Object.keys(header), ["B", "a", "\uFF21", "\u{1F600}"]);
});

Deno.test("decodes a hand-built file, with gaps, F16, BF16 and F64 converted to f32", () => {
  const data = new Uint8Array(32);
  const view = new DataView(data.buffer);
  view.setFloat32(0, 1.5, true);
  view.setUint16(8, 0x3c00, true); // F16 1.0
  view.setUint16(10, 0xc000, true); // F16 -2.0
  view.setUint16(12, 0x0001, true); // F16 smallest subnormal 2^-24
  view.setUint16(14, 0x7c00, true); // F16 +Inf
  view.setUint16(16, 0x3fc0, true); // BF16 1.5
  view.setFloat64(24, -0.125, true);
  const bytes = build({
    x: { dtype: "F32", shape: [], data_offsets: [0, 4] },
    h: { dtype: "F16", shape: [2, 2], data_offsets: [8, 16] },
    b: { dtype: "BF16", shape: [1], data_offsets: [16, 18] },
    d: { dtype: "F64", shape: [1], data_offsets: [24, 32] },
  }, data);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(metadata, {});
  assert.deepEqual(Array.from(tensors.x.data), [1.5]);
  assert.deepEqual(tensors.h.shape, [2, 2]);
  assert.deepEqual(Array.from(tensors.h.data), [1, -2, 2 ** -24, Infinity]);
  assert.deepEqual(Array.from(tensors.b.data), [1.5]);
  assert.deepEqual(Array.from(tensors.d.data), [-0.125]);
});

Deno.test("every corruption gives its own message naming the file, tensor and values", () => {
  const ok = { w: { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] } };
  const data = f32Bytes([1, 2, 3, 4]);
  const good = build(ok, data);
  assert.deepEqual(Array.from(decodeSafetensors(good).tensors.w.data), [1, 2, 3, 4]);

  assert.equal(
    errorOf(() => decodeSafetensors(new Uint8Array(5), "f.st")),
    'Cannot read safetensors "f.st": the file is 5 bytes, too short for the 8-byte header length',
  );
  const long = good.slice();
  new DataView(long.buffer).setUint32(0, 999, true);
  assert.equal(
    errorOf(() => decodeSafetensors(long, "x")),
    `Cannot read safetensors "x": header length 999 exceeds the file size ${good.length}`,
  );
  const huge = good.slice();
  new DataView(huge.buffer).setUint32(4, 1, true);
  assert.match(errorOf(() => decodeSafetensors(huge)), /header length 4294967\d+ exceeds the file size/);
  assert.match(
    errorOf(() => decodeSafetensors(build(null, data, '{"w": {"dtype": "F32",'))),
    /^Cannot read safetensors "<bytes>": the header is not valid JSON \(.*\): "\{\\"w\\": \{\\"dtype\\": \\"F32\\","$/,
  );
  assert.match(
    errorOf(() => decodeSafetensors(build([1, 2]))),
    /the header is \[1,2\], expected a JSON object/,
  );
  assert.match(
    errorOf(() => decodeSafetensors(build(null, data, "{}").fill(0xff, 8, 10))),
    /the 2-byte header is not valid UTF-8/,
  );
  assert.equal(
    errorOf(() =>
      decodeSafetensors(build({ w: { dtype: "F32", shape: [2, 2], data_offsets: [16, 32] } }, data))
    ),
    'Cannot read safetensors "<bytes>": tensor "w" has data_offsets [16, 32] past the end of the 16-byte data buffer',
  );
  assert.equal(
    errorOf(() =>
      decodeSafetensors(build({ w: { dtype: "F32", shape: [2, 3], data_offsets: [0, 16] } }, data))
    ),
    'Cannot read safetensors "<bytes>": tensor "w" has data_offsets [0, 16] spanning 16 bytes, but F32 shape [2, 3] needs 24',
  );
  assert.equal(
    errorOf(() =>
      decodeSafetensors(build({
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
      }, data))
    ),
    'Cannot read safetensors "<bytes>": tensors "a" [0, 8] and "b" [4, 12] overlap',
  );
  assert.equal(
    errorOf(() => decodeSafetensors(build({ w: { dtype: "I64", shape: [2], data_offsets: [0, 16] } }, data))),
    'Cannot read safetensors "<bytes>": tensor "w" has dtype "I64"; supported dtypes are F32, F16, BF16, F64',
  );
  assert.equal(
    errorOf(() => decodeSafetensors(good.subarray(0, good.length - 3), "model.safetensors")),
    `Cannot read safetensors "model.safetensors": the file is truncated: it has ${
      good.length - 3
    } bytes, but its header describes ${good.length} (8 + ${good.length - 24}-byte header + 16 data bytes)`,
  );
  assert.match(
    errorOf(() => decodeSafetensors(build({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 0] } }))),
    /tensor "w" has shape \[-1\], expected a list of non-negative integers/,
  );
  assert.match(
    errorOf(() => decodeSafetensors(build({ w: { dtype: "F32", shape: [1], data_offsets: [4, 0] } }, data))),
    /tensor "w" has data_offsets \[4,0\], expected \[begin, end\] with 0 ≤ begin ≤ end/,
  );
  assert.match(
    errorOf(() => decodeSafetensors(build({ w: { dtype: "F32", shape: [1] } }, data))),
    /tensor "w" has data_offsets undefined/,
  );
  assert.match(errorOf(() => decodeSafetensors(build({ w: 3 }))), /tensor "w" has entry 3, expected/);
  assert.match(
    errorOf(() => decodeSafetensors(build({ __metadata__: { step: 3 } }))),
    /metadata "step" is 3, expected a string/,
  );
});

Deno.test("encoding rejects bad shapes, lengths, metadata and the reserved name", () => {
  assert.equal(
    errorOf(() => encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } })),
    'Cannot write tensor "w": shape [2, 2] needs 4 values, got 3 values',
  );
  assert.match(
    errorOf(() => encodeSafetensors({ w: { shape: [1.5], data: new Float32Array(1) } })),
    /shape \[1\.5\] is not a list of non-negative integers/,
  );
  assert.match(
    errorOf(() => encodeSafetensors({}, { step: 3 as unknown as string })),
    /metadata "step": the value 3 is a number, expected a string/,
  );
  assert.match(
    errorOf(() => encodeSafetensors({ __metadata__: { shape: [], data: new Float32Array(1) } })),
    /reserved/,
  );
});

Deno.test("file write is atomic and read names the path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "m.safetensors");
    await writeSafetensors(path, { a: { shape: [2], data: new Float32Array([1, 2]) } });
    await writeSafetensors(path, { a: { shape: [2], data: new Float32Array([3, 4]) } }, { step: "1" });
    const back = await readSafetensors(path);
    assert.deepEqual(Array.from(back.tensors.a.data), [3, 4]);
    assert.deepEqual(back.metadata, { step: "1" });
    assert.deepEqual(Array.from(Deno.readDirSync(dir), (e) => e.name), ["m.safetensors"]);
    await assert.rejects(
      () => readSafetensors(join(dir, "missing.safetensors")),
      { message: `Cannot read safetensors "${join(dir, "missing.safetensors")}": no such file` },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("issue 14: a header nested a million deep is refused before parsing, quickly and briefly", () => {
  const depth = 1_000_000;
  const text = '{"a":' + "[".repeat(depth) + "]".repeat(depth) + "}";
  const start = performance.now();
  const message = errorOf(() => decodeSafetensors(build(null, undefined, text), "deep.st"));
  assert.ok(performance.now() - start < 500, `took ${performance.now() - start} ms`);
  assert.equal(
    message,
    'Cannot read safetensors "deep.st": the header nests deeper than the limit of 8 levels of objects and arrays',
  );
  // Brackets inside strings do not count.
  const names = { "[[[[[[[[[[": { dtype: "F32", shape: [0], data_offsets: [0, 0] } };
  assert.deepEqual(Object.keys(decodeSafetensors(build(names)).tensors), ["[[[[[[[[[["]);
});

Deno.test("issue 14: duplicate tensor names, duplicate keys and a byte order mark are refused", () => {
  const entry = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
  const data = f32Bytes([1]);
  assert.match(
    errorOf(() => decodeSafetensors(build(null, data, `{"w":${entry},"w":${entry}}`))),
    /the header names tensor "w" twice; names must be unique$/,
  );
  assert.match(
    errorOf(() => decodeSafetensors(build(null, data, `{"w":${entry}, "\\u0077" :${entry}}`))),
    /names tensor "w" twice/,
  );
  assert.match(
    errorOf(() => decodeSafetensors(build(null, data, '{"w":{"dtype":"F32","dtype":"F16","shape":[1]}}'))),
    /the header has key "dtype" twice in one object/,
  );
  const bom = build(null, data, `\uFEFF{"w":${entry}}`);
  assert.match(errorOf(() => decodeSafetensors(bom)), /starts with a UTF-8 byte order mark/);
  // Keys equal in different objects are fine.
  const twoObjects = `{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":${entry}}`;
  assert.deepEqual(Object.keys(decodeSafetensors(build(null, data, twoObjects)).tensors).sort(), ["a", "b"]);
});

Deno.test("issue 14: dtypes are own keys, so toString and constructor are refused by name", () => {
  for (const dtype of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
    assert.equal(
      errorOf(() =>
        decodeSafetensors(build({ w: { dtype, shape: [1], data_offsets: [0, 4] } }, f32Bytes([1])))
      ),
      `Cannot read safetensors "<bytes>": tensor "w" has dtype "${dtype}"; supported dtypes are F32, F16, BF16, F64`,
    );
  }
});

Deno.test("issue 14: error messages quote at most about 200 characters of the file", () => {
  const name = "n".repeat(1_000_000);
  const cases = [
    build({ [name]: { dtype: "I8", shape: [1], data_offsets: [0, 1] } }),
    build({ w: { dtype: "x".repeat(1_000_000), shape: [1], data_offsets: [0, 4] } }),
    build({ w: { dtype: "F32", shape: Array(100_000).fill(-1), data_offsets: [0, 4] } }),
    build({ w: { dtype: "F32", shape: Array(100_000).fill(1), data_offsets: [0, 8] } }),
    build({ __metadata__: { [name]: 1 } }),
    build({ w: "s".repeat(1_000_000) }),
    build(null, undefined, "x".repeat(1_000_000)),
    build(null, undefined, JSON.stringify("q".repeat(1_000_000))),
  ];
  for (const bytes of cases) {
    let e: unknown = null;
    try {
      decodeSafetensors(bytes);
    } catch (caught) {
      e = caught;
    }
    assert.ok(e instanceof SafetensorsError);
    assert.ok(e.message.length < 600, `${e.message.length} characters: ${e.message.slice(0, 120)}`);
  }
});

Deno.test("a tensor named __proto__ stays a tensor and leaves the prototype alone", () => {
  const tensors: StateDict = {};
  Object.defineProperty(tensors, "__proto__", {
    value: { shape: [1], data: new Float32Array([5]) },
    enumerable: true,
  });
  const back = decodeSafetensors(encodeSafetensors(tensors)).tensors;
  assert.ok(Object.hasOwn(back, "__proto__"));
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.deepEqual(Array.from(back["__proto__"].data), [5]);
});
