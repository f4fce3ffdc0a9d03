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
