/**
 * Assembles every package's `<package>/backends/wasm/*.wat` into
 * `<package>/backends/wasm/_modules.ts` with the bytes inlined (base64), in
 * two variants per module: `relaxed` (using `f32x4.relaxed_madd` and
 * `i32x4.relaxed_dot_i8x16_i7x16_add_s` as written) and `portable` for engines
 * without relaxed SIMD (each `(f32x4.relaxed_madd A B C)` rewritten to
 * `(f32x4.add (f32x4.mul A B) C)`, each relaxed i8 dot to a call of an added
 * function of plain SIMD that gives the same lanes when B is in 0…127). The
 * backend validates both and picks `relaxed` where every module's validates.
 *
 * `deno task build:wasm` writes the file; `deno task check:wasm` rebuilds in
 * memory and fails when the committed file differs (drift).
 *
 * @module
 */

import wabtInit from "wabt";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeBase64 } from "./_base64.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The folders holding `.wat` sources: `<package>/backends/wasm`. */
export function watDirs(): string[] {
  return [...Deno.readDirSync(ROOT)]
    .filter((e) => e.isDirectory && !e.name.startsWith(".") && e.name !== "node_modules")
    .map((e) => join(ROOT, e.name, "backends", "wasm"))
    .filter((dir) => {
      try {
        return [...Deno.readDirSync(dir)].some((f) => f.name.endsWith(".wat"));
      } catch {
        return false;
      }
    })
    .sort();
}
const RELAXED_MADD = "(f32x4.relaxed_madd";
const RELAXED_DOT = "(i32x4.relaxed_dot_i8x16_i7x16_add_s";
/** The relaxed instructions {@linkcode portableWat} rewrites; a source using none has one variant. */
export const RELAXED_OPS: readonly string[] = [RELAXED_MADD, RELAXED_DOT];

/** Name of the function the portable variant calls in place of `i32x4.relaxed_dot_i8x16_i7x16_add_s`. */
export const PORTABLE_DOT = "$portable_dot_i8x16_i7x16_add_s";

/**
 * The portable `i32x4.relaxed_dot_i8x16_i7x16_add_s`: lane i = c[i] + Σ_{j<4} a[4i+j] · b[4i+j]
 * with both operands signed (i16 widening, `i32x4.dot_i16x8_s`, then pairs of lanes added).
 * Where b's top bits are clear (0…127, the instruction's deterministic range) it equals the
 * relaxed instruction lane for lane, bit for bit.
 */
const PORTABLE_DOT_FUNC = `
  ;; Added by _tools/build_wasm.ts to the portable variant: i32x4.relaxed_dot_i8x16_i7x16_add_s
  ;; with b read as signed (exact for b in 0..127, like the relaxed instruction).
  (func ${PORTABLE_DOT} (param $a v128) (param $b v128) (param $c v128) (result v128)
    (local $lo v128) (local $hi v128)
    (local.set $lo (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $a))
                                      (i16x8.extend_low_i8x16_s (local.get $b))))
    (local.set $hi (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $a))
                                      (i16x8.extend_high_i8x16_s (local.get $b))))
    (i32x4.add (local.get $c) (i32x4.add
      (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $lo) (local.get $hi))
      (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $lo) (local.get $hi)))))
`;

/**
 * Rewrites every folded instruction `(<op> A B C)` that starts with `head` (for example
 * `"(f32x4.relaxed_madd"`) outside `;;` comments with `rewrite([A, B, C])`; the operands
 * are rewritten first (nesting).
 */
function rewriteFolded(source: string, head: string, rewrite: (args: string[]) => string): string {
  let out = "";
  let i = 0;
  const name = head.slice(1);
  for (;;) {
    const at = source.indexOf(head, i);
    if (at < 0) return out + source.slice(i);
    const lineStart = source.lastIndexOf("\n", at) + 1;
    if (source.slice(lineStart, at).includes(";;")) {
      // Inside a line comment: copy it through unchanged.
      out += source.slice(i, at + head.length);
      i = at + head.length;
      continue;
    }
    out += source.slice(i, at);
    // Split the three folded operands by balanced parentheses, stepping over `;;` comments.
    const args: string[] = [];
    let j = at + head.length;
    const skipBlank = (): void => {
      for (;;) {
        while (/\s/.test(source[j])) j++;
        if (!source.startsWith(";;", j)) return;
        j = source.indexOf("\n", j) + 1 || source.length;
      }
    };
    while (args.length < 3) {
      skipBlank();
      if (source[j] !== "(") {
        throw new Error(
          `Cannot rewrite ${name} at offset ${at}: operands must be folded s-expressions`,
        );
      }
      const start = j;
      let depth = 0;
      do {
        if (source.startsWith(";;", j)) j = source.indexOf("\n", j);
        else if (source[j] === "(") depth++;
        else if (source[j] === ")") depth--;
        j++;
      } while (depth > 0 && j < source.length);
      args.push(rewriteFolded(source.slice(start, j), head, rewrite));
    }
    skipBlank();
    if (source[j] !== ")") {
      throw new Error(`Cannot rewrite ${name} at offset ${at}: expected three operands`);
    }
    out += rewrite(args);
    i = j + 1;
  }
}

/**
 * The portable variant of a module's source: every folded `(f32x4.relaxed_madd A B C)`
 * outside `;;` comments becomes `(f32x4.add (f32x4.mul A B) C)`, and every folded
 * `(i32x4.relaxed_dot_i8x16_i7x16_add_s A B C)` a call of {@linkcode PORTABLE_DOT}, whose
 * definition is added before the module's closing parenthesis.
 */
export function portableWat(source: string): string {
  let out = rewriteFolded(source, RELAXED_MADD, ([a, b, c]) => `(f32x4.add (f32x4.mul ${a} ${b}) ${c})`);
  const dots = rewriteFolded(out, RELAXED_DOT, ([a, b, c]) => `(call ${PORTABLE_DOT} ${a} ${b} ${c})`);
  if (dots !== out) {
    const close = dots.lastIndexOf(")");
    if (close < 0) throw new Error(`Cannot add ${PORTABLE_DOT}: the source has no closing parenthesis`);
    out = dots.slice(0, close) + PORTABLE_DOT_FUNC + dots.slice(close);
  }
  return out;
}

/** Builds the generated module text from the `.wat` sources of one folder. */
export async function buildModules(dir: string): Promise<string> {
  const wabt = await wabtInit();
  const files = [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".wat"))
    .map((e) => e.name)
    .sort();
  const features = { simd: true, threads: true, relaxed_simd: true };
  const assemble = (name: string, text: string): Uint8Array => {
    const mod = wabt.parseWat(name, text, features);
    try {
      // wabt's typings omit validate's features argument; without it shared memory is refused.
      (mod as unknown as { validate(f: typeof features): void }).validate(features);
      return mod.toBinary({}).buffer;
    } finally {
      mod.destroy();
    }
  };
  const entries = files.map((file) => {
    const source = Deno.readTextFileSync(join(dir, file));
    const portable = assemble(file, portableWat(source));
    const relaxed = RELAXED_OPS.some((op) => source.includes(op)) ? assemble(file, source) : null;
    const name = basename(file, ".wat");
    return `  ${name}: {\n    portable: "${encodeBase64(portable)}",\n    relaxed: ${
      relaxed ? `"${encodeBase64(relaxed)}"` : "null"
    },\n  },`;
  });
  return [
    `// Generated by \`deno task build:wasm\` from ${relative(ROOT, dir)}/*.wat — do not edit.`,
    "// deno-fmt-ignore-file",
    "",
    "/** Base64 WebAssembly binaries: `portable` (SIMD) and `relaxed` (relaxed SIMD, null when identical). */",
    "export const MODULES: Record<string, { portable: string; relaxed: string | null }> = {",
    ...entries,
    "};",
    "",
  ].join("\n");
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  let drift = false;
  for (const dir of watDirs()) {
    const out = join(dir, "_modules.ts");
    const text = await buildModules(dir);
    if (check) {
      let current = "";
      try {
        current = Deno.readTextFileSync(out);
      } catch {
        // missing counts as drift
      }
      if (current !== text) {
        console.error(
          `WASM drift: ${
            relative(ROOT, out)
          } does not match the .wat sources; run \`deno task build:wasm\` and commit the result`,
        );
        drift = true;
      }
    } else {
      const tmp = `${out}.tmp`;
      Deno.writeTextFileSync(tmp, text);
      Deno.renameSync(tmp, out);
      console.log(`wrote ${relative(ROOT, out)}`);
    }
  }
  if (drift) Deno.exit(1);
  if (check) console.log("WASM modules match their .wat sources");
}
