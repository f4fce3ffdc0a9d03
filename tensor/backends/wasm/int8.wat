;; int8.wat — int8 weight-only linear for the metatokens wasm backend (inference).
;;
;;   quantizeInt8: q, scales (N) <- w (N, K), per output row r:
;;     scales[r] = f32(max_k |w[r,k]| / 127), q[r,k] = clamp(nearest(w[r,k] / scales[r]), ±127)
;;   linearInt8:   c (M, N) = a (M, K) · dequant(q)^T + bias (N), per activation row i:
;;     sx[i] = f32(max_k |a[i,k]| / 63), x[i,k] = clamp(nearest(a[i,k] / sx[i]), ±63)
;;     c[i,j] = f32(Σ_k q[j,k] · x[i,k]) · (scales[j] · sx[i]) + bias[j]
;;
;; Layout of q (see int8Words in tensor/kernels.ts): N rows of Kp = ceil(K / 16) · 16 bytes
;; (signed, zero-padded, so every row is 16-byte aligned), then N i32 row sums Σ_k q[r,k].
;;
;; The inner product is i32x4.relaxed_dot_i8x16_i7x16_add_s (AVX-VNNI vpdpbusd where present):
;; lane i += Σ_{j<4} a[4i+j] · b[4i+j], a signed, b deterministic only with its top bit clear.
;; So a = the int8 weights and b = the 7-bit activations stored with an offset of 64 (1…127);
;; Σ q·(x + 64) − 64 · rowsum = Σ q·x exactly (|q·(x+64)| ≤ 127·127: the i16 pair sums of
;; pmaddubsw-style lowerings cannot saturate). Every step is integer, so the relaxed and the
;; portable variant (_tools/build_wasm.ts rewrites the dot into plain i16 SIMD) agree bit for
;; bit, and with the ref oracle, whose float steps these mirror one rounding at a time.
;;
;; Decoding streams each weight row once, sequentially (one row after the other: rows read in
;; an interleaved order defeat the hardware prefetcher when a row is only a few cache lines),
;; for up to 4 activation rows at a time; more rows loop in blocks of 4 (prefill, scoring).
;; Threads split the output rows N in units of 4; each thread quantizes the activation block
;; itself into its own workspace slice (4 · Kp bytes), a small cost next to the weights.

(module
  (import "env" "memory" (memory 1 65536 shared))

  (global $KP (mut i32) (i32.const 0))       ;; packed row bytes Kp
  (global $rowSum (mut i32) (i32.const 0))   ;; Σ of the last row quantRow wrote (before offset)
  (global $d0 (mut i32) (i32.const 0))       ;; dot4 results, activation rows 0..3
  (global $d1 (mut i32) (i32.const 0))
  (global $d2 (mut i32) (i32.const 0))
  (global $d3 (mut i32) (i32.const 0))

  ;; isum(v) -> i32: (v0 + v2) + (v1 + v3).
  (func $isum (param $v v128) (result i32)
    (local.set $v (i32x4.add (local.get $v)
      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
    (i32.add (i32x4.extract_lane 0 (local.get $v)) (i32x4.extract_lane 1 (local.get $v))))

  ;; q4(p, sv, lim) -> i32x4: clamp(nearest(x / s), ±lim) of the 4 floats at p.
  (func $q4 (param $p i32) (param $sv v128) (param $lim v128) (result v128)
    (i32x4.min_s
      (i32x4.max_s
        (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.div (v128.load (local.get $p)) (local.get $sv))))
        (i32x4.neg (local.get $lim)))
      (local.get $lim)))

  ;; quantRow(dst, src, k, limit, offset) -> scale: one row symmetric-quantized to ±limit.
  ;;   src (K) f32; dst (Kp) bytes = clamp(nearest(src / s), ±limit) + offset, padding = offset;
  ;;   s = f32(max |src| / limit) (0 for an all-zero row, whose values 0/0 = NaN saturate to 0).
  ;;   Sets $rowSum = Σ of the clamped values (without the offset).
  (func $quantRow (param $dst i32) (param $src i32) (param $k i32) (param $limit i32) (param $offset i32)
                  (result f32)
    (local $i i32) (local $m v128) (local $amax f32) (local $s f32) (local $sv v128) (local $lim v128)
    (local $off v128) (local $sum v128) (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $p i32) (local $q i32) (local $ssum i32)
    ;; absmax
    (block $done (loop $l
      (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $k)))
      (local.set $m (f32x4.max (local.get $m)
        (f32x4.abs (v128.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l)))
    (local.set $amax (f32.max
      (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
      (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $k)))
      (local.set $amax (f32.max (local.get $amax)
        (f32.abs (f32.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.set $s (f32.div (local.get $amax) (f32.convert_i32_s (local.get $limit))))
    (local.set $sv (f32x4.splat (local.get $s)))
    (local.set $lim (i32x4.splat (local.get $limit)))
    (local.set $off (i32x4.splat (local.get $offset)))
    ;; 16 values per step: four i32x4, narrowed (saturating, never reached) to 16 bytes
    (local.set $i (i32.const 0))
    (block $done (loop $l
      (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $k)))
      (local.set $p (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2))))
      (local.set $v0 (call $q4 (local.get $p) (local.get $sv) (local.get $lim)))
      (local.set $v1 (call $q4 (i32.add (local.get $p) (i32.const 16)) (local.get $sv) (local.get $lim)))
      (local.set $v2 (call $q4 (i32.add (local.get $p) (i32.const 32)) (local.get $sv) (local.get $lim)))
      (local.set $v3 (call $q4 (i32.add (local.get $p) (i32.const 48)) (local.get $sv) (local.get $lim)))
      (local.set $sum (i32x4.add (local.get $sum)
        (i32x4.add (i32x4.add (local.get $v0) (local.get $v1)) (i32x4.add (local.get $v2) (local.get $v3)))))
      (v128.store (i32.add (local.get $dst) (local.get $i))
        (i8x16.narrow_i16x8_s
          (i16x8.narrow_i32x4_s (i32x4.add (local.get $v0) (local.get $off)) (i32x4.add (local.get $v1) (local.get $off)))
          (i16x8.narrow_i32x4_s (i32x4.add (local.get $v2) (local.get $off)) (i32x4.add (local.get $v3) (local.get $off)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $l)))
    ;; scalar tail, then the padding
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $k)))
      (local.set $q (i32.trunc_sat_f32_s (f32.nearest (f32.div
        (f32.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))) (local.get $s)))))
      (local.set $q (select (local.get $q) (local.get $limit) (i32.lt_s (local.get $q) (local.get $limit))))
      (local.set $q (select (local.get $q) (i32.sub (i32.const 0) (local.get $limit))
        (i32.gt_s (local.get $q) (i32.sub (i32.const 0) (local.get $limit)))))
      (local.set $ssum (i32.add (local.get $ssum) (local.get $q)))
      (i32.store8 (i32.add (local.get $dst) (local.get $i)) (i32.add (local.get $q) (local.get $offset)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (global.get $KP)))
      (i32.store8 (i32.add (local.get $dst) (local.get $i)) (local.get $offset))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (global.set $rowSum (i32.add (call $isum (local.get $sum)) (local.get $ssum)))
    (local.get $s))

  ;; quantizeInt8(q, scales, w, n, k, tid, nt): rows of w (N, K) split over the threads.
  (func $quantizeInt8 (export "quantizeInt8")
    (param $q i32) (param $scales i32) (param $w i32) (param $n i32) (param $k i32)
    (param $tid i32) (param $nt i32)
    (local $chunk i32) (local $r i32) (local $r1 i32) (local $sums i32)
    (global.set $KP (i32.and (i32.add (local.get $k) (i32.const 15)) (i32.const -16)))
    (local.set $sums (i32.add (local.get $q) (i32.mul (local.get $n) (global.get $KP))))
    (local.set $chunk (i32.div_u (i32.add (local.get $n) (i32.sub (local.get $nt) (i32.const 1))) (local.get $nt)))
    (local.set $r (i32.mul (local.get $tid) (local.get $chunk)))
    (local.set $r1 (i32.add (local.get $r) (local.get $chunk)))
    (if (i32.gt_u (local.get $r1) (local.get $n)) (then (local.set $r1 (local.get $n))))
    (block $done (loop $rows
      (br_if $done (i32.ge_u (local.get $r) (local.get $r1)))
      (f32.store (i32.add (local.get $scales) (i32.shl (local.get $r) (i32.const 2)))
        (call $quantRow
          (i32.add (local.get $q) (i32.mul (local.get $r) (global.get $KP)))
          (i32.add (local.get $w) (i32.shl (i32.mul (local.get $r) (local.get $k)) (i32.const 2)))
          (local.get $k) (i32.const 127) (i32.const 0)))
      (i32.store (i32.add (local.get $sums) (i32.shl (local.get $r) (i32.const 2))) (global.get $rowSum))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rows))))

  ;; dot1(x, w) -> i32: Σ over Kp bytes of w (signed) · x (1…127), 4 accumulators.
  (func $dot1 (param $x i32) (param $w i32) (result i32)
    (local $o i32) (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (block $done (loop $l
      (br_if $done (i32.gt_u (i32.add (local.get $o) (i32.const 64)) (global.get $KP)))
      (local.set $s0 (i32x4.relaxed_dot_i8x16_i7x16_add_s
        (v128.load offset=0 (i32.add (local.get $w) (local.get $o)))
        (v128.load offset=0 (i32.add (local.get $x) (local.get $o))) (local.get $s0)))
      (local.set $s1 (i32x4.relaxed_dot_i8x16_i7x16_add_s
        (v128.load offset=16 (i32.add (local.get $w) (local.get $o)))
        (v128.load offset=16 (i32.add (local.get $x) (local.get $o))) (local.get $s1)))
      (local.set $s2 (i32x4.relaxed_dot_i8x16_i7x16_add_s
        (v128.load offset=32 (i32.add (local.get $w) (local.get $o)))
        (v128.load offset=32 (i32.add (local.get $x) (local.get $o))) (local.get $s2)))
      (local.set $s3 (i32x4.relaxed_dot_i8x16_i7x16_add_s
        (v128.load offset=48 (i32.add (local.get $w) (local.get $o)))
        (v128.load offset=48 (i32.add (local.get $x) (local.get $o))) (local.get $s3)))
      (local.set $o (i32.add (local.get $o) (i32.const 64)))
      (br $l)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $o) (global.get $KP)))
      (local.set $s0 (i32x4.relaxed_dot_i8x16_i7x16_add_s
        (v128.load (i32.add (local.get $w) (local.get $o)))
        (v128.load (i32.add (local.get $x) (local.get $o))) (local.get $s0)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $l)))
    (call $isum (i32x4.add (i32x4.add (local.get $s0) (local.get $s1)) (i32x4.add (local.get $s2) (local.get $s3)))))

  ;; dot4(x0, x1, x2, x3, w): $d0..$d3 = Σ over Kp bytes of w · x_r, 32 bytes per step into
  ;; 8 accumulators (4 rows x 2 halves); one weight load serves 4 activation rows.
  (func $dot4 (param $x0 i32) (param $x1 i32) (param $x2 i32) (param $x3 i32) (param $w i32)
    (local $o i32) (local $w0 v128) (local $w1 v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    (block $done (loop $l
      (br_if $done (i32.gt_u (i32.add (local.get $o) (i32.const 32)) (global.get $KP)))
      (local.set $w0 (v128.load (i32.add (local.get $w) (local.get $o))))
      (local.set $w1 (v128.load offset=16 (i32.add (local.get $w) (local.get $o))))
      (local.set $s0 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $w0)
        (v128.load (i32.add (local.get $x0) (local.get $o))) (local.get $s0)))
      (local.set $s1 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $w0)
        (v128.load (i32.add (local.get $x1) (local.get $o))) (local.get $s1)))
      (local.set $s2 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $w0)
        (v128.load (i32.add (local.get $x2) (local.get $o))) (local.get $s2)))
      (local.set $s3 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $w0)
        (v128.load (i32.add (local.get $x3) (local.get $o))) (local.get $s3)))
      (local.set $u0 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $w1)
        (v128.load offset=16 (i32.add (local.get $x0) (local.get $o))) (local.get $u0)))
      (local.set $u1 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $w1)
        (v128.load offset=16 (i32.add (local.get $x1) (local.get $o))) (local.get $u1)))
      (local.set $u2 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $w1)
        (v128.load offset=16 (i32.add (local.get $x2) (local.get $o))) (local.get $u2)))
      (local.set $u3 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $w1)
        (v128.load offset=16 (i32.add (local.get $x3) (local.get $o))) (local.get $u3)))
      (local.set $o (i32.add (local.get $o) (i32.const 32)))
      (br $l)))
    (if (i32.lt_u (local.get $o) (global.get $KP))
      (then
        (local.set $w0 (v128.load (i32.add (local.get $w) (local.get $o))))
        (local.set $s0 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $w0)
          (v128.load (i32.add (local.get $x0) (local.get $o))) (local.get $s0)))
        (local.set $s1 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $w0)
          (v128.load (i32.add (local.get $x1) (local.get $o))) (local.get $s1)))
        (local.set $s2 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $w0)
          (v128.load (i32.add (local.get $x2) (local.get $o))) (local.get $s2)))
        (local.set $s3 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $w0)
          (v128.load (i32.add (local.get $x3) (local.get $o))) (local.get $s3)))))
    (global.set $d0 (call $isum (i32x4.add (local.get $s0) (local.get $u0))))
    (global.set $d1 (call $isum (i32x4.add (local.get $s1) (local.get $u1))))
    (global.set $d2 (call $isum (i32x4.add (local.get $s2) (local.get $u2))))
    (global.set $d3 (call $isum (i32x4.add (local.get $s3) (local.get $u3)))))

  ;; dot1x4(x, w, sums, scales, sx, bias, c): c[0..4) for one activation row and weight rows
  ;;   w .. w + 3·Kp (contiguous, so the 4 rows are one sequential block), 16 bytes per step,
  ;;   one accumulator per row; the epilogue reduces the 4 accumulators to [d0 d1 d2 d3] and
  ;;   applies emit's arithmetic lane for lane (the same f32 roundings).
  ;;   sums, scales, bias (or 0), c: pointers at row j of the row sums, scales, bias, output.
  (func $dot1x4 (param $x i32) (param $w i32) (param $sums i32) (param $scales i32) (param $sx f32)
                (param $bias i32) (param $c i32)
    (local $o i32) (local $w1 i32) (local $w2 i32) (local $w3 i32) (local $xv v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $v v128)
    (local.set $w1 (i32.add (local.get $w) (global.get $KP)))
    (local.set $w2 (i32.add (local.get $w1) (global.get $KP)))
    (local.set $w3 (i32.add (local.get $w2) (global.get $KP)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $o) (global.get $KP)))
      (local.set $xv (v128.load (i32.add (local.get $x) (local.get $o))))
      (local.set $s0 (i32x4.relaxed_dot_i8x16_i7x16_add_s
        (v128.load (i32.add (local.get $w) (local.get $o))) (local.get $xv) (local.get $s0)))
      (local.set $s1 (i32x4.relaxed_dot_i8x16_i7x16_add_s
        (v128.load (i32.add (local.get $w1) (local.get $o))) (local.get $xv) (local.get $s1)))
      (local.set $s2 (i32x4.relaxed_dot_i8x16_i7x16_add_s
        (v128.load (i32.add (local.get $w2) (local.get $o))) (local.get $xv) (local.get $s2)))
      (local.set $s3 (i32x4.relaxed_dot_i8x16_i7x16_add_s
        (v128.load (i32.add (local.get $w3) (local.get $o))) (local.get $xv) (local.get $s3)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $l)))
    ;; transpose-add: s01 = [s0.0+s0.2, s1.0+s1.2, s0.1+s0.3, s1.1+s1.3], same for s23
    (local.set $s0 (i32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $s0) (local.get $s1))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $s0) (local.get $s1))))
    (local.set $s2 (i32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $s2) (local.get $s3))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $s2) (local.get $s3))))
    ;; [d0 d1 d2 d3] = s01[0..2) + s01[2..4), s23[0..2) + s23[2..4), minus 64 · row sums
    (local.set $v (i32x4.sub
      (i32x4.add
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $s0) (local.get $s2))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $s0) (local.get $s2)))
      (i32x4.shl (v128.load (local.get $sums)) (i32.const 6))))
    (local.set $v (f32x4.mul (f32x4.convert_i32x4_s (local.get $v))
      (f32x4.mul (v128.load (local.get $scales)) (f32x4.splat (local.get $sx)))))
    (if (local.get $bias) (then (local.set $v (f32x4.add (local.get $v) (v128.load (local.get $bias))))))
    (v128.store (local.get $c) (local.get $v)))

  ;; emit(c, d, sw, sx, bias): *c = f32(d) · (sw · sx) (+ *bias when bias ≠ 0).
  (func $emit (param $c i32) (param $d i32) (param $sw f32) (param $sx f32) (param $bias i32)
    (local $v f32)
    (local.set $v (f32.mul (f32.convert_i32_s (local.get $d)) (f32.mul (local.get $sw) (local.get $sx))))
    (if (local.get $bias) (then (local.set $v (f32.add (local.get $v) (f32.load (local.get $bias))))))
    (f32.store (local.get $c) (local.get $v)))

  ;; linearInt8(c, a, q, scales, bias, m, n, k, ws, wsStride, tid, nt):
  ;;   c (M, N) = a (M, K) · dequant(q (N, K))^T + bias (N) or nothing if bias = 0.
  ;;   ws: workspace of nt · wsStride bytes, wsStride ≥ 4 · Kp + 32; thread tid uses its slice.
  (func $linearInt8 (export "linearInt8")
    (param $c i32) (param $a i32) (param $q i32) (param $scales i32) (param $bias i32)
    (param $m i32) (param $n i32) (param $k i32) (param $ws i32) (param $wsStride i32)
    (param $tid i32) (param $nt i32)
    (local $units i32) (local $chunk i32) (local $j0 i32) (local $j1 i32) (local $j i32)
    (local $i0 i32) (local $mb i32) (local $r i32) (local $xb i32) (local $sx i32) (local $sums i32)
    (local $x1 i32) (local $x2 i32) (local $x3 i32) (local $w i32) (local $off i32)
    (local $sw f32) (local $bj i32) (local $cj i32) (local $nb i32)
    (if (i32.or (i32.eqz (local.get $m)) (i32.eqz (local.get $n))) (then (return)))
    (global.set $KP (i32.and (i32.add (local.get $k) (i32.const 15)) (i32.const -16)))
    (local.set $sums (i32.add (local.get $q) (i32.mul (local.get $n) (global.get $KP))))
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    ;; this thread's output rows [j0, j1), in units of 4
    (local.set $units (i32.shr_u (i32.add (local.get $n) (i32.const 3)) (i32.const 2)))
    (local.set $chunk (i32.div_u (i32.add (local.get $units) (i32.sub (local.get $nt) (i32.const 1))) (local.get $nt)))
    (local.set $j0 (i32.shl (i32.mul (local.get $tid) (local.get $chunk)) (i32.const 2)))
    (local.set $j1 (i32.add (local.get $j0) (i32.shl (local.get $chunk) (i32.const 2))))
    (if (i32.gt_u (local.get $j1) (local.get $n)) (then (local.set $j1 (local.get $n))))
    (if (i32.ge_u (local.get $j0) (local.get $j1)) (then (return)))
    ;; workspace: 4 quantized activation rows (4, Kp) bytes, then their scales sx (4) f32
    (local.set $xb (i32.and (i32.add (i32.add (local.get $ws) (i32.mul (local.get $tid) (local.get $wsStride)))
                                     (i32.const 15)) (i32.const -16)))
    (local.set $sx (i32.add (local.get $xb) (i32.shl (global.get $KP) (i32.const 2))))
    (loop $blocks
      (local.set $mb (i32.sub (local.get $m) (local.get $i0)))
      (if (i32.gt_u (local.get $mb) (i32.const 4)) (then (local.set $mb (i32.const 4))))
      (local.set $r (i32.const 0))
      (loop $quant
        (f32.store (i32.add (local.get $sx) (i32.shl (local.get $r) (i32.const 2)))
          (call $quantRow
            (i32.add (local.get $xb) (i32.mul (local.get $r) (global.get $KP)))
            (i32.add (local.get $a) (i32.shl (i32.mul (i32.add (local.get $i0) (local.get $r)) (local.get $k)) (i32.const 2)))
            (local.get $k) (i32.const 63) (i32.const 64)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $quant (i32.lt_u (local.get $r) (local.get $mb))))
      ;; rows beyond mb alias row 0 (computed, never stored)
      (local.set $x1 (select (i32.add (local.get $xb) (global.get $KP)) (local.get $xb)
        (i32.gt_u (local.get $mb) (i32.const 1))))
      (local.set $x2 (select (i32.add (local.get $xb) (i32.shl (global.get $KP) (i32.const 1))) (local.get $xb)
        (i32.gt_u (local.get $mb) (i32.const 2))))
      (local.set $x3 (select (i32.add (local.get $xb) (i32.mul (global.get $KP) (i32.const 3))) (local.get $xb)
        (i32.gt_u (local.get $mb) (i32.const 3))))
      (local.set $j (local.get $j0))
      ;; one activation row: 4 weight rows at a time while they last
      (if (i32.eq (local.get $mb) (i32.const 1))
        (then
          (block $done (loop $quads
            (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $j1)))
            (call $dot1x4 (local.get $xb)
              (i32.add (local.get $q) (i32.mul (local.get $j) (global.get $KP)))
              (i32.add (local.get $sums) (i32.shl (local.get $j) (i32.const 2)))
              (i32.add (local.get $scales) (i32.shl (local.get $j) (i32.const 2)))
              (f32.load (local.get $sx))
              (select (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))) (i32.const 0)
                (local.get $bias))
              (i32.add (local.get $c)
                (i32.shl (i32.add (i32.mul (local.get $i0) (local.get $n)) (local.get $j)) (i32.const 2))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $quads)))))
      (if (i32.lt_u (local.get $j) (local.get $j1)) (then
      (loop $cols
        (local.set $w (i32.add (local.get $q) (i32.mul (local.get $j) (global.get $KP))))
        (local.set $off (i32.shl (i32.load (i32.add (local.get $sums) (i32.shl (local.get $j) (i32.const 2)))) (i32.const 6)))
        (local.set $sw (f32.load (i32.add (local.get $scales) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $bj (select (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))) (i32.const 0)
          (local.get $bias)))
        (local.set $cj (i32.add (local.get $c)
          (i32.shl (i32.add (i32.mul (local.get $i0) (local.get $n)) (local.get $j)) (i32.const 2))))
        (if (i32.eq (local.get $mb) (i32.const 1))
          (then
            (call $emit (local.get $cj) (i32.sub (call $dot1 (local.get $xb) (local.get $w)) (local.get $off))
              (local.get $sw) (f32.load (local.get $sx)) (local.get $bj)))
          (else
            (call $dot4 (local.get $xb) (local.get $x1) (local.get $x2) (local.get $x3) (local.get $w))
            (call $emit (local.get $cj) (i32.sub (global.get $d0) (local.get $off))
              (local.get $sw) (f32.load (local.get $sx)) (local.get $bj))
            (local.set $cj (i32.add (local.get $cj) (local.get $nb)))
            (call $emit (local.get $cj) (i32.sub (global.get $d1) (local.get $off))
              (local.get $sw) (f32.load offset=4 (local.get $sx)) (local.get $bj))
            (if (i32.gt_u (local.get $mb) (i32.const 2)) (then
              (local.set $cj (i32.add (local.get $cj) (local.get $nb)))
              (call $emit (local.get $cj) (i32.sub (global.get $d2) (local.get $off))
                (local.get $sw) (f32.load offset=8 (local.get $sx)) (local.get $bj))))
            (if (i32.gt_u (local.get $mb) (i32.const 3)) (then
              (local.set $cj (i32.add (local.get $cj) (local.get $nb)))
              (call $emit (local.get $cj) (i32.sub (global.get $d3) (local.get $off))
                (local.get $sw) (f32.load offset=12 (local.get $sx)) (local.get $bj))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $cols (i32.lt_u (local.get $j) (local.get $j1))))))
      (local.set $i0 (i32.add (local.get $i0) (i32.const 4)))
      (br_if $blocks (i32.lt_u (local.get $i0) (local.get $m)))))
)
