import assert from "node:assert/strict";
import { portableWat } from "./build_wasm.ts";

Deno.test("portableWat rewrites folded relaxed_madd into mul then add, nested and across comments", () => {
  const src = `(local.set $c (f32x4.relaxed_madd (local.get $a) ;; note (x)
      (f32x4.relaxed_madd (local.get $b) (local.get $b) (local.get $c)) (local.get $c)))
    ;; (f32x4.relaxed_madd A B C) in a comment stays`;
  const out = portableWat(src);
  assert.equal(
    out,
    `(local.set $c (f32x4.add (f32x4.mul (local.get $a) (f32x4.add (f32x4.mul (local.get $b) (local.get $b)) (local.get $c))) (local.get $c)))
    ;; (f32x4.relaxed_madd A B C) in a comment stays`,
  );
});

Deno.test("portableWat refuses relaxed_madd in stack form", () => {
  assert.throws(() => portableWat("(f32x4.relaxed_madd)"), /operands must be folded/);
});

Deno.test("portableWat rewrites the relaxed i8 dot into a call of an added portable function", () => {
  const src = `(module
  (func $f (param $a v128) (result v128)
    (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) ;; weights
      (local.get $a) (v128.const i32x4 0 0 0 0)))
)`;
  const out = portableWat(src);
  // operands are copied through; comments between them are dropped
  assert.ok(
    out.includes(
      "(call $portable_dot_i8x16_i7x16_add_s (local.get $a) (local.get $a) (v128.const i32x4 0 0 0 0)))",
    ),
  );
  assert.equal(out.match(/\(func \$portable_dot_i8x16_i7x16_add_s/g)?.length, 1);
  assert.ok(out.trimEnd().endsWith(")"));
  assert.equal(portableWat("(module)"), "(module)", "a source without relaxed ops is unchanged");
});
