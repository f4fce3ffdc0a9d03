;; math.wat — transcendental and row-wise kernels of the wasm backend:
;; GELU (erf form), LayerNorm, softmax, cross-entropy (log-sum-exp, loss,
;; backward) and the fused AdamW step.
;;
;; Conventions (see kernels.ts for the contract):
;;   * pointers are i32 byte offsets into the one imported shared memory,
;;     counts are i32, float scalars are f32; pointer 0 is "null";
;;   * forward kernels overwrite their outputs, backward kernels accumulate (+=);
;;   * parallel kernels take trailing (tid, nt): elementwise kernels split
;;     [0, n) into chunks of ceil(n / nt) rounded up to 16 elements, row kernels
;;     split rows into chunks of ceil(n / nt); thread t owns chunk t;
;;   * f32x4 SIMD throughout; tails (< 4 floats) run scalar code or the same
;;     vector code on a splatted scalar, storing lane 0, so no buffer is touched
;;     past its end and no alignment is assumed;
;;   * fused multiply-adds are written only in folded form, f32x4.relaxed_madd
;;     with operands A B C = A·B + C, which the build rewrites to an f32x4.add of
;;     an f32x4.mul for engines without relaxed SIMD.
;;
;; Vector exp (helper $exp4, written out inside the hot loops because V8 does not
;; inline these calls and rematerialises every v128.const at each use, so the
;; loops keep their constants in locals):
;;   t = x·log2e + (1.5·2^23 + 127): the float add rounds n = round(x·log2e) into
;;   the low mantissa bits of t, so bits(t) << 23 is the float 2^n. x is clamped
;;   to ≥ −88, which gives n ≥ −127, and n = −127 makes that float 0: exp
;;   underflows to exactly 0 (also for −inf). r = x − n·ln2 by the Cody–Waite
;;   split (0.693359375 is exact in 9 bits, then −2.12194440e-4);
;;   exp(r) = 1 + r·(1 + r·(q2 + r·(q3 + r·(q4 + r·q5)))), minimax for relative
;;   error on |r| ≤ 0.3472 (7.5e-8); measured max rel error 2e-7 on [−87, 88].
;;   $exp4 also clamps x ≤ 88 (no inf/NaN for large inputs); the inlined copies
;;   omit that clamp because their arguments are ≤ 0 by construction. The copies in
;;   softmaxForward and crossEntropyLse reduce in one step, r = x − n·ln2 with
;;   ln2 rounded to f32 (−0.693147182): one FMA less; the error n·2e-9 is ≤ 2.4e-7
;;   relative at n = −127 (≤ 5e-7 relative for outputs ≥ 1e-5 in the strict
;;   build, where n·ln2 is rounded before the subtraction).
;;   Loop-invariant constants are set once into v128 locals; hot loops call nothing.
;; Φ(x) = ½·(1 + erf(x/√2)), two forms:
;;   * geluForward ($Phi4): the rational erf of Eigen / XLA (generic_fast_erf_float,
;;     erf(u) ≈ u·α(u²)/β(u²), α of degree 6 and β of degree 4 in u², u clamped to
;;     [−4, 4], where erf = ±1 to f32 precision), with u = x/√2 and the ½ folded into
;;     the coefficients and β normalised to β(0) = 1:
;;       Φ(x) = ½ + xc·P(xc²)/Q(xc²),  xc = clamp(x, ±4√2),
;;       P = 0.398942262 + 0.0366150662 z + 0.0045542093 z² + 1.76361878e-4 z³
;;           + 3.25463429e-6 z⁴ − 2.14599041e-8 z⁵ + 1.05574667e-10 z⁶,
;;       Q = 1 + 0.258445978 z + 0.029492775 z² + 1.86976825e-3 z³ + 6.38202691e-5 z⁴.
;;     No exp, one division. Measured over x ∈ [−10, 10] (2M points) against an f64
;;     reference: |Φ error| ≤ 2.2e-7, |gelu error| ≤ 9.6e-7 (1.4e-6 strict build),
;;     worst at x ≈ −5.2 where ½ + xc·P/Q cancels; gelu(±100) = 0 and 100 exactly.
;;   * geluBackward ($geluParts): Abramowitz–Stegun 7.1.26 (|error| ≤ 1.5e-7) in
;;     its erfc form ½·erfc(|x|/√2) = t·Σ b_k t^k · exp(−x²/2),
;;     t = 1/(1 + 0.2316419·|x|), so that exp(−x²/2) is shared with φ(x).
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; ---------------------------------------------------------------------------
  ;; helpers (the scalar tails use these; the loops carry the code inline)
  ;; ---------------------------------------------------------------------------

  ;; exp4(x) -> exp(x) lanewise, x clamped to [−88, 88] (see header)
  (func $exp4 (param $x v128) (result v128)
    (local $ex v128) (local $et v128) (local $en v128) (local $er v128)
    (local.set $ex (f32x4.pmax
      (f32x4.pmin (local.get $x) (v128.const f32x4 88 88 88 88))
      (v128.const f32x4 -88 -88 -88 -88)))
    (local.set $et (f32x4.relaxed_madd (local.get $ex)
      (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504)
      (v128.const f32x4 12583039 12583039 12583039 12583039)))
    (local.set $en (f32x4.sub (local.get $et) (v128.const f32x4 12583039 12583039 12583039 12583039)))
    (local.set $er (f32x4.relaxed_madd (local.get $en)
      (v128.const f32x4 -0.693359375 -0.693359375 -0.693359375 -0.693359375) (local.get $ex)))
    (local.set $er (f32x4.relaxed_madd (local.get $en)
      (v128.const f32x4 2.12194440e-4 2.12194440e-4 2.12194440e-4 2.12194440e-4) (local.get $er)))
    (f32x4.mul
      (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd
        (v128.const f32x4 8.325723000e-03 8.325723000e-03 8.325723000e-03 8.325723000e-03) (local.get $er)
        (v128.const f32x4 4.190892726e-02 4.190892726e-02 4.190892726e-02 4.190892726e-02)) (local.get $er)
        (v128.const f32x4 1.666694134e-01 1.666694134e-01 1.666694134e-01 1.666694134e-01)) (local.get $er)
        (v128.const f32x4 4.999903738e-01 4.999903738e-01 4.999903738e-01 4.999903738e-01)) (local.get $er)
        (v128.const f32x4 1 1 1 1)) (local.get $er)
        (v128.const f32x4 1 1 1 1))
      (i32x4.shl (local.get $et) (i32.const 23))))

  ;; geluParts(x) -> (Φ(x), exp(−x²/2)) lanewise (A&S 7.1.26 in erfc form, see header)
  (func $geluParts (param $x v128) (result v128 v128)
    (local $e v128) (local $t v128) (local $h v128)
    (local.set $e (call $exp4 (f32x4.mul (f32x4.mul (local.get $x) (local.get $x))
      (v128.const f32x4 -0.5 -0.5 -0.5 -0.5))))
    (local.set $t (f32x4.div (v128.const f32x4 1 1 1 1)
      (f32x4.relaxed_madd (f32x4.abs (local.get $x))
        (v128.const f32x4 0.2316419 0.2316419 0.2316419 0.2316419) (v128.const f32x4 1 1 1 1))))
    (local.set $h (f32x4.mul (f32x4.mul
      (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd
        (v128.const f32x4 0.5307027145 0.5307027145 0.5307027145 0.5307027145) (local.get $t)
        (v128.const f32x4 -0.7265760135 -0.7265760135 -0.7265760135 -0.7265760135)) (local.get $t)
        (v128.const f32x4 0.7107068705 0.7107068705 0.7107068705 0.7107068705)) (local.get $t)
        (v128.const f32x4 -0.142248368 -0.142248368 -0.142248368 -0.142248368)) (local.get $t)
        (v128.const f32x4 0.127414796 0.127414796 0.127414796 0.127414796))
      (local.get $t)) (local.get $e)))
    (v128.bitselect (local.get $h) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $h))
      (i32x4.shr_s (local.get $x) (i32.const 31)))
    (local.get $e))

  ;; Phi4(x) -> Φ(x) = ½·(1 + erf(x/√2)) lanewise (rational erf, see header)
  (func $Phi4 (param $x v128) (result v128)
    (local $xc v128) (local $z v128)
    (local $kHi v128) (local $kLo v128) (local $kHalf v128) (local $kOne v128) (local $kP0 v128) (local $kP1 v128) (local $kP2 v128) (local $kP3 v128) (local $kP4 v128) (local $kP5 v128) (local $kP6 v128) (local $kQ1 v128) (local $kQ2 v128) (local $kQ3 v128) (local $kQ4 v128)
    (local.set $kHi (v128.const f32x4 5.65685415 5.65685415 5.65685415 5.65685415))
    (local.set $kLo (v128.const f32x4 -5.65685415 -5.65685415 -5.65685415 -5.65685415))
    (local.set $kHalf (v128.const f32x4 0.5 0.5 0.5 0.5))
    (local.set $kOne (v128.const f32x4 1 1 1 1))
    (local.set $kP0 (v128.const f32x4 0.398942262 0.398942262 0.398942262 0.398942262))
    (local.set $kP1 (v128.const f32x4 0.0366150662 0.0366150662 0.0366150662 0.0366150662))
    (local.set $kP2 (v128.const f32x4 0.0045542093 0.0045542093 0.0045542093 0.0045542093))
    (local.set $kP3 (v128.const f32x4 1.76361878e-4 1.76361878e-4 1.76361878e-4 1.76361878e-4))
    (local.set $kP4 (v128.const f32x4 3.25463429e-6 3.25463429e-6 3.25463429e-6 3.25463429e-6))
    (local.set $kP5 (v128.const f32x4 -2.14599041e-8 -2.14599041e-8 -2.14599041e-8 -2.14599041e-8))
    (local.set $kP6 (v128.const f32x4 1.05574667e-10 1.05574667e-10 1.05574667e-10 1.05574667e-10))
    (local.set $kQ1 (v128.const f32x4 0.258445978 0.258445978 0.258445978 0.258445978))
    (local.set $kQ2 (v128.const f32x4 0.029492775 0.029492775 0.029492775 0.029492775))
    (local.set $kQ3 (v128.const f32x4 1.86976825e-3 1.86976825e-3 1.86976825e-3 1.86976825e-3))
    (local.set $kQ4 (v128.const f32x4 6.38202691e-5 6.38202691e-5 6.38202691e-5 6.38202691e-5))
    (local.set $xc (f32x4.pmax (f32x4.pmin (local.get $x) (local.get $kHi)) (local.get $kLo)))
    (local.set $z (f32x4.mul (local.get $xc) (local.get $xc)))
    (f32x4.add (local.get $kHalf) (f32x4.div (f32x4.mul (local.get $xc)
      (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (local.get $kP6) (local.get $z) (local.get $kP5)) (local.get $z) (local.get $kP4)) (local.get $z) (local.get $kP3)) (local.get $z) (local.get $kP2)) (local.get $z) (local.get $kP1)) (local.get $z) (local.get $kP0)))
      (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (local.get $kQ4) (local.get $z) (local.get $kQ3)) (local.get $z) (local.get $kQ2)) (local.get $z) (local.get $kQ1)) (local.get $z) (local.get $kOne)))))

  ;; hsum(v) -> v0 + v1 + v2 + v3
  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; hmax(v) -> max(v0, v1, v2, v3)
  (func $hmax (param $v v128) (result f32)
    (f32.max
      (f32.max (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.max (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; ---------------------------------------------------------------------------
  ;; GELU
  ;; ---------------------------------------------------------------------------

  ;; geluForward(out, inp, n, tid, nt)
  ;;   out (N), inp (N): out = 0.5·x·(1 + erf(x/√2)) = x·Φ(x)
  ;;   Φ(x) = ½ + xc·P(xc²)/Q(xc²), xc = clamp(x, ±4√2): the rational erf of the header
  (func (export "geluForward")
    (param $out i32) (param $inp i32) (param $n i32) (param $tid i32) (param $nt i32)
    (local $k i32) (local $end i32) (local $x v128) (local $xc v128) (local $z v128)
    (local $y v128) (local $yc v128) (local $w v128)
    (local $kHi v128) (local $kLo v128) (local $kHalf v128) (local $kOne v128) (local $kP0 v128) (local $kP1 v128) (local $kP2 v128) (local $kP3 v128) (local $kP4 v128) (local $kP5 v128) (local $kP6 v128) (local $kQ1 v128) (local $kQ2 v128) (local $kQ3 v128) (local $kQ4 v128)
    ;; elementwise split: chunk = ceil(n/nt) rounded up to 16; [k, end) in bytes
    (local.set $k (i32.and
      (i32.add (i32.div_u (i32.add (local.get $n) (i32.sub (local.get $nt) (i32.const 1))) (local.get $nt))
        (i32.const 15))
      (i32.const -16)))
    (local.set $end (i32.mul (i32.add (local.get $tid) (i32.const 1)) (local.get $k)))
    (local.set $k (i32.mul (local.get $tid) (local.get $k)))
    (if (i32.gt_u (local.get $end) (local.get $n)) (then (local.set $end (local.get $n))))
    (if (i32.ge_u (local.get $k) (local.get $end)) (then (return)))
    (local.set $k (i32.shl (local.get $k) (i32.const 2)))
    (local.set $end (i32.shl (local.get $end) (i32.const 2)))
    ;; constants live in locals (see header)
    (local.set $kHi (v128.const f32x4 5.65685415 5.65685415 5.65685415 5.65685415))
    (local.set $kLo (v128.const f32x4 -5.65685415 -5.65685415 -5.65685415 -5.65685415))
    (local.set $kHalf (v128.const f32x4 0.5 0.5 0.5 0.5))
    (local.set $kOne (v128.const f32x4 1 1 1 1))
    (local.set $kP0 (v128.const f32x4 0.398942262 0.398942262 0.398942262 0.398942262))
    (local.set $kP1 (v128.const f32x4 0.0366150662 0.0366150662 0.0366150662 0.0366150662))
    (local.set $kP2 (v128.const f32x4 0.0045542093 0.0045542093 0.0045542093 0.0045542093))
    (local.set $kP3 (v128.const f32x4 1.76361878e-4 1.76361878e-4 1.76361878e-4 1.76361878e-4))
    (local.set $kP4 (v128.const f32x4 3.25463429e-6 3.25463429e-6 3.25463429e-6 3.25463429e-6))
    (local.set $kP5 (v128.const f32x4 -2.14599041e-8 -2.14599041e-8 -2.14599041e-8 -2.14599041e-8))
    (local.set $kP6 (v128.const f32x4 1.05574667e-10 1.05574667e-10 1.05574667e-10 1.05574667e-10))
    (local.set $kQ1 (v128.const f32x4 0.258445978 0.258445978 0.258445978 0.258445978))
    (local.set $kQ2 (v128.const f32x4 0.029492775 0.029492775 0.029492775 0.029492775))
    (local.set $kQ3 (v128.const f32x4 1.86976825e-3 1.86976825e-3 1.86976825e-3 1.86976825e-3))
    (local.set $kQ4 (v128.const f32x4 6.38202691e-5 6.38202691e-5 6.38202691e-5 6.38202691e-5))
    ;; two vectors per step
    (block $v2done (loop $v2
      (br_if $v2done (i32.gt_u (i32.add (local.get $k) (i32.const 32)) (local.get $end)))
      (local.set $x (v128.load (i32.add (local.get $inp) (local.get $k))))
      (local.set $y (v128.load offset=16 (i32.add (local.get $inp) (local.get $k))))
      (local.set $xc (f32x4.pmax (f32x4.pmin (local.get $x) (local.get $kHi)) (local.get $kLo)))
      (local.set $z (f32x4.mul (local.get $xc) (local.get $xc)))
      (local.set $yc (f32x4.pmax (f32x4.pmin (local.get $y) (local.get $kHi)) (local.get $kLo)))
      (local.set $w (f32x4.mul (local.get $yc) (local.get $yc)))
      (v128.store (i32.add (local.get $out) (local.get $k)) (f32x4.mul (local.get $x)
        (f32x4.add (local.get $kHalf) (f32x4.div (f32x4.mul (local.get $xc)
        (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (local.get $kP6) (local.get $z) (local.get $kP5)) (local.get $z) (local.get $kP4)) (local.get $z) (local.get $kP3)) (local.get $z) (local.get $kP2)) (local.get $z) (local.get $kP1)) (local.get $z) (local.get $kP0)))
        (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (local.get $kQ4) (local.get $z) (local.get $kQ3)) (local.get $z) (local.get $kQ2)) (local.get $z) (local.get $kQ1)) (local.get $z) (local.get $kOne))))))
      (v128.store offset=16 (i32.add (local.get $out) (local.get $k)) (f32x4.mul (local.get $y)
        (f32x4.add (local.get $kHalf) (f32x4.div (f32x4.mul (local.get $yc)
        (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (local.get $kP6) (local.get $w) (local.get $kP5)) (local.get $w) (local.get $kP4)) (local.get $w) (local.get $kP3)) (local.get $w) (local.get $kP2)) (local.get $w) (local.get $kP1)) (local.get $w) (local.get $kP0)))
        (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (local.get $kQ4) (local.get $w) (local.get $kQ3)) (local.get $w) (local.get $kQ2)) (local.get $w) (local.get $kQ1)) (local.get $w) (local.get $kOne))))))
      (local.set $k (i32.add (local.get $k) (i32.const 32)))
      (br $v2)))
    (if (i32.le_u (i32.add (local.get $k) (i32.const 16)) (local.get $end)) (then
      (local.set $x (v128.load (i32.add (local.get $inp) (local.get $k))))
      (local.set $xc (f32x4.pmax (f32x4.pmin (local.get $x) (local.get $kHi)) (local.get $kLo)))
      (local.set $z (f32x4.mul (local.get $xc) (local.get $xc)))
      (v128.store (i32.add (local.get $out) (local.get $k)) (f32x4.mul (local.get $x)
        (f32x4.add (local.get $kHalf) (f32x4.div (f32x4.mul (local.get $xc)
        (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (local.get $kP6) (local.get $z) (local.get $kP5)) (local.get $z) (local.get $kP4)) (local.get $z) (local.get $kP3)) (local.get $z) (local.get $kP2)) (local.get $z) (local.get $kP1)) (local.get $z) (local.get $kP0)))
        (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (local.get $kQ4) (local.get $z) (local.get $kQ3)) (local.get $z) (local.get $kQ2)) (local.get $z) (local.get $kQ1)) (local.get $z) (local.get $kOne))))))
      (local.set $k (i32.add (local.get $k) (i32.const 16)))))
    (block $tdone (loop $tl
      (br_if $tdone (i32.ge_u (local.get $k) (local.get $end)))
      (local.set $x (f32x4.splat (f32.load (i32.add (local.get $inp) (local.get $k)))))
      (f32.store (i32.add (local.get $out) (local.get $k))
        (f32x4.extract_lane 0 (f32x4.mul (local.get $x) (call $Phi4 (local.get $x)))))
      (local.set $k (i32.add (local.get $k) (i32.const 4)))
      (br $tl))))

  ;; geluBackward(dinp, dout, inp, n, tid, nt)
  ;;   dinp (N), dout (N), inp (N). Inverts `out = x·Φ(x)`:
  ;;   dinp += dout·(Φ(x) + x·φ(x)),  φ(x) = exp(−x²/2)/√(2π)
  (func (export "geluBackward")
    (param $dinp i32) (param $dout i32) (param $inp i32) (param $n i32) (param $tid i32) (param $nt i32)
    (local $k i32) (local $end i32) (local $x v128) (local $e v128) (local $t v128) (local $h v128)
    (local $kIs2pi v128)
    (local $ex v128) (local $et v128) (local $en v128) (local $er v128)
    (local $kLo v128) (local $kL2e v128) (local $kMg v128) (local $kHi v128) (local $kLo2 v128) (local $kQ5 v128) (local $kQ4 v128) (local $kQ3 v128) (local $kQ2 v128) (local $kOne v128)
    (local $kMh v128) (local $kP v128) (local $kB5 v128) (local $kB4 v128) (local $kB3 v128) (local $kB2 v128) (local $kB1 v128)
    ;; elementwise split: chunk = ceil(n/nt) rounded up to 16; [k, end) in bytes
    (local.set $k (i32.and
      (i32.add (i32.div_u (i32.add (local.get $n) (i32.sub (local.get $nt) (i32.const 1))) (local.get $nt))
        (i32.const 15))
      (i32.const -16)))
    (local.set $end (i32.mul (i32.add (local.get $tid) (i32.const 1)) (local.get $k)))
    (local.set $k (i32.mul (local.get $tid) (local.get $k)))
    (if (i32.gt_u (local.get $end) (local.get $n)) (then (local.set $end (local.get $n))))
    (if (i32.ge_u (local.get $k) (local.get $end)) (then (return)))
    (local.set $k (i32.shl (local.get $k) (i32.const 2)))
    (local.set $end (i32.shl (local.get $end) (i32.const 2)))
    ;; exp constants live in locals (see header)
    (local.set $kLo (v128.const f32x4 -88 -88 -88 -88))
    (local.set $kL2e (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))
    (local.set $kMg (v128.const f32x4 12583039 12583039 12583039 12583039))
    (local.set $kHi (v128.const f32x4 -0.693359375 -0.693359375 -0.693359375 -0.693359375))
    (local.set $kLo2 (v128.const f32x4 2.12194440e-4 2.12194440e-4 2.12194440e-4 2.12194440e-4))
    (local.set $kQ5 (v128.const f32x4 8.325723000e-03 8.325723000e-03 8.325723000e-03 8.325723000e-03))
    (local.set $kQ4 (v128.const f32x4 4.190892726e-02 4.190892726e-02 4.190892726e-02 4.190892726e-02))
    (local.set $kQ3 (v128.const f32x4 1.666694134e-01 1.666694134e-01 1.666694134e-01 1.666694134e-01))
    (local.set $kQ2 (v128.const f32x4 4.999903738e-01 4.999903738e-01 4.999903738e-01 4.999903738e-01))
    (local.set $kOne (v128.const f32x4 1 1 1 1))
    (local.set $kMh (v128.const f32x4 -0.5 -0.5 -0.5 -0.5))
    (local.set $kP (v128.const f32x4 0.2316419 0.2316419 0.2316419 0.2316419))
    (local.set $kB5 (v128.const f32x4 0.5307027145 0.5307027145 0.5307027145 0.5307027145))
    (local.set $kB4 (v128.const f32x4 -0.7265760135 -0.7265760135 -0.7265760135 -0.7265760135))
    (local.set $kB3 (v128.const f32x4 0.7107068705 0.7107068705 0.7107068705 0.7107068705))
    (local.set $kB2 (v128.const f32x4 -0.142248368 -0.142248368 -0.142248368 -0.142248368))
    (local.set $kB1 (v128.const f32x4 0.127414796 0.127414796 0.127414796 0.127414796))
    (local.set $kIs2pi (v128.const f32x4 0.3989422804 0.3989422804 0.3989422804 0.3989422804))
    (block $vdone (loop $v
      (br_if $vdone (i32.gt_u (i32.add (local.get $k) (i32.const 16)) (local.get $end)))
      (local.set $x (v128.load (i32.add (local.get $inp) (local.get $k))))
      ;; e = exp(arg ≤ 0), $exp4 inlined
      (local.set $ex (f32x4.pmax (f32x4.mul (f32x4.mul (local.get $x) (local.get $x)) (local.get $kMh)) (local.get $kLo)))
      (local.set $et (f32x4.relaxed_madd (local.get $ex) (local.get $kL2e) (local.get $kMg)))
      (local.set $en (f32x4.sub (local.get $et) (local.get $kMg)))
      (local.set $er (f32x4.relaxed_madd (local.get $en) (local.get $kHi) (local.get $ex)))
      (local.set $er (f32x4.relaxed_madd (local.get $en) (local.get $kLo2) (local.get $er)))
      (local.set $e (f32x4.mul
        (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd
          (local.get $kQ5) (local.get $er) (local.get $kQ4)) (local.get $er) (local.get $kQ3)) (local.get $er)
          (local.get $kQ2)) (local.get $er) (local.get $kOne)) (local.get $er) (local.get $kOne))
        (i32x4.shl (local.get $et) (i32.const 23))))
      ;; h = ½·erfc(|x|/√2) = t·(b1 + t·(b2 + t·(b3 + t·(b4 + t·b5))))·e,  t = 1/(1 + 0.2316419·|x|)
      (local.set $t (f32x4.div (local.get $kOne)
        (f32x4.relaxed_madd (f32x4.abs (local.get $x)) (local.get $kP) (local.get $kOne))))
      (local.set $h (f32x4.mul (f32x4.mul
        (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd
          (local.get $kB5) (local.get $t) (local.get $kB4)) (local.get $t) (local.get $kB3)) (local.get $t)
          (local.get $kB2)) (local.get $t) (local.get $kB1))
        (local.get $t)) (local.get $e)))
      ;; dinp += dout·(Φ + x·e/√(2π))
      (v128.store (i32.add (local.get $dinp) (local.get $k))
        (f32x4.relaxed_madd (v128.load (i32.add (local.get $dout) (local.get $k)))
          (f32x4.relaxed_madd (local.get $x) (f32x4.mul (local.get $e) (local.get $kIs2pi))
            (v128.bitselect (local.get $h) (f32x4.sub (local.get $kOne) (local.get $h))
              (i32x4.shr_s (local.get $x) (i32.const 31))))
          (v128.load (i32.add (local.get $dinp) (local.get $k)))))
      (local.set $k (i32.add (local.get $k) (i32.const 16)))
      (br $v)))
    (block $tdone (loop $tl
      (br_if $tdone (i32.ge_u (local.get $k) (local.get $end)))
      (local.set $x (f32x4.splat (f32.load (i32.add (local.get $inp) (local.get $k)))))
      (call $geluParts (local.get $x))
      (local.set $e)
      (local.set $h)                                       ;; Φ
      (f32.store (i32.add (local.get $dinp) (local.get $k))
        (f32.add (f32.load (i32.add (local.get $dinp) (local.get $k)))
          (f32.mul (f32.load (i32.add (local.get $dout) (local.get $k)))
            (f32x4.extract_lane 0 (f32x4.relaxed_madd (local.get $x)
              (f32x4.mul (local.get $e) (local.get $kIs2pi)) (local.get $h))))))
      (local.set $k (i32.add (local.get $k) (i32.const 4)))
      (br $tl))))

  ;; ---------------------------------------------------------------------------
  ;; LayerNorm
  ;; ---------------------------------------------------------------------------

  ;; layernormForward(out, mean, rstd, inp, weight, bias, n, c, eps, tid, nt)
  ;;   out (N,C), mean (N), rstd (N), inp (N,C), weight (C), bias (C)
  ;;   m = Σ x / C; var = Σ (x − m)² / C (biased); s = 1/√(var + eps)
  ;;   out = (x − m)·s·weight + bias; mean[r] = m; rstd[r] = s (skipped if null)
  ;;   Two-pass mean/variance per row (the second pass reads the row from L1, C = 768
  ;;   is 3 KB), each with four independent accumulator chains.
  (func (export "layernormForward")
    (param $out i32) (param $mean i32) (param $rstd i32) (param $inp i32) (param $weight i32)
    (param $bias i32) (param $n i32) (param $c i32) (param $eps f32) (param $tid i32) (param $nt i32)
    (local $chunk i32) (local $r i32) (local $rend i32) (local $rowb i32) (local $x i32) (local $o i32)
    (local $k i32) (local $cb i32) (local $cv i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $d v128) (local $mv v128) (local $sv v128)
    (local $m f32) (local $s f32) (local $sf f32) (local $df f32)
    (local.set $chunk (i32.div_u (i32.add (local.get $n) (i32.sub (local.get $nt) (i32.const 1))) (local.get $nt)))
    (local.set $r (i32.mul (local.get $tid) (local.get $chunk)))
    (local.set $rend (i32.add (local.get $r) (local.get $chunk)))
    (if (i32.gt_u (local.get $rend) (local.get $n)) (then (local.set $rend (local.get $n))))
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))            ;; row bytes
    (local.set $cv (i32.and (local.get $cb) (i32.const -32)))         ;; bytes covered by 8-float steps
    (block $rdone (loop $row
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rend)))
      (local.set $rowb (i32.mul (local.get $r) (local.get $cb)))
      (local.set $x (i32.add (local.get $inp) (local.get $rowb)))
      (local.set $o (i32.add (local.get $out) (local.get $rowb)))
      ;; pass 1: mean (four independent add chains over 16 floats, then 4 at a time)
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $a1 (local.get $a0))
      (local.set $a2 (local.get $a0))
      (local.set $a3 (local.get $a0))
      (local.set $k (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.gt_u (i32.add (local.get $k) (i32.const 64)) (local.get $cb)))
        (local.set $a0 (f32x4.add (local.get $a0) (v128.load (i32.add (local.get $x) (local.get $k)))))
        (local.set $a1 (f32x4.add (local.get $a1) (v128.load offset=16 (i32.add (local.get $x) (local.get $k)))))
        (local.set $a2 (f32x4.add (local.get $a2) (v128.load offset=32 (i32.add (local.get $x) (local.get $k)))))
        (local.set $a3 (f32x4.add (local.get $a3) (v128.load offset=48 (i32.add (local.get $x) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 64)))
        (br $l1)))
      (block $d1v (loop $l1v
        (br_if $d1v (i32.gt_u (i32.add (local.get $k) (i32.const 16)) (local.get $cb)))
        (local.set $a0 (f32x4.add (local.get $a0) (v128.load (i32.add (local.get $x) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $l1v)))
      (local.set $sf (call $hsum (f32x4.add (f32x4.add (local.get $a0) (local.get $a1))
        (f32x4.add (local.get $a2) (local.get $a3)))))
      (block $d1t (loop $l1t
        (br_if $d1t (i32.ge_u (local.get $k) (local.get $cb)))
        (local.set $sf (f32.add (local.get $sf) (f32.load (i32.add (local.get $x) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $l1t)))
      (local.set $m (f32.div (local.get $sf) (f32.convert_i32_u (local.get $c))))
      (local.set $mv (f32x4.splat (local.get $m)))
      ;; pass 2: biased variance around the mean (the row is in L1 now), four chains
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $a1 (local.get $a0))
      (local.set $a2 (local.get $a0))
      (local.set $a3 (local.get $a0))
      (local.set $k (i32.const 0))
      (block $d2 (loop $l2
        (br_if $d2 (i32.gt_u (i32.add (local.get $k) (i32.const 64)) (local.get $cb)))
        (local.set $d (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $k))) (local.get $mv)))
        (local.set $a0 (f32x4.relaxed_madd (local.get $d) (local.get $d) (local.get $a0)))
        (local.set $d (f32x4.sub (v128.load offset=16 (i32.add (local.get $x) (local.get $k))) (local.get $mv)))
        (local.set $a1 (f32x4.relaxed_madd (local.get $d) (local.get $d) (local.get $a1)))
        (local.set $d (f32x4.sub (v128.load offset=32 (i32.add (local.get $x) (local.get $k))) (local.get $mv)))
        (local.set $a2 (f32x4.relaxed_madd (local.get $d) (local.get $d) (local.get $a2)))
        (local.set $d (f32x4.sub (v128.load offset=48 (i32.add (local.get $x) (local.get $k))) (local.get $mv)))
        (local.set $a3 (f32x4.relaxed_madd (local.get $d) (local.get $d) (local.get $a3)))
        (local.set $k (i32.add (local.get $k) (i32.const 64)))
        (br $l2)))
      (block $d2v (loop $l2v
        (br_if $d2v (i32.gt_u (i32.add (local.get $k) (i32.const 16)) (local.get $cb)))
        (local.set $d (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $k))) (local.get $mv)))
        (local.set $a0 (f32x4.relaxed_madd (local.get $d) (local.get $d) (local.get $a0)))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $l2v)))
      (local.set $sf (call $hsum (f32x4.add (f32x4.add (local.get $a0) (local.get $a1))
        (f32x4.add (local.get $a2) (local.get $a3)))))
      (block $d2t (loop $l2t
        (br_if $d2t (i32.ge_u (local.get $k) (local.get $cb)))
        (local.set $df (f32.sub (f32.load (i32.add (local.get $x) (local.get $k))) (local.get $m)))
        (local.set $sf (f32.add (local.get $sf) (f32.mul (local.get $df) (local.get $df))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $l2t)))
      (local.set $s (f32.div (f32.const 1)
        (f32.sqrt (f32.add (f32.div (local.get $sf) (f32.convert_i32_u (local.get $c))) (local.get $eps)))))
      (local.set $sv (f32x4.splat (local.get $s)))
      (if (local.get $mean) (then
        (f32.store (i32.add (local.get $mean) (i32.shl (local.get $r) (i32.const 2))) (local.get $m))))
      (if (local.get $rstd) (then
        (f32.store (i32.add (local.get $rstd) (i32.shl (local.get $r) (i32.const 2))) (local.get $s))))
      ;; pass 3: normalise, scale, shift
      (local.set $k (i32.const 0))
      (block $d3 (loop $l3
        (br_if $d3 (i32.ge_u (local.get $k) (local.get $cv)))
        (v128.store (i32.add (local.get $o) (local.get $k))
          (f32x4.relaxed_madd
            (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $k))) (local.get $mv)) (local.get $sv))
            (v128.load (i32.add (local.get $weight) (local.get $k)))
            (v128.load (i32.add (local.get $bias) (local.get $k)))))
        (v128.store offset=16 (i32.add (local.get $o) (local.get $k))
          (f32x4.relaxed_madd
            (f32x4.mul (f32x4.sub (v128.load offset=16 (i32.add (local.get $x) (local.get $k))) (local.get $mv)) (local.get $sv))
            (v128.load offset=16 (i32.add (local.get $weight) (local.get $k)))
            (v128.load offset=16 (i32.add (local.get $bias) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 32)))
        (br $l3)))
      (block $d3t (loop $l3t
        (br_if $d3t (i32.ge_u (local.get $k) (local.get $cb)))
        (f32.store (i32.add (local.get $o) (local.get $k))
          (f32.add
            (f32.mul
              (f32.mul (f32.sub (f32.load (i32.add (local.get $x) (local.get $k))) (local.get $m)) (local.get $s))
              (f32.load (i32.add (local.get $weight) (local.get $k))))
            (f32.load (i32.add (local.get $bias) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $l3t)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))

  ;; layernormBackward(dinp, dweight, dbias, dout, mean, rstd, inp, weight, n, c)
  ;;   dinp (N,C), dweight (C), dbias (C), dout (N,C), mean (N), rstd (N),
  ;;   inp (N,C), weight (C); serial (it reduces over rows into dweight/dbias).
  ;;   Inverts `out = (x − m)·s·weight + bias` (llm.c layernorm_backward):
  ;;     norm = (x − m)·s; dnorm = weight·dout
  ;;     dbias += dout; dweight += norm·dout
  ;;     dinp += s·(dnorm − mean_c(dnorm) − norm·mean_c(dnorm·norm))
  (func (export "layernormBackward")
    (param $dinp i32) (param $dweight i32) (param $dbias i32) (param $dout i32) (param $mean i32)
    (param $rstd i32) (param $inp i32) (param $weight i32) (param $n i32) (param $c i32)
    (local $r i32) (local $rowb i32) (local $x i32) (local $dy i32) (local $dx i32)
    (local $k i32) (local $cb i32) (local $cv i32)
    (local $mv v128) (local $sv v128) (local $a0 v128) (local $a1 v128)
    (local $norm v128) (local $g v128) (local $dn v128) (local $dmv v128) (local $dnmv v128)
    (local $m f32) (local $s f32) (local $dm f32) (local $dnm f32) (local $normf f32) (local $gf f32) (local $dnf f32)
    (local $invc f32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $cv (i32.and (local.get $cb) (i32.const -16)))
    (local.set $invc (f32.div (f32.const 1) (f32.convert_i32_u (local.get $c))))
    (local.set $r (i32.const 0))
    (block $rdone (loop $row
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $n)))
      (local.set $rowb (i32.mul (local.get $r) (local.get $cb)))
      (local.set $x (i32.add (local.get $inp) (local.get $rowb)))
      (local.set $dy (i32.add (local.get $dout) (local.get $rowb)))
      (local.set $dx (i32.add (local.get $dinp) (local.get $rowb)))
      (local.set $m (f32.load (i32.add (local.get $mean) (i32.shl (local.get $r) (i32.const 2)))))
      (local.set $s (f32.load (i32.add (local.get $rstd) (i32.shl (local.get $r) (i32.const 2)))))
      (local.set $mv (f32x4.splat (local.get $m)))
      (local.set $sv (f32x4.splat (local.get $s)))
      ;; pass 1: Σ dnorm, Σ dnorm·norm
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $k (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $k) (local.get $cv)))
        (local.set $norm (f32x4.mul
          (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $k))) (local.get $mv)) (local.get $sv)))
        (local.set $dn (f32x4.mul (v128.load (i32.add (local.get $weight) (local.get $k)))
          (v128.load (i32.add (local.get $dy) (local.get $k)))))
        (local.set $a0 (f32x4.add (local.get $a0) (local.get $dn)))
        (local.set $a1 (f32x4.relaxed_madd (local.get $dn) (local.get $norm) (local.get $a1)))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $l1)))
      (local.set $dm (call $hsum (local.get $a0)))
      (local.set $dnm (call $hsum (local.get $a1)))
      (block $d1t (loop $l1t
        (br_if $d1t (i32.ge_u (local.get $k) (local.get $cb)))
        (local.set $normf (f32.mul
          (f32.sub (f32.load (i32.add (local.get $x) (local.get $k))) (local.get $m)) (local.get $s)))
        (local.set $dnf (f32.mul (f32.load (i32.add (local.get $weight) (local.get $k)))
          (f32.load (i32.add (local.get $dy) (local.get $k)))))
        (local.set $dm (f32.add (local.get $dm) (local.get $dnf)))
        (local.set $dnm (f32.add (local.get $dnm) (f32.mul (local.get $dnf) (local.get $normf))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $l1t)))
      (local.set $dm (f32.mul (local.get $dm) (local.get $invc)))
      (local.set $dnm (f32.mul (local.get $dnm) (local.get $invc)))
      (local.set $dmv (f32x4.splat (local.get $dm)))
      (local.set $dnmv (f32x4.splat (local.get $dnm)))
      ;; pass 2: accumulate the three gradients
      (local.set $k (i32.const 0))
      (block $d2 (loop $l2
        (br_if $d2 (i32.ge_u (local.get $k) (local.get $cv)))
        (local.set $norm (f32x4.mul
          (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $k))) (local.get $mv)) (local.get $sv)))
        (local.set $g (v128.load (i32.add (local.get $dy) (local.get $k))))
        (local.set $dn (f32x4.mul (v128.load (i32.add (local.get $weight) (local.get $k))) (local.get $g)))
        (v128.store (i32.add (local.get $dbias) (local.get $k))
          (f32x4.add (v128.load (i32.add (local.get $dbias) (local.get $k))) (local.get $g)))
        (v128.store (i32.add (local.get $dweight) (local.get $k))
          (f32x4.relaxed_madd (local.get $norm) (local.get $g)
            (v128.load (i32.add (local.get $dweight) (local.get $k)))))
        (v128.store (i32.add (local.get $dx) (local.get $k))
          (f32x4.relaxed_madd
            (f32x4.sub (f32x4.sub (local.get $dn) (local.get $dmv)) (f32x4.mul (local.get $norm) (local.get $dnmv)))
            (local.get $sv)
            (v128.load (i32.add (local.get $dx) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $l2)))
      (block $d2t (loop $l2t
        (br_if $d2t (i32.ge_u (local.get $k) (local.get $cb)))
        (local.set $normf (f32.mul
          (f32.sub (f32.load (i32.add (local.get $x) (local.get $k))) (local.get $m)) (local.get $s)))
        (local.set $gf (f32.load (i32.add (local.get $dy) (local.get $k))))
        (local.set $dnf (f32.mul (f32.load (i32.add (local.get $weight) (local.get $k))) (local.get $gf)))
        (f32.store (i32.add (local.get $dbias) (local.get $k))
          (f32.add (f32.load (i32.add (local.get $dbias) (local.get $k))) (local.get $gf)))
        (f32.store (i32.add (local.get $dweight) (local.get $k))
          (f32.add (f32.load (i32.add (local.get $dweight) (local.get $k))) (f32.mul (local.get $normf) (local.get $gf))))
        (f32.store (i32.add (local.get $dx) (local.get $k))
          (f32.add (f32.load (i32.add (local.get $dx) (local.get $k)))
            (f32.mul
              (f32.sub (f32.sub (local.get $dnf) (local.get $dm)) (f32.mul (local.get $normf) (local.get $dnm)))
              (local.get $s))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $l2t)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))

  ;; ---------------------------------------------------------------------------
  ;; softmax over the last axis
  ;; ---------------------------------------------------------------------------

  ;; softmaxForward(out, inp, n, c, tid, nt)
  ;;   out (N,C), inp (N,C): out = exp(x − max_c x) / Σ_c exp(x − max_c x)
  ;;   Per row (3 KB at C = 768, so passes 2 and 3 read from L1): max; out = exp(x − max)
  ;;   and its sum; out *= 1/sum.
  (func (export "softmaxForward")
    (param $out i32) (param $inp i32) (param $n i32) (param $c i32) (param $tid i32) (param $nt i32)
    (local $r i32) (local $rend i32) (local $rowb i32) (local $x i32) (local $o i32)
    (local $k i32) (local $cb i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $mv v128) (local $e v128) (local $e2 v128) (local $inv v128)
    (local $mx f32) (local $sum f32)
    (local $ex v128) (local $et v128) (local $en v128) (local $er v128) (local $ex2 v128) (local $et2 v128) (local $en2 v128) (local $er2 v128)
    (local $kLo v128) (local $kL2e v128) (local $kMg v128) (local $kLn2 v128) (local $kQ5 v128) (local $kQ4 v128) (local $kQ3 v128) (local $kQ2 v128) (local $kOne v128)
    ;; row split: rows [r, rend), chunk = ceil(n/nt)
    (local.set $rend (i32.div_u (i32.add (local.get $n) (i32.sub (local.get $nt) (i32.const 1))) (local.get $nt)))
    (local.set $r (i32.mul (local.get $tid) (local.get $rend)))
    (local.set $rend (i32.add (local.get $r) (local.get $rend)))
    (if (i32.gt_u (local.get $rend) (local.get $n)) (then (local.set $rend (local.get $n))))
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    ;; exp constants live in locals (see header)
    (local.set $kLo (v128.const f32x4 -88 -88 -88 -88))
    (local.set $kL2e (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))
    (local.set $kMg (v128.const f32x4 12583039 12583039 12583039 12583039))
    (local.set $kLn2 (v128.const f32x4 -0.693147182 -0.693147182 -0.693147182 -0.693147182))
    (local.set $kQ5 (v128.const f32x4 8.325723000e-03 8.325723000e-03 8.325723000e-03 8.325723000e-03))
    (local.set $kQ4 (v128.const f32x4 4.190892726e-02 4.190892726e-02 4.190892726e-02 4.190892726e-02))
    (local.set $kQ3 (v128.const f32x4 1.666694134e-01 1.666694134e-01 1.666694134e-01 1.666694134e-01))
    (local.set $kQ2 (v128.const f32x4 4.999903738e-01 4.999903738e-01 4.999903738e-01 4.999903738e-01))
    (local.set $kOne (v128.const f32x4 1 1 1 1))
    (block $rdone (loop $row
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rend)))
      (local.set $rowb (i32.mul (local.get $r) (local.get $cb)))
      (local.set $x (i32.add (local.get $inp) (local.get $rowb)))
      (local.set $o (i32.add (local.get $out) (local.get $rowb)))
      ;; pass 1: row max
      ;; four independent max chains over 16 floats, then 4 at a time
      (local.set $a0 (v128.const f32x4 -inf -inf -inf -inf))
      (local.set $a1 (local.get $a0))
      (local.set $a2 (local.get $a0))
      (local.set $a3 (local.get $a0))
      (local.set $k (i32.const 0))
      (block $d0 (loop $l0
        (br_if $d0 (i32.gt_u (i32.add (local.get $k) (i32.const 64)) (local.get $cb)))
        (local.set $a0 (f32x4.pmax (local.get $a0) (v128.load (i32.add (local.get $x) (local.get $k)))))
        (local.set $a1 (f32x4.pmax (local.get $a1) (v128.load offset=16 (i32.add (local.get $x) (local.get $k)))))
        (local.set $a2 (f32x4.pmax (local.get $a2) (v128.load offset=32 (i32.add (local.get $x) (local.get $k)))))
        (local.set $a3 (f32x4.pmax (local.get $a3) (v128.load offset=48 (i32.add (local.get $x) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 64)))
        (br $l0)))
      (block $d1 (loop $l1
        (br_if $d1 (i32.gt_u (i32.add (local.get $k) (i32.const 16)) (local.get $cb)))
        (local.set $a0 (f32x4.pmax (local.get $a0) (v128.load (i32.add (local.get $x) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $l1)))
      (local.set $mx (call $hmax (f32x4.pmax (f32x4.pmax (local.get $a0) (local.get $a1))
        (f32x4.pmax (local.get $a2) (local.get $a3)))))
      (block $d1t (loop $l1t
        (br_if $d1t (i32.ge_u (local.get $k) (local.get $cb)))
        (local.set $mx (f32.max (local.get $mx) (f32.load (i32.add (local.get $x) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $l1t)))
      (local.set $mv (f32x4.splat (local.get $mx)))
      ;; pass 2: out = exp(x − max), Σ in two chains, two vectors per step
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $a1 (local.get $a0))
      (local.set $k (i32.const 0))
      (block $d2 (loop $l2
        (br_if $d2 (i32.gt_u (i32.add (local.get $k) (i32.const 32)) (local.get $cb)))
        ;; e = exp(arg ≤ 0), $exp4 inlined
        (local.set $ex (f32x4.pmax (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $k))) (local.get $mv)) (local.get $kLo)))
        (local.set $et (f32x4.relaxed_madd (local.get $ex) (local.get $kL2e) (local.get $kMg)))
        (local.set $en (f32x4.sub (local.get $et) (local.get $kMg)))
        (local.set $er (f32x4.relaxed_madd (local.get $en) (local.get $kLn2) (local.get $ex)))
        (local.set $e (f32x4.mul
          (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (local.get $kQ5) (local.get $er) (local.get $kQ4)) (local.get $er) (local.get $kQ3)) (local.get $er) (local.get $kQ2)) (local.get $er) (local.get $kOne)) (local.get $er) (local.get $kOne))
          (i32x4.shl (local.get $et) (i32.const 23))))
        ;; e2 = exp(arg ≤ 0), $exp4 inlined
        (local.set $ex2 (f32x4.pmax (f32x4.sub (v128.load offset=16 (i32.add (local.get $x) (local.get $k))) (local.get $mv)) (local.get $kLo)))
        (local.set $et2 (f32x4.relaxed_madd (local.get $ex2) (local.get $kL2e) (local.get $kMg)))
        (local.set $en2 (f32x4.sub (local.get $et2) (local.get $kMg)))
        (local.set $er2 (f32x4.relaxed_madd (local.get $en2) (local.get $kLn2) (local.get $ex2)))
        (local.set $e2 (f32x4.mul
          (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (local.get $kQ5) (local.get $er2) (local.get $kQ4)) (local.get $er2) (local.get $kQ3)) (local.get $er2) (local.get $kQ2)) (local.get $er2) (local.get $kOne)) (local.get $er2) (local.get $kOne))
          (i32x4.shl (local.get $et2) (i32.const 23))))
        (v128.store (i32.add (local.get $o) (local.get $k)) (local.get $e))
        (v128.store offset=16 (i32.add (local.get $o) (local.get $k)) (local.get $e2))
        (local.set $a0 (f32x4.add (local.get $a0) (local.get $e)))
        (local.set $a1 (f32x4.add (local.get $a1) (local.get $e2)))
        (local.set $k (i32.add (local.get $k) (i32.const 32)))
        (br $l2)))
      (if (i32.le_u (i32.add (local.get $k) (i32.const 16)) (local.get $cb)) (then
        ;; e = exp(arg ≤ 0), $exp4 inlined
        (local.set $ex (f32x4.pmax (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $k))) (local.get $mv)) (local.get $kLo)))
        (local.set $et (f32x4.relaxed_madd (local.get $ex) (local.get $kL2e) (local.get $kMg)))
        (local.set $en (f32x4.sub (local.get $et) (local.get $kMg)))
        (local.set $er (f32x4.relaxed_madd (local.get $en) (local.get $kLn2) (local.get $ex)))
        (local.set $e (f32x4.mul
          (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (local.get $kQ5) (local.get $er) (local.get $kQ4)) (local.get $er) (local.get $kQ3)) (local.get $er) (local.get $kQ2)) (local.get $er) (local.get $kOne)) (local.get $er) (local.get $kOne))
          (i32x4.shl (local.get $et) (i32.const 23))))
        (v128.store (i32.add (local.get $o) (local.get $k)) (local.get $e))
        (local.set $a0 (f32x4.add (local.get $a0) (local.get $e)))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))))
      (local.set $sum (call $hsum (f32x4.add (local.get $a0) (local.get $a1))))
      (block $d2t (loop $l2t
        (br_if $d2t (i32.ge_u (local.get $k) (local.get $cb)))
        (local.set $e (call $exp4 (f32x4.sub
          (f32x4.splat (f32.load (i32.add (local.get $x) (local.get $k)))) (local.get $mv))))
        (f32.store (i32.add (local.get $o) (local.get $k)) (f32x4.extract_lane 0 (local.get $e)))
        (local.set $sum (f32.add (local.get $sum) (f32x4.extract_lane 0 (local.get $e))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $l2t)))
      ;; pass 3: normalise, multiplying by 1/Σ
      (local.set $inv (f32x4.splat (f32.div (f32.const 1) (local.get $sum))))
      (local.set $k (i32.const 0))
      (block $d3 (loop $l3
        (br_if $d3 (i32.gt_u (i32.add (local.get $k) (i32.const 32)) (local.get $cb)))
        (v128.store (i32.add (local.get $o) (local.get $k))
          (f32x4.mul (v128.load (i32.add (local.get $o) (local.get $k))) (local.get $inv)))
        (v128.store offset=16 (i32.add (local.get $o) (local.get $k))
          (f32x4.mul (v128.load offset=16 (i32.add (local.get $o) (local.get $k))) (local.get $inv)))
        (local.set $k (i32.add (local.get $k) (i32.const 32)))
        (br $l3)))
      (block $d3t (loop $l3t
        (br_if $d3t (i32.ge_u (local.get $k) (local.get $cb)))
        (f32.store (i32.add (local.get $o) (local.get $k))
          (f32.mul (f32.load (i32.add (local.get $o) (local.get $k))) (f32x4.extract_lane 0 (local.get $inv))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $l3t)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))

  ;; softmaxBackward(dinp, dout, out, n, c, tid, nt)
  ;;   dinp (N,C), dout (N,C), out (N,C). Inverts `out = exp(x − max) / Σ exp(x − max)`:
  ;;   dinp += out·(dout − Σ_c dout·out)
  (func (export "softmaxBackward")
    (param $dinp i32) (param $dout i32) (param $out i32) (param $n i32) (param $c i32) (param $tid i32) (param $nt i32)
    (local $chunk i32) (local $r i32) (local $rend i32) (local $rowb i32) (local $dy i32) (local $y i32) (local $dx i32)
    (local $k i32) (local $cb i32) (local $cv i32)
    (local $a0 v128) (local $dv v128) (local $dot f32)
    (local.set $chunk (i32.div_u (i32.add (local.get $n) (i32.sub (local.get $nt) (i32.const 1))) (local.get $nt)))
    (local.set $r (i32.mul (local.get $tid) (local.get $chunk)))
    (local.set $rend (i32.add (local.get $r) (local.get $chunk)))
    (if (i32.gt_u (local.get $rend) (local.get $n)) (then (local.set $rend (local.get $n))))
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $cv (i32.and (local.get $cb) (i32.const -16)))
    (block $rdone (loop $row
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rend)))
      (local.set $rowb (i32.mul (local.get $r) (local.get $cb)))
      (local.set $dy (i32.add (local.get $dout) (local.get $rowb)))
      (local.set $y (i32.add (local.get $out) (local.get $rowb)))
      (local.set $dx (i32.add (local.get $dinp) (local.get $rowb)))
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $k (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $k) (local.get $cv)))
        (local.set $a0 (f32x4.relaxed_madd (v128.load (i32.add (local.get $dy) (local.get $k)))
          (v128.load (i32.add (local.get $y) (local.get $k))) (local.get $a0)))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $l1)))
      (local.set $dot (call $hsum (local.get $a0)))
      (block $d1t (loop $l1t
        (br_if $d1t (i32.ge_u (local.get $k) (local.get $cb)))
        (local.set $dot (f32.add (local.get $dot) (f32.mul (f32.load (i32.add (local.get $dy) (local.get $k)))
          (f32.load (i32.add (local.get $y) (local.get $k))))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $l1t)))
      (local.set $dv (f32x4.splat (local.get $dot)))
      (local.set $k (i32.const 0))
      (block $d2 (loop $l2
        (br_if $d2 (i32.ge_u (local.get $k) (local.get $cv)))
        (v128.store (i32.add (local.get $dx) (local.get $k))
          (f32x4.relaxed_madd (v128.load (i32.add (local.get $y) (local.get $k)))
            (f32x4.sub (v128.load (i32.add (local.get $dy) (local.get $k))) (local.get $dv))
            (v128.load (i32.add (local.get $dx) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $l2)))
      (block $d2t (loop $l2t
        (br_if $d2t (i32.ge_u (local.get $k) (local.get $cb)))
        (f32.store (i32.add (local.get $dx) (local.get $k))
          (f32.add (f32.load (i32.add (local.get $dx) (local.get $k)))
            (f32.mul (f32.load (i32.add (local.get $y) (local.get $k)))
              (f32.sub (f32.load (i32.add (local.get $dy) (local.get $k))) (local.get $dot)))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $l2t)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))

  ;; ---------------------------------------------------------------------------
  ;; cross-entropy
  ;; ---------------------------------------------------------------------------

  ;; crossEntropyLse(lse, logits, n, v, tid, nt)
  ;;   lse (N), logits (N,V): lse[r] = M + log Σ_j exp(logits[r,j] − M), M = max_j logits[r,j]
  ;;   One streaming pass per row in 4 KB blocks (online softmax): the block max is
  ;;   taken first (the block then sits in L1), the running sum is rescaled by
  ;;   exp(M_old − M_new) when the max grows, then the block's exps are added.
  (func (export "crossEntropyLse")
    (param $lse i32) (param $logits i32) (param $n i32) (param $v i32) (param $tid i32) (param $nt i32)
    (local $r i32) (local $rend i32) (local $x i32)
    (local $k i32) (local $b i32) (local $bend i32) (local $vb i32) (local $vv i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $mv v128) (local $e v128)
    (local $mx f32) (local $bm f32) (local $sum f32) (local $xf f32)
    (local $ex v128) (local $et v128) (local $en v128) (local $er v128)
    (local $kLo v128) (local $kL2e v128) (local $kMg v128) (local $kLn2 v128) (local $kQ5 v128) (local $kQ4 v128) (local $kQ3 v128) (local $kQ2 v128) (local $kOne v128)
    ;; row split: rows [r, rend), chunk = ceil(n/nt)
    (local.set $rend (i32.div_u (i32.add (local.get $n) (i32.sub (local.get $nt) (i32.const 1))) (local.get $nt)))
    (local.set $r (i32.mul (local.get $tid) (local.get $rend)))
    (local.set $rend (i32.add (local.get $r) (local.get $rend)))
    (if (i32.gt_u (local.get $rend) (local.get $n)) (then (local.set $rend (local.get $n))))
    (local.set $vb (i32.shl (local.get $v) (i32.const 2)))
    (local.set $vv (i32.and (local.get $vb) (i32.const -16)))
    ;; exp constants live in locals (see header)
    (local.set $kLo (v128.const f32x4 -88 -88 -88 -88))
    (local.set $kL2e (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))
    (local.set $kMg (v128.const f32x4 12583039 12583039 12583039 12583039))
    (local.set $kLn2 (v128.const f32x4 -0.693147182 -0.693147182 -0.693147182 -0.693147182))
    (local.set $kQ5 (v128.const f32x4 8.325723000e-03 8.325723000e-03 8.325723000e-03 8.325723000e-03))
    (local.set $kQ4 (v128.const f32x4 4.190892726e-02 4.190892726e-02 4.190892726e-02 4.190892726e-02))
    (local.set $kQ3 (v128.const f32x4 1.666694134e-01 1.666694134e-01 1.666694134e-01 1.666694134e-01))
    (local.set $kQ2 (v128.const f32x4 4.999903738e-01 4.999903738e-01 4.999903738e-01 4.999903738e-01))
    (local.set $kOne (v128.const f32x4 1 1 1 1))
    (block $rdone (loop $row
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rend)))
      (local.set $x (i32.add (local.get $logits) (i32.mul (local.get $r) (local.get $vb))))
      (local.set $mx (f32.const -inf))
      (local.set $mv (f32x4.splat (local.get $mx)))
      (local.set $a0 (v128.const i32x4 0 0 0 0))   ;; Σ exp(x − mx), two chains
      (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $b (i32.const 0))
      (block $bdone (loop $blk
        (br_if $bdone (i32.ge_u (local.get $b) (local.get $vv)))
        (local.set $bend (i32.add (local.get $b) (i32.const 4096)))
        (if (i32.gt_u (local.get $bend) (local.get $vv)) (then (local.set $bend (local.get $vv))))
        ;; block max: four independent chains
        (local.set $a2 (v128.const f32x4 -inf -inf -inf -inf))
        (local.set $a3 (local.get $a2))
        (local.set $e (local.get $a2))
        (local.set $k (local.get $b))
        (block $d0 (loop $l0
          (br_if $d0 (i32.gt_u (i32.add (local.get $k) (i32.const 64)) (local.get $bend)))
          (local.set $a2 (f32x4.pmax (local.get $a2) (v128.load (i32.add (local.get $x) (local.get $k)))))
          (local.set $a3 (f32x4.pmax (local.get $a3) (v128.load offset=16 (i32.add (local.get $x) (local.get $k)))))
          (local.set $e (f32x4.pmax (local.get $e) (v128.load offset=32 (i32.add (local.get $x) (local.get $k)))))
          (local.set $mv (f32x4.pmax (local.get $mv) (v128.load offset=48 (i32.add (local.get $x) (local.get $k)))))
          (local.set $k (i32.add (local.get $k) (i32.const 64)))
          (br $l0)))
        (block $d1 (loop $l1
          (br_if $d1 (i32.ge_u (local.get $k) (local.get $bend)))
          (local.set $a2 (f32x4.pmax (local.get $a2) (v128.load (i32.add (local.get $x) (local.get $k)))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $l1)))
        ;; (mv started as splat(mx), so bm ≥ mx)
        (local.set $bm (call $hmax (f32x4.pmax (f32x4.pmax (local.get $a2) (local.get $a3))
          (f32x4.pmax (local.get $e) (local.get $mv)))))
        (if (f32.gt (local.get $bm) (local.get $mx)) (then
          (local.set $e (call $exp4 (f32x4.splat (f32.sub (local.get $mx) (local.get $bm)))))
          (local.set $a0 (f32x4.mul (local.get $a0) (local.get $e)))
          (local.set $a1 (f32x4.mul (local.get $a1) (local.get $e)))
          (local.set $mx (local.get $bm))))
        (local.set $mv (f32x4.splat (local.get $mx)))
        ;; Σ exp(x − mx) over the block (from L1)
        (local.set $k (local.get $b))
        (block $d2 (loop $l2
          (br_if $d2 (i32.gt_u (i32.add (local.get $k) (i32.const 32)) (local.get $bend)))
          ;; e = exp(arg ≤ 0), $exp4 inlined
          (local.set $ex (f32x4.pmax (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $k))) (local.get $mv)) (local.get $kLo)))
          (local.set $et (f32x4.relaxed_madd (local.get $ex) (local.get $kL2e) (local.get $kMg)))
          (local.set $en (f32x4.sub (local.get $et) (local.get $kMg)))
          (local.set $er (f32x4.relaxed_madd (local.get $en) (local.get $kLn2) (local.get $ex)))
          (local.set $e (f32x4.mul
            (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd
              (local.get $kQ5) (local.get $er) (local.get $kQ4)) (local.get $er) (local.get $kQ3)) (local.get $er)
              (local.get $kQ2)) (local.get $er) (local.get $kOne)) (local.get $er) (local.get $kOne))
            (i32x4.shl (local.get $et) (i32.const 23))))
          (local.set $a0 (f32x4.add (local.get $a0) (local.get $e)))
          ;; e = exp(arg ≤ 0), $exp4 inlined
          (local.set $ex (f32x4.pmax (f32x4.sub (v128.load offset=16 (i32.add (local.get $x) (local.get $k))) (local.get $mv)) (local.get $kLo)))
          (local.set $et (f32x4.relaxed_madd (local.get $ex) (local.get $kL2e) (local.get $kMg)))
          (local.set $en (f32x4.sub (local.get $et) (local.get $kMg)))
          (local.set $er (f32x4.relaxed_madd (local.get $en) (local.get $kLn2) (local.get $ex)))
          (local.set $e (f32x4.mul
            (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd
              (local.get $kQ5) (local.get $er) (local.get $kQ4)) (local.get $er) (local.get $kQ3)) (local.get $er)
              (local.get $kQ2)) (local.get $er) (local.get $kOne)) (local.get $er) (local.get $kOne))
            (i32x4.shl (local.get $et) (i32.const 23))))
          (local.set $a1 (f32x4.add (local.get $a1) (local.get $e)))
          (local.set $k (i32.add (local.get $k) (i32.const 32)))
          (br $l2)))
        (block $d2b (loop $l2b
          (br_if $d2b (i32.ge_u (local.get $k) (local.get $bend)))
          ;; e = exp(arg ≤ 0), $exp4 inlined
          (local.set $ex (f32x4.pmax (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $k))) (local.get $mv)) (local.get $kLo)))
          (local.set $et (f32x4.relaxed_madd (local.get $ex) (local.get $kL2e) (local.get $kMg)))
          (local.set $en (f32x4.sub (local.get $et) (local.get $kMg)))
          (local.set $er (f32x4.relaxed_madd (local.get $en) (local.get $kLn2) (local.get $ex)))
          (local.set $e (f32x4.mul
            (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd
              (local.get $kQ5) (local.get $er) (local.get $kQ4)) (local.get $er) (local.get $kQ3)) (local.get $er)
              (local.get $kQ2)) (local.get $er) (local.get $kOne)) (local.get $er) (local.get $kOne))
            (i32x4.shl (local.get $et) (i32.const 23))))
          (local.set $a0 (f32x4.add (local.get $a0) (local.get $e)))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $l2b)))
        (local.set $b (local.get $bend))
        (br $blk)))
      (local.set $sum (call $hsum (f32x4.add (local.get $a0) (local.get $a1))))
      ;; scalar tail (< 4 floats), same online update
      (local.set $k (local.get $vv))
      (block $d3 (loop $l3
        (br_if $d3 (i32.ge_u (local.get $k) (local.get $vb)))
        (local.set $xf (f32.load (i32.add (local.get $x) (local.get $k))))
        (if (f32.gt (local.get $xf) (local.get $mx)) (then
          (local.set $sum (f32.mul (local.get $sum)
            (f32x4.extract_lane 0 (call $exp4 (f32x4.splat (f32.sub (local.get $mx) (local.get $xf)))))))
          (local.set $mx (local.get $xf))))
        (local.set $sum (f32.add (local.get $sum)
          (f32x4.extract_lane 0 (call $exp4 (f32x4.splat (f32.sub (local.get $xf) (local.get $mx)))))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $l3)))
      (f32.store (i32.add (local.get $lse) (i32.shl (local.get $r) (i32.const 2)))
        (f32.add (local.get $mx) (call $log (local.get $sum))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))

  ;; log(s) for s ≥ 1 (a sum of exps that includes exp(0)): scalar, done once per row.
  ;; s = 2^e·f with f in [√½, √2); log f = 2·atanh(u), u = (f − 1)/(f + 1), series to u^9.
  (func $log (param $s f32) (result f32)
    (local $b i32) (local $e i32) (local $f f64) (local $u f64) (local $u2 f64)
    (local.set $b (i32.reinterpret_f32 (local.get $s)))
    (local.set $e (i32.sub (i32.shr_u (local.get $b) (i32.const 23)) (i32.const 127)))
    (local.set $f (f64.promote_f32 (f32.reinterpret_i32
      (i32.or (i32.and (local.get $b) (i32.const 0x007fffff)) (i32.const 0x3f800000)))))
    (if (f64.gt (local.get $f) (f64.const 1.4142135623730951)) (then
      (local.set $f (f64.mul (local.get $f) (f64.const 0.5)))
      (local.set $e (i32.add (local.get $e) (i32.const 1)))))
    (local.set $u (f64.div (f64.sub (local.get $f) (f64.const 1)) (f64.add (local.get $f) (f64.const 1))))
    (local.set $u2 (f64.mul (local.get $u) (local.get $u)))
    (f32.demote_f64 (f64.add
      (f64.mul (f64.convert_i32_s (local.get $e)) (f64.const 0.6931471805599453))
      (f64.mul (f64.mul (f64.const 2) (local.get $u))
        (f64.add (f64.const 1) (f64.mul (local.get $u2)
        (f64.add (f64.const 0.3333333333333333) (f64.mul (local.get $u2)
        (f64.add (f64.const 0.2) (f64.mul (local.get $u2)
        (f64.add (f64.const 0.14285714285714285) (f64.mul (local.get $u2)
        (f64.add (f64.const 0.1111111111111111) (f64.mul (local.get $u2)
        (f64.add (f64.const 0.09090909090909091) (f64.mul (local.get $u2)
          (f64.const 0.07692307692307693)))))))))))))))))

  ;; crossEntropyLoss(loss, lse, logits, targets, n, v)
  ;;   loss (1), lse (N), logits (N,V), targets (N) int32 with −1 = ignored; serial.
  ;;   loss[0] = mean over valid rows of (lse[r] − logits[r, targets[r]]); 0 if none.
  (func (export "crossEntropyLoss")
    (param $loss i32) (param $lse i32) (param $logits i32) (param $targets i32) (param $n i32) (param $v i32)
    (local $r i32) (local $t i32) (local $cnt i32) (local $acc f64)
    (block $done (loop $row
      (br_if $done (i32.ge_u (local.get $r) (local.get $n)))
      (local.set $t (i32.load (i32.add (local.get $targets) (i32.shl (local.get $r) (i32.const 2)))))
      (if (i32.ne (local.get $t) (i32.const -1)) (then
        (local.set $cnt (i32.add (local.get $cnt) (i32.const 1)))
        (local.set $acc (f64.add (local.get $acc) (f64.promote_f32 (f32.sub
          (f32.load (i32.add (local.get $lse) (i32.shl (local.get $r) (i32.const 2))))
          (f32.load (i32.add (local.get $logits)
            (i32.shl (i32.add (i32.mul (local.get $r) (local.get $v)) (local.get $t)) (i32.const 2))))))))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row)))
    (f32.store (local.get $loss)
      (if (result f32) (local.get $cnt)
        (then (f32.demote_f64 (f64.div (local.get $acc) (f64.convert_i32_u (local.get $cnt)))))
        (else (f32.const 0)))))

  ;; crossEntropyBackward(dlogits, dloss, lse, logits, targets, n, v, tid, nt)
  ;;   dlogits (N,V), dloss (1), lse (N), logits (N,V), targets (N) int32.
  ;;   Inverts `loss = mean_valid(lse[r] − logits[r, t])`:
  ;;   for valid rows dlogits[r,j] += dloss[0]/count·(exp(logits[r,j] − lse[r]) − [j = t]),
  ;;   count = valid rows over all N (each thread recounts); ignored rows untouched.
  (func (export "crossEntropyBackward")
    (param $dlogits i32) (param $dloss i32) (param $lse i32) (param $logits i32) (param $targets i32)
    (param $n i32) (param $v i32) (param $tid i32) (param $nt i32)
    (local $r i32) (local $rend i32) (local $x i32) (local $dx i32) (local $t i32)
    (local $k i32) (local $vb i32) (local $vv i32) (local $cnt i32)
    (local $lv v128) (local $sv v128) (local $e v128) (local $sc f32) (local $p i32)
    (local $ex v128) (local $et v128) (local $en v128) (local $er v128)
    (local $kLo v128) (local $kL2e v128) (local $kMg v128) (local $kHi v128) (local $kLo2 v128) (local $kQ5 v128) (local $kQ4 v128) (local $kQ3 v128) (local $kQ2 v128) (local $kOne v128)
    ;; count valid targets over all rows
    (block $cd (loop $cl
      (br_if $cd (i32.ge_u (local.get $r) (local.get $n)))
      (if (i32.ne (i32.load (i32.add (local.get $targets) (i32.shl (local.get $r) (i32.const 2)))) (i32.const -1))
        (then (local.set $cnt (i32.add (local.get $cnt) (i32.const 1)))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $cl)))
    (if (i32.eqz (local.get $cnt)) (then (return)))
    (local.set $sc (f32.div (f32.load (local.get $dloss)) (f32.convert_i32_u (local.get $cnt))))
    (local.set $sv (f32x4.splat (local.get $sc)))
    ;; row split: rows [r, rend), chunk = ceil(n/nt)
    (local.set $rend (i32.div_u (i32.add (local.get $n) (i32.sub (local.get $nt) (i32.const 1))) (local.get $nt)))
    (local.set $r (i32.mul (local.get $tid) (local.get $rend)))
    (local.set $rend (i32.add (local.get $r) (local.get $rend)))
    (if (i32.gt_u (local.get $rend) (local.get $n)) (then (local.set $rend (local.get $n))))
    (local.set $vb (i32.shl (local.get $v) (i32.const 2)))
    (local.set $vv (i32.and (local.get $vb) (i32.const -16)))
    ;; exp constants live in locals (see header)
    (local.set $kLo (v128.const f32x4 -88 -88 -88 -88))
    (local.set $kL2e (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))
    (local.set $kMg (v128.const f32x4 12583039 12583039 12583039 12583039))
    (local.set $kHi (v128.const f32x4 -0.693359375 -0.693359375 -0.693359375 -0.693359375))
    (local.set $kLo2 (v128.const f32x4 2.12194440e-4 2.12194440e-4 2.12194440e-4 2.12194440e-4))
    (local.set $kQ5 (v128.const f32x4 8.325723000e-03 8.325723000e-03 8.325723000e-03 8.325723000e-03))
    (local.set $kQ4 (v128.const f32x4 4.190892726e-02 4.190892726e-02 4.190892726e-02 4.190892726e-02))
    (local.set $kQ3 (v128.const f32x4 1.666694134e-01 1.666694134e-01 1.666694134e-01 1.666694134e-01))
    (local.set $kQ2 (v128.const f32x4 4.999903738e-01 4.999903738e-01 4.999903738e-01 4.999903738e-01))
    (local.set $kOne (v128.const f32x4 1 1 1 1))
    (block $rdone (loop $row
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rend)))
      (local.set $t (i32.load (i32.add (local.get $targets) (i32.shl (local.get $r) (i32.const 2)))))
      (if (i32.ne (local.get $t) (i32.const -1)) (then
        (local.set $x (i32.add (local.get $logits) (i32.mul (local.get $r) (local.get $vb))))
        (local.set $dx (i32.add (local.get $dlogits) (i32.mul (local.get $r) (local.get $vb))))
        (local.set $lv (f32x4.splat (f32.load (i32.add (local.get $lse) (i32.shl (local.get $r) (i32.const 2))))))
        (local.set $k (i32.const 0))
        (block $d1 (loop $l1
          (br_if $d1 (i32.ge_u (local.get $k) (local.get $vv)))
          ;; e = exp(arg ≤ 0), $exp4 inlined
          (local.set $ex (f32x4.pmax (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $k))) (local.get $lv)) (local.get $kLo)))
          (local.set $et (f32x4.relaxed_madd (local.get $ex) (local.get $kL2e) (local.get $kMg)))
          (local.set $en (f32x4.sub (local.get $et) (local.get $kMg)))
          (local.set $er (f32x4.relaxed_madd (local.get $en) (local.get $kHi) (local.get $ex)))
          (local.set $er (f32x4.relaxed_madd (local.get $en) (local.get $kLo2) (local.get $er)))
          (local.set $e (f32x4.mul
            (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd
              (local.get $kQ5) (local.get $er) (local.get $kQ4)) (local.get $er) (local.get $kQ3)) (local.get $er)
              (local.get $kQ2)) (local.get $er) (local.get $kOne)) (local.get $er) (local.get $kOne))
            (i32x4.shl (local.get $et) (i32.const 23))))
          (v128.store (i32.add (local.get $dx) (local.get $k))
            (f32x4.relaxed_madd (local.get $sv) (local.get $e) (v128.load (i32.add (local.get $dx) (local.get $k)))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $l1)))
        (block $d1t (loop $l1t
          (br_if $d1t (i32.ge_u (local.get $k) (local.get $vb)))
          (f32.store (i32.add (local.get $dx) (local.get $k))
            (f32.add (f32.load (i32.add (local.get $dx) (local.get $k)))
              (f32.mul (local.get $sc) (f32x4.extract_lane 0 (call $exp4 (f32x4.sub
                (f32x4.splat (f32.load (i32.add (local.get $x) (local.get $k)))) (local.get $lv)))))))
          (local.set $k (i32.add (local.get $k) (i32.const 4)))
          (br $l1t)))
        ;; the one-hot term
        (local.set $p (i32.add (local.get $dx) (i32.shl (local.get $t) (i32.const 2))))
        (f32.store (local.get $p) (f32.sub (f32.load (local.get $p)) (local.get $sc)))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))

  ;; ---------------------------------------------------------------------------
  ;; optimiser
  ;; ---------------------------------------------------------------------------

  ;; adamw(param, grad, m, v, gradScale, n, lr, beta1, beta2, eps, wd, bc1, bc2, tid, nt)
  ;;   param, grad, m, v (N); gradScale (1) or 0 for none; bc1 = 1 − β1^t, bc2 = 1 − β2^t.
  ;;   g = grad·scale; m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²
  ;;   param −= lr·(m/bc1 / (√(v/bc2) + eps) + wd·param)   (decoupled decay, PyTorch AdamW)
  (func (export "adamw")
    (param $param i32) (param $grad i32) (param $m i32) (param $v i32) (param $gs i32) (param $n i32)
    (param $lr f32) (param $beta1 f32) (param $beta2 f32) (param $eps f32) (param $wd f32)
    (param $bc1 f32) (param $bc2 f32) (param $tid i32) (param $nt i32)
    (local $chunk i32) (local $k i32) (local $end i32)
    (local $scale f32)
    (local $b1 v128) (local $b2 v128) (local $c1 v128) (local $c2 v128) (local $i1 v128) (local $i2 v128)
    (local $ev v128) (local $lrv v128) (local $dec v128) ;; dec = −lr·wd
    (local $g v128) (local $mm v128) (local $vv v128) (local $p v128)
    (local.set $chunk (i32.and
      (i32.add (i32.div_u (i32.add (local.get $n) (i32.sub (local.get $nt) (i32.const 1))) (local.get $nt))
        (i32.const 15))
      (i32.const -16)))
    (local.set $k (i32.mul (local.get $tid) (local.get $chunk)))
    (local.set $end (i32.add (local.get $k) (local.get $chunk)))
    (if (i32.gt_u (local.get $end) (local.get $n)) (then (local.set $end (local.get $n))))
    (if (i32.ge_u (local.get $k) (local.get $end)) (then (return)))
    (local.set $k (i32.shl (local.get $k) (i32.const 2)))
    (local.set $end (i32.shl (local.get $end) (i32.const 2)))
    (local.set $scale (f32.const 1))
    (if (local.get $gs) (then (local.set $scale (f32.load (local.get $gs)))))
    ;; (1 − β)·scale folds the gradient scale into the moment updates
    (local.set $b1 (f32x4.splat (local.get $beta1)))
    (local.set $b2 (f32x4.splat (local.get $beta2)))
    (local.set $c1 (f32x4.splat (f32.sub (f32.const 1) (local.get $beta1))))
    (local.set $c2 (f32x4.splat (f32.sub (f32.const 1) (local.get $beta2))))
    (local.set $i1 (f32x4.splat (f32.div (f32.const 1) (local.get $bc1))))
    (local.set $i2 (f32x4.splat (f32.div (f32.const 1) (local.get $bc2))))
    (local.set $ev (f32x4.splat (local.get $eps)))
    (local.set $lrv (f32x4.splat (local.get $lr)))
    (local.set $dec (f32x4.splat (f32.neg (f32.mul (local.get $lr) (local.get $wd)))))
    (block $vdone (loop $lv
      (br_if $vdone (i32.gt_u (i32.add (local.get $k) (i32.const 16)) (local.get $end)))
      (local.set $g (f32x4.mul (v128.load (i32.add (local.get $grad) (local.get $k))) (f32x4.splat (local.get $scale))))
      (local.set $mm (f32x4.relaxed_madd (local.get $b1) (v128.load (i32.add (local.get $m) (local.get $k)))
        (f32x4.mul (local.get $c1) (local.get $g))))
      (local.set $vv (f32x4.relaxed_madd (local.get $b2) (v128.load (i32.add (local.get $v) (local.get $k)))
        (f32x4.mul (local.get $c2) (f32x4.mul (local.get $g) (local.get $g)))))
      (v128.store (i32.add (local.get $m) (local.get $k)) (local.get $mm))
      (v128.store (i32.add (local.get $v) (local.get $k)) (local.get $vv))
      ;; param = param − lr·wd·param − lr·mhat/(√vhat + eps)
      (local.set $p (v128.load (i32.add (local.get $param) (local.get $k))))
      (v128.store (i32.add (local.get $param) (local.get $k))
        (f32x4.sub
          (f32x4.relaxed_madd (local.get $p) (local.get $dec) (local.get $p))
          (f32x4.div (f32x4.mul (local.get $lrv) (f32x4.mul (local.get $mm) (local.get $i1)))
            (f32x4.add (f32x4.sqrt (f32x4.mul (local.get $vv) (local.get $i2))) (local.get $ev)))))
      (local.set $k (i32.add (local.get $k) (i32.const 16)))
      (br $lv)))
    (block $tdone (loop $lt
      (br_if $tdone (i32.ge_u (local.get $k) (local.get $end)))
      (local.set $g (f32x4.mul (f32x4.splat (f32.load (i32.add (local.get $grad) (local.get $k)))) (f32x4.splat (local.get $scale))))
      (local.set $mm (f32x4.relaxed_madd (local.get $b1) (f32x4.splat (f32.load (i32.add (local.get $m) (local.get $k))))
        (f32x4.mul (local.get $c1) (local.get $g))))
      (local.set $vv (f32x4.relaxed_madd (local.get $b2) (f32x4.splat (f32.load (i32.add (local.get $v) (local.get $k))))
        (f32x4.mul (local.get $c2) (f32x4.mul (local.get $g) (local.get $g)))))
      (local.set $p (f32x4.splat (f32.load (i32.add (local.get $param) (local.get $k)))))
      (f32.store (i32.add (local.get $m) (local.get $k)) (f32x4.extract_lane 0 (local.get $mm)))
      (f32.store (i32.add (local.get $v) (local.get $k)) (f32x4.extract_lane 0 (local.get $vv)))
      (f32.store (i32.add (local.get $param) (local.get $k))
        (f32x4.extract_lane 0 (f32x4.sub
          (f32x4.relaxed_madd (local.get $p) (local.get $dec) (local.get $p))
          (f32x4.div (f32x4.mul (local.get $lrv) (f32x4.mul (local.get $mm) (local.get $i1)))
            (f32x4.add (f32x4.sqrt (f32x4.mul (local.get $vv) (local.get $i2))) (local.get $ev))))))
      (local.set $k (i32.add (local.get $k) (i32.const 4)))
      (br $lt)))))
