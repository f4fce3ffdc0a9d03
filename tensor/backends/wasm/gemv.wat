;; gemv.wat — matrix products with few rows (M <= 4) against the nn.Linear weight layout.
;;
;;   C_p (M,N) = (accumulate ? C_p : 0) + A_p (M,K) · B_p^T + bias (N),  B_p stored (N,K)
;;   for p in [0, batch), M <= 4.
;;
;; This is the decoding product (one token per sequence: every linear layer and the tied head),
;; where the general gemm would pad M to 4 rows and repack all of B per call. Here B is read in
;; place, exactly once, row by row: the product is bound by memory bandwidth, so the kernels
;; stream each weight row once for all M rows and keep enough independent accumulators that
;; the loads, not the multiply-add latency, set the pace.
;;
;;   M = 1:  4 weight rows at a time, K walked 8 floats per step: 8 f32x4 accumulators
;;           (4 rows x 2 halves), 1 activation vector pair + 8 weight loads per step.
;;   M > 1:  2 weight rows at a time for 4 activation rows (missing rows alias row 0 and are
;;           not stored): 8 accumulators, 4 activation + 2 weight loads per 4 k.
;;   edges:  leftover columns (N mod 4 or mod 2) go through the 4-row x 1-column kernel;
;;           K mod 4 through scalar tails added before the horizontal sum is stored.
;;
;; Every C element is produced by one kernel call on one thread with a fixed summation order
;; (vector lanes, then lane sum, then the scalar tail, then bias, then C), so results do not
;; depend on the thread count.
;;
;; Threads: the columns are cut into units of 4, flattened over the batch; thread tid takes a
;; contiguous, balanced range of units (no workspace: nothing is packed).

(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; per-call scratch (globals are per instance, i.e. per thread)
  (global $K (mut i32) (i32.const 0))      ;; inner dimension (elements)
  (global $K4 (mut i32) (i32.const 0))     ;; K rounded down to a multiple of 4, in bytes
  (global $K8 (mut i32) (i32.const 0))     ;; K rounded down to a multiple of 8, in bytes
  (global $K16 (mut i32) (i32.const 0))    ;; K rounded down to a multiple of 16, in bytes
  (global $KB (mut i32) (i32.const 0))     ;; K in bytes: the row stride of A and B
  (global $NB (mut i32) (i32.const 0))     ;; N in bytes: the row stride of C
  (global $accumulate (mut i32) (i32.const 0))
  (global $bias (mut i32) (i32.const 0))   ;; bias (N) or 0

  ;; hsum(v) -> f32: (v0 + v2) + (v1 + v3).
  (func $hsum (param $v v128) (result f32)
    (local.set $v (f32x4.add (local.get $v)
      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
    (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v))))

  ;; put(c, j, v): C element at c (column j) = (accumulate ? C : 0) + (v + bias[j]).
  (func $put (param $c i32) (param $j i32) (param $v f32)
    (if (global.get $bias)
      (then (local.set $v (f32.add (local.get $v)
        (f32.load (i32.add (global.get $bias) (i32.shl (local.get $j) (i32.const 2))))))))
    (if (global.get $accumulate)
      (then (local.set $v (f32.add (f32.load (local.get $c)) (local.get $v)))))
    (f32.store (local.get $c) (local.get $v)))

  ;; g1(a, b, c, j): C[0, j] for one activation row.
  ;;   a: A row (K); b: B row j (K); c: &C[0, j]. K walked 16 floats per step into 4
  ;;   accumulators, then 4 at a time, then a scalar tail.
  (func $g1 (param $a i32) (param $b i32) (param $c i32) (param $j i32)
    (local $o i32) (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $t f32)
    (block $done16 (loop $k16
      (br_if $done16 (i32.ge_u (local.get $o) (global.get $K16)))
      (local.set $s0 (f32x4.relaxed_madd (v128.load offset=0 (i32.add (local.get $a) (local.get $o)))
        (v128.load offset=0 (i32.add (local.get $b) (local.get $o))) (local.get $s0)))
      (local.set $s1 (f32x4.relaxed_madd (v128.load offset=16 (i32.add (local.get $a) (local.get $o)))
        (v128.load offset=16 (i32.add (local.get $b) (local.get $o))) (local.get $s1)))
      (local.set $s2 (f32x4.relaxed_madd (v128.load offset=32 (i32.add (local.get $a) (local.get $o)))
        (v128.load offset=32 (i32.add (local.get $b) (local.get $o))) (local.get $s2)))
      (local.set $s3 (f32x4.relaxed_madd (v128.load offset=48 (i32.add (local.get $a) (local.get $o)))
        (v128.load offset=48 (i32.add (local.get $b) (local.get $o))) (local.get $s3)))
      (local.set $o (i32.add (local.get $o) (i32.const 64)))
      (br $k16)))
    (block $done4 (loop $k4
      (br_if $done4 (i32.ge_u (local.get $o) (global.get $K4)))
      (local.set $s0 (f32x4.relaxed_madd (v128.load (i32.add (local.get $a) (local.get $o)))
        (v128.load (i32.add (local.get $b) (local.get $o))) (local.get $s0)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $k4)))
    (block $doneT (loop $kt
      (br_if $doneT (i32.ge_u (local.get $o) (global.get $KB)))
      (local.set $t (f32.add (local.get $t) (f32.mul (f32.load (i32.add (local.get $a) (local.get $o)))
        (f32.load (i32.add (local.get $b) (local.get $o))))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br $kt)))
    (call $put (local.get $c) (local.get $j)
      (f32.add (call $hsum (f32x4.add (f32x4.add (local.get $s0) (local.get $s1))
                                      (f32x4.add (local.get $s2) (local.get $s3))))
               (local.get $t))))

  ;; g4(a0, a1, a2, a3, b, c, j, m): C[0..m, j] for up to 4 activation rows.
  ;;   a0..a3: A rows (K) (rows >= m alias a0 and are not stored); b: B row j (K); c: &C[0, j].
  ;;   K walked 8 floats per step: 8 accumulators (4 rows x 2 halves), 2 weight loads.
  (func $g4 (param $a0 i32) (param $a1 i32) (param $a2 i32) (param $a3 i32)
            (param $b i32) (param $c i32) (param $j i32) (param $m i32)
    (local $o i32) (local $w0 v128) (local $w1 v128) (local $ws f32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    (local $t0 f32) (local $t1 f32) (local $t2 f32) (local $t3 f32)
    (block $done8 (loop $k8
      (br_if $done8 (i32.ge_u (local.get $o) (global.get $K8)))
      (local.set $w0 (v128.load (i32.add (local.get $b) (local.get $o))))
      (local.set $w1 (v128.load offset=16 (i32.add (local.get $b) (local.get $o))))
      (local.set $s0 (f32x4.relaxed_madd (v128.load (i32.add (local.get $a0) (local.get $o))) (local.get $w0) (local.get $s0)))
      (local.set $s1 (f32x4.relaxed_madd (v128.load (i32.add (local.get $a1) (local.get $o))) (local.get $w0) (local.get $s1)))
      (local.set $s2 (f32x4.relaxed_madd (v128.load (i32.add (local.get $a2) (local.get $o))) (local.get $w0) (local.get $s2)))
      (local.set $s3 (f32x4.relaxed_madd (v128.load (i32.add (local.get $a3) (local.get $o))) (local.get $w0) (local.get $s3)))
      (local.set $u0 (f32x4.relaxed_madd (v128.load offset=16 (i32.add (local.get $a0) (local.get $o))) (local.get $w1) (local.get $u0)))
      (local.set $u1 (f32x4.relaxed_madd (v128.load offset=16 (i32.add (local.get $a1) (local.get $o))) (local.get $w1) (local.get $u1)))
      (local.set $u2 (f32x4.relaxed_madd (v128.load offset=16 (i32.add (local.get $a2) (local.get $o))) (local.get $w1) (local.get $u2)))
      (local.set $u3 (f32x4.relaxed_madd (v128.load offset=16 (i32.add (local.get $a3) (local.get $o))) (local.get $w1) (local.get $u3)))
      (local.set $o (i32.add (local.get $o) (i32.const 32)))
      (br $k8)))
    (if (i32.lt_u (local.get $o) (global.get $K4))
      (then
        (local.set $w0 (v128.load (i32.add (local.get $b) (local.get $o))))
        (local.set $s0 (f32x4.relaxed_madd (v128.load (i32.add (local.get $a0) (local.get $o))) (local.get $w0) (local.get $s0)))
        (local.set $s1 (f32x4.relaxed_madd (v128.load (i32.add (local.get $a1) (local.get $o))) (local.get $w0) (local.get $s1)))
        (local.set $s2 (f32x4.relaxed_madd (v128.load (i32.add (local.get $a2) (local.get $o))) (local.get $w0) (local.get $s2)))
        (local.set $s3 (f32x4.relaxed_madd (v128.load (i32.add (local.get $a3) (local.get $o))) (local.get $w0) (local.get $s3)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))))
    (block $doneT (loop $kt
      (br_if $doneT (i32.ge_u (local.get $o) (global.get $KB)))
      (local.set $ws (f32.load (i32.add (local.get $b) (local.get $o))))
      (local.set $t0 (f32.add (local.get $t0) (f32.mul (f32.load (i32.add (local.get $a0) (local.get $o))) (local.get $ws))))
      (local.set $t1 (f32.add (local.get $t1) (f32.mul (f32.load (i32.add (local.get $a1) (local.get $o))) (local.get $ws))))
      (local.set $t2 (f32.add (local.get $t2) (f32.mul (f32.load (i32.add (local.get $a2) (local.get $o))) (local.get $ws))))
      (local.set $t3 (f32.add (local.get $t3) (f32.mul (f32.load (i32.add (local.get $a3) (local.get $o))) (local.get $ws))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br $kt)))
    (call $put (local.get $c) (local.get $j)
      (f32.add (call $hsum (f32x4.add (local.get $s0) (local.get $u0))) (local.get $t0)))
    (if (i32.lt_u (i32.const 1) (local.get $m)) (then
      (local.set $c (i32.add (local.get $c) (global.get $NB)))
      (call $put (local.get $c) (local.get $j)
        (f32.add (call $hsum (f32x4.add (local.get $s1) (local.get $u1))) (local.get $t1)))))
    (if (i32.lt_u (i32.const 2) (local.get $m)) (then
      (local.set $c (i32.add (local.get $c) (global.get $NB)))
      (call $put (local.get $c) (local.get $j)
        (f32.add (call $hsum (f32x4.add (local.get $s2) (local.get $u2))) (local.get $t2)))))
    (if (i32.lt_u (i32.const 3) (local.get $m)) (then
      (local.set $c (i32.add (local.get $c) (global.get $NB)))
      (call $put (local.get $c) (local.get $j)
        (f32.add (call $hsum (f32x4.add (local.get $s3) (local.get $u3))) (local.get $t3))))))

  ;; columns(cp, ap, bp, m, j0, j1): C_p[0..m, j0..j1) of one batch element, one weight row
  ;; after the other (each row read once, sequentially).
  (func $columns (param $cp i32) (param $ap i32) (param $bp i32) (param $m i32)
                 (param $j0 i32) (param $j1 i32)
    (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $j i32) (local $b i32) (local $c i32)
    ;; rows beyond m alias row 0 (read, never stored)
    (local.set $a1 (select (i32.add (local.get $ap) (global.get $KB)) (local.get $ap)
      (i32.gt_u (local.get $m) (i32.const 1))))
    (local.set $a2 (select (i32.add (local.get $ap) (i32.shl (global.get $KB) (i32.const 1))) (local.get $ap)
      (i32.gt_u (local.get $m) (i32.const 2))))
    (local.set $a3 (select (i32.add (local.get $ap) (i32.mul (global.get $KB) (i32.const 3))) (local.get $ap)
      (i32.gt_u (local.get $m) (i32.const 3))))
    (local.set $j (local.get $j0))
    (local.set $b (i32.add (local.get $bp) (i32.mul (local.get $j) (global.get $KB))))
    (local.set $c (i32.add (local.get $cp) (i32.shl (local.get $j) (i32.const 2))))
    (block $done (loop $cols
      (br_if $done (i32.ge_u (local.get $j) (local.get $j1)))
      (if (i32.eq (local.get $m) (i32.const 1))
        (then (call $g1 (local.get $ap) (local.get $b) (local.get $c) (local.get $j)))
        (else (call $g4 (local.get $ap) (local.get $a1) (local.get $a2) (local.get $a3)
          (local.get $b) (local.get $c) (local.get $j) (local.get $m))))
      (local.set $b (i32.add (local.get $b) (global.get $KB)))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $cols))))

    ;; streamSum(x, n) -> f32: Σ x[i] over x (n), n a multiple of 32, with 8 independent f32x4
  ;; accumulators: a read-bandwidth probe for the benchmarks (reads every byte once, stores
  ;; nothing), the ceiling a product that streams its weights once can reach on one thread.
  (func $streamSum (export "streamSum") (param $x i32) (param $n i32) (result f32)
    (local $end i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $s4 v128) (local $s5 v128) (local $s6 v128) (local $s7 v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -32)) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $s0 (f32x4.add (local.get $s0) (v128.load offset=0 (local.get $x))))
      (local.set $s1 (f32x4.add (local.get $s1) (v128.load offset=16 (local.get $x))))
      (local.set $s2 (f32x4.add (local.get $s2) (v128.load offset=32 (local.get $x))))
      (local.set $s3 (f32x4.add (local.get $s3) (v128.load offset=48 (local.get $x))))
      (local.set $s4 (f32x4.add (local.get $s4) (v128.load offset=64 (local.get $x))))
      (local.set $s5 (f32x4.add (local.get $s5) (v128.load offset=80 (local.get $x))))
      (local.set $s6 (f32x4.add (local.get $s6) (v128.load offset=96 (local.get $x))))
      (local.set $s7 (f32x4.add (local.get $s7) (v128.load offset=112 (local.get $x))))
      (local.set $x (i32.add (local.get $x) (i32.const 128)))
      (br $l)))
    (call $hsum (f32x4.add
      (f32x4.add (f32x4.add (local.get $s0) (local.get $s1)) (f32x4.add (local.get $s2) (local.get $s3)))
      (f32x4.add (f32x4.add (local.get $s4) (local.get $s5)) (f32x4.add (local.get $s6) (local.get $s7))))))

  ;; gemv(c, a, b, bias, batch, m, n, k, accumulate, tid, nt), m <= 4:
  ;;   c (batch, M, N) (+)= a (batch, M, K) · b (batch, N, K)^T + bias (N) or 0 if bias = 0.
  (func $gemv (export "gemv")
    (param $c i32) (param $a i32) (param $b i32) (param $bias i32)
    (param $batch i32) (param $m i32) (param $n i32) (param $k i32) (param $accumulate i32)
    (param $tid i32) (param $nt i32)
    (local $perBatch i32) (local $total i32) (local $chunk i32) (local $u0 i32) (local $u1 i32)
    (local $p i32) (local $lo i32) (local $hi i32)
    (local $aSize i32) (local $bSize i32) (local $cSize i32)
    (if (i32.or (i32.or (i32.eqz (local.get $batch)) (i32.eqz (local.get $m))) (i32.eqz (local.get $n)))
      (then (return)))
    (if (i32.gt_u (local.get $m) (i32.const 4)) (then (unreachable)))
    (global.set $K (local.get $k))
    (global.set $KB (i32.shl (local.get $k) (i32.const 2)))
    (global.set $K4 (i32.shl (i32.and (local.get $k) (i32.const -4)) (i32.const 2)))
    (global.set $K8 (i32.shl (i32.and (local.get $k) (i32.const -8)) (i32.const 2)))
    (global.set $K16 (i32.shl (i32.and (local.get $k) (i32.const -16)) (i32.const 2)))
    (global.set $NB (i32.shl (local.get $n) (i32.const 2)))
    (global.set $accumulate (local.get $accumulate))
    (global.set $bias (local.get $bias))
    (local.set $aSize (i32.mul (local.get $m) (global.get $KB)))
    (local.set $bSize (i32.mul (local.get $n) (global.get $KB)))
    (local.set $cSize (i32.mul (local.get $m) (global.get $NB)))
    ;; units of 4 columns, flattened over the batch; a balanced contiguous range per thread
    (local.set $perBatch (i32.shr_u (i32.add (local.get $n) (i32.const 3)) (i32.const 2)))
    (local.set $total (i32.mul (local.get $perBatch) (local.get $batch)))
    (local.set $chunk (i32.div_u (i32.add (local.get $total) (i32.sub (local.get $nt) (i32.const 1))) (local.get $nt)))
    (local.set $u0 (i32.mul (local.get $tid) (local.get $chunk)))
    (local.set $u1 (i32.add (local.get $u0) (local.get $chunk)))
    (if (i32.gt_u (local.get $u1) (local.get $total)) (then (local.set $u1 (local.get $total))))
    (if (i32.ge_u (local.get $u0) (local.get $u1)) (then (return)))
    (local.set $p (i32.div_u (local.get $u0) (local.get $perBatch)))
    (loop $batches
      (local.set $lo (i32.sub (local.get $u0) (i32.mul (local.get $p) (local.get $perBatch))))
      (if (i32.lt_s (local.get $lo) (i32.const 0)) (then (local.set $lo (i32.const 0))))
      (local.set $hi (i32.sub (local.get $u1) (i32.mul (local.get $p) (local.get $perBatch))))
      (if (i32.gt_s (local.get $hi) (local.get $perBatch)) (then (local.set $hi (local.get $perBatch))))
      (local.set $lo (i32.shl (local.get $lo) (i32.const 2)))
      (local.set $hi (i32.shl (local.get $hi) (i32.const 2)))
      (if (i32.gt_u (local.get $hi) (local.get $n)) (then (local.set $hi (local.get $n))))
      (call $columns
        (i32.add (local.get $c) (i32.mul (local.get $p) (local.get $cSize)))
        (i32.add (local.get $a) (i32.mul (local.get $p) (local.get $aSize)))
        (i32.add (local.get $b) (i32.mul (local.get $p) (local.get $bSize)))
        (local.get $m) (local.get $lo) (local.get $hi))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $batches (i32.lt_u (i32.mul (local.get $p) (local.get $perBatch)) (local.get $u1)))))
)
