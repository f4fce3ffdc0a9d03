;; elementwise.wat — elementwise, broadcasting, reduction, embedding, layout and
;; dropout kernels of the wasm backend (see tensor/kernels.ts for the contract).
;;
;; Every buffer lives in the one shared memory imported as env.memory. Pointers
;; are i32 byte offsets (f32 buffers are 4-byte aligned, 16-byte alignment is
;; never assumed), counts are i32 (treated as unsigned), float scalars are f32
;; and booleans are i32 0/1. Bytes [0, 4096) belong to the thread pool.
;;
;; Parallel kernels take (tid, nt) last: all nt threads call the export with the
;; same arguments and each writes a disjoint part of the outputs.
;;   elementwise: chunk = ceil(n / nt) rounded up to 16, thread t owns
;;                [t*chunk, min(n, (t+1)*chunk)).
;;   rows:        chunk = ceil(R / nt), same ownership.
;;   columns:     chunk = ceil(C / nt) rounded up to 4 (column reductions and the
;;                embedding scatter, so that no two threads touch one output).
;; sumSquares and clipScale are serial.
;;
;; Inner loops run 4 × f32x4 per step, then single f32x4 steps, then a scalar
;; tail. Fused multiply-add is only ever written in the folded form of
;; f32x4.relaxed_madd A B C = A*B + C, so that the build can rewrite it into
;; f32x4.add of f32x4.mul for engines without relaxed SIMD.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; ==========================================================================
  ;; internal helpers
  ;; ==========================================================================

  ;; split(n, tid, nt, align) -> (lo, hi): thread tid's part of [0, n) when
  ;; chunk = ceil(n / nt) rounded up to align (a power of two).
  (func $split (param $n i32) (param $tid i32) (param $nt i32) (param $align i32)
    (result i32 i32)
    (local $c i32) (local $lo i32) (local $hi i32)
    (local.set $c (i32.div_u (local.get $n) (local.get $nt)))
    (if (i32.rem_u (local.get $n) (local.get $nt))
      (then (local.set $c (i32.add (local.get $c) (i32.const 1)))))
    (local.set $c
      (i32.and (i32.add (local.get $c) (i32.sub (local.get $align) (i32.const 1)))
               (i32.sub (i32.const 0) (local.get $align))))
    (local.set $lo (i32.mul (local.get $tid) (local.get $c)))
    (if (i32.gt_u (local.get $lo) (local.get $n)) (then (local.set $lo (local.get $n))))
    (local.set $hi (i32.add (local.get $lo) (local.get $c)))
    (if (i32.gt_u (local.get $hi) (local.get $n)) (then (local.set $hi (local.get $n))))
    (local.get $lo) (local.get $hi))

  ;; hsum(v) = (v0 + v1) + (v2 + v3)
  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; madd1(a, b, c) = a*b + c through lane 0 of f32x4.relaxed_madd, so scalar
  ;; tails fuse exactly when the vector body does (results do not depend on nt)
  (func $madd1 (param $a f32) (param $b f32) (param $c f32) (result f32)
    (f32x4.extract_lane 0
      (f32x4.relaxed_madd (f32x4.splat (local.get $a)) (f32x4.splat (local.get $b)) (f32x4.splat (local.get $c)))))

  ;; fill_seg(o, v, n): o[i] = v for i < n
  (func $fill_seg (param $o i32) (param $v f32) (param $n i32)
    (local $k i32) (local $w v128)
    (local.set $w (f32x4.splat (local.get $v)))
    (if (local.tee $k (i32.shr_u (local.get $n) (i32.const 4))) (then (loop $l
      (v128.store offset=0 (local.get $o) (local.get $w))
      (v128.store offset=16 (local.get $o) (local.get $w))
      (v128.store offset=32 (local.get $o) (local.get $w))
      (v128.store offset=48 (local.get $o) (local.get $w))
      (local.set $o (i32.add (local.get $o) (i32.const 64)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (i32.shr_u (local.get $n) (i32.const 2)) (i32.const 3))) (then (loop $l
      (v128.store (local.get $o) (local.get $w))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (local.get $n) (i32.const 3))) (then (loop $l
      (f32.store (local.get $o) (local.get $v))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))))

  ;; copy_seg(o, a, n): o[i] = a[i] for i < n
  (func $copy_seg (param $o i32) (param $a i32) (param $n i32)
    (local $k i32)
    (if (local.tee $k (i32.shr_u (local.get $n) (i32.const 4))) (then (loop $l
      (v128.store offset=0 (local.get $o) (v128.load offset=0 (local.get $a)))
      (v128.store offset=16 (local.get $o) (v128.load offset=16 (local.get $a)))
      (v128.store offset=32 (local.get $o) (v128.load offset=32 (local.get $a)))
      (v128.store offset=48 (local.get $o) (v128.load offset=48 (local.get $a)))
      (local.set $o (i32.add (local.get $o) (i32.const 64)))
      (local.set $a (i32.add (local.get $a) (i32.const 64)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (i32.shr_u (local.get $n) (i32.const 2)) (i32.const 3))) (then (loop $l
      (v128.store (local.get $o) (v128.load (local.get $a)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (local.get $n) (i32.const 3))) (then (loop $l
      (f32.store (local.get $o) (f32.load (local.get $a)))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (local.set $a (i32.add (local.get $a) (i32.const 4)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))))

  ;; add_seg(o, a, b, n): o[i] = a[i] + b[i] for i < n (o may be a or b)
  (func $add_seg (param $o i32) (param $a i32) (param $b i32) (param $n i32)
    (local $k i32)
    (if (local.tee $k (i32.shr_u (local.get $n) (i32.const 4))) (then (loop $l
      (v128.store offset=0 (local.get $o)
        (f32x4.add (v128.load offset=0 (local.get $a)) (v128.load offset=0 (local.get $b))))
      (v128.store offset=16 (local.get $o)
        (f32x4.add (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $b))))
      (v128.store offset=32 (local.get $o)
        (f32x4.add (v128.load offset=32 (local.get $a)) (v128.load offset=32 (local.get $b))))
      (v128.store offset=48 (local.get $o)
        (f32x4.add (v128.load offset=48 (local.get $a)) (v128.load offset=48 (local.get $b))))
      (local.set $o (i32.add (local.get $o) (i32.const 64)))
      (local.set $a (i32.add (local.get $a) (i32.const 64)))
      (local.set $b (i32.add (local.get $b) (i32.const 64)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (i32.shr_u (local.get $n) (i32.const 2)) (i32.const 3))) (then (loop $l
      (v128.store (local.get $o) (f32x4.add (v128.load (local.get $a)) (v128.load (local.get $b))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (local.get $n) (i32.const 3))) (then (loop $l
      (f32.store (local.get $o) (f32.add (f32.load (local.get $a)) (f32.load (local.get $b))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (local.set $a (i32.add (local.get $a) (i32.const 4)))
      (local.set $b (i32.add (local.get $b) (i32.const 4)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))))

  ;; mul_seg(o, a, b, n): o[i] = a[i] * b[i] for i < n (o may be a or b)
  (func $mul_seg (param $o i32) (param $a i32) (param $b i32) (param $n i32)
    (local $k i32)
    (if (local.tee $k (i32.shr_u (local.get $n) (i32.const 4))) (then (loop $l
      (v128.store offset=0 (local.get $o)
        (f32x4.mul (v128.load offset=0 (local.get $a)) (v128.load offset=0 (local.get $b))))
      (v128.store offset=16 (local.get $o)
        (f32x4.mul (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $b))))
      (v128.store offset=32 (local.get $o)
        (f32x4.mul (v128.load offset=32 (local.get $a)) (v128.load offset=32 (local.get $b))))
      (v128.store offset=48 (local.get $o)
        (f32x4.mul (v128.load offset=48 (local.get $a)) (v128.load offset=48 (local.get $b))))
      (local.set $o (i32.add (local.get $o) (i32.const 64)))
      (local.set $a (i32.add (local.get $a) (i32.const 64)))
      (local.set $b (i32.add (local.get $b) (i32.const 64)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (i32.shr_u (local.get $n) (i32.const 2)) (i32.const 3))) (then (loop $l
      (v128.store (local.get $o) (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (local.get $n) (i32.const 3))) (then (loop $l
      (f32.store (local.get $o) (f32.mul (f32.load (local.get $a)) (f32.load (local.get $b))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (local.set $a (i32.add (local.get $a) (i32.const 4)))
      (local.set $b (i32.add (local.get $b) (i32.const 4)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))))

  ;; madd_seg(y, x, b, n): y[i] += x[i] * b[i] for i < n
  (func $madd_seg (param $y i32) (param $x i32) (param $b i32) (param $n i32)
    (local $k i32)
    (if (local.tee $k (i32.shr_u (local.get $n) (i32.const 4))) (then (loop $l
      (v128.store offset=0 (local.get $y)
        (f32x4.relaxed_madd (v128.load offset=0 (local.get $x)) (v128.load offset=0 (local.get $b))
                            (v128.load offset=0 (local.get $y))))
      (v128.store offset=16 (local.get $y)
        (f32x4.relaxed_madd (v128.load offset=16 (local.get $x)) (v128.load offset=16 (local.get $b))
                            (v128.load offset=16 (local.get $y))))
      (v128.store offset=32 (local.get $y)
        (f32x4.relaxed_madd (v128.load offset=32 (local.get $x)) (v128.load offset=32 (local.get $b))
                            (v128.load offset=32 (local.get $y))))
      (v128.store offset=48 (local.get $y)
        (f32x4.relaxed_madd (v128.load offset=48 (local.get $x)) (v128.load offset=48 (local.get $b))
                            (v128.load offset=48 (local.get $y))))
      (local.set $y (i32.add (local.get $y) (i32.const 64)))
      (local.set $x (i32.add (local.get $x) (i32.const 64)))
      (local.set $b (i32.add (local.get $b) (i32.const 64)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (i32.shr_u (local.get $n) (i32.const 2)) (i32.const 3))) (then (loop $l
      (v128.store (local.get $y)
        (f32x4.relaxed_madd (v128.load (local.get $x)) (v128.load (local.get $b)) (v128.load (local.get $y))))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (local.get $n) (i32.const 3))) (then (loop $l
      (f32.store (local.get $y)
        (call $madd1 (f32.load (local.get $x)) (f32.load (local.get $b)) (f32.load (local.get $y))))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $b (i32.add (local.get $b) (i32.const 4)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))))

  ;; adds_seg(o, a, s, n): o[i] = a[i] + s for i < n (o may be a)
  (func $adds_seg (param $o i32) (param $a i32) (param $s f32) (param $n i32)
    (local $k i32) (local $w v128)
    (local.set $w (f32x4.splat (local.get $s)))
    (if (local.tee $k (i32.shr_u (local.get $n) (i32.const 4))) (then (loop $l
      (v128.store offset=0 (local.get $o) (f32x4.add (v128.load offset=0 (local.get $a)) (local.get $w)))
      (v128.store offset=16 (local.get $o) (f32x4.add (v128.load offset=16 (local.get $a)) (local.get $w)))
      (v128.store offset=32 (local.get $o) (f32x4.add (v128.load offset=32 (local.get $a)) (local.get $w)))
      (v128.store offset=48 (local.get $o) (f32x4.add (v128.load offset=48 (local.get $a)) (local.get $w)))
      (local.set $o (i32.add (local.get $o) (i32.const 64)))
      (local.set $a (i32.add (local.get $a) (i32.const 64)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (i32.shr_u (local.get $n) (i32.const 2)) (i32.const 3))) (then (loop $l
      (v128.store (local.get $o) (f32x4.add (v128.load (local.get $a)) (local.get $w)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (local.get $n) (i32.const 3))) (then (loop $l
      (f32.store (local.get $o) (f32.add (f32.load (local.get $a)) (local.get $s)))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (local.set $a (i32.add (local.get $a) (i32.const 4)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))))

  ;; scale_seg(o, a, s, n): o[i] = s * a[i] for i < n (o may be a)
  (func $scale_seg (param $o i32) (param $a i32) (param $s f32) (param $n i32)
    (local $k i32) (local $w v128)
    (local.set $w (f32x4.splat (local.get $s)))
    (if (local.tee $k (i32.shr_u (local.get $n) (i32.const 4))) (then (loop $l
      (v128.store offset=0 (local.get $o) (f32x4.mul (local.get $w) (v128.load offset=0 (local.get $a))))
      (v128.store offset=16 (local.get $o) (f32x4.mul (local.get $w) (v128.load offset=16 (local.get $a))))
      (v128.store offset=32 (local.get $o) (f32x4.mul (local.get $w) (v128.load offset=32 (local.get $a))))
      (v128.store offset=48 (local.get $o) (f32x4.mul (local.get $w) (v128.load offset=48 (local.get $a))))
      (local.set $o (i32.add (local.get $o) (i32.const 64)))
      (local.set $a (i32.add (local.get $a) (i32.const 64)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (i32.shr_u (local.get $n) (i32.const 2)) (i32.const 3))) (then (loop $l
      (v128.store (local.get $o) (f32x4.mul (local.get $w) (v128.load (local.get $a))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (local.get $n) (i32.const 3))) (then (loop $l
      (f32.store (local.get $o) (f32.mul (local.get $s) (f32.load (local.get $a))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (local.set $a (i32.add (local.get $a) (i32.const 4)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))))

  ;; axpy_seg(y, x, s, n): y[i] += s * x[i] for i < n
  (func $axpy_seg (param $y i32) (param $x i32) (param $s f32) (param $n i32)
    (local $k i32) (local $w v128)
    (local.set $w (f32x4.splat (local.get $s)))
    (if (local.tee $k (i32.shr_u (local.get $n) (i32.const 4))) (then (loop $l
      (v128.store offset=0 (local.get $y)
        (f32x4.relaxed_madd (local.get $w) (v128.load offset=0 (local.get $x)) (v128.load offset=0 (local.get $y))))
      (v128.store offset=16 (local.get $y)
        (f32x4.relaxed_madd (local.get $w) (v128.load offset=16 (local.get $x)) (v128.load offset=16 (local.get $y))))
      (v128.store offset=32 (local.get $y)
        (f32x4.relaxed_madd (local.get $w) (v128.load offset=32 (local.get $x)) (v128.load offset=32 (local.get $y))))
      (v128.store offset=48 (local.get $y)
        (f32x4.relaxed_madd (local.get $w) (v128.load offset=48 (local.get $x)) (v128.load offset=48 (local.get $y))))
      (local.set $y (i32.add (local.get $y) (i32.const 64)))
      (local.set $x (i32.add (local.get $x) (i32.const 64)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (i32.shr_u (local.get $n) (i32.const 2)) (i32.const 3))) (then (loop $l
      (v128.store (local.get $y)
        (f32x4.relaxed_madd (local.get $w) (v128.load (local.get $x)) (v128.load (local.get $y))))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (local.get $n) (i32.const 3))) (then (loop $l
      (f32.store (local.get $y)
        (call $madd1 (local.get $s) (f32.load (local.get $x)) (f32.load (local.get $y))))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))))

  ;; sum_seg(p, n) = Σ_{i<n} p[i], in four f32x4 accumulators
  (func $sum_seg (param $p i32) (param $n i32) (result f32)
    (local $k i32) (local $s f32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (if (local.tee $k (i32.shr_u (local.get $n) (i32.const 4))) (then (loop $l
      (local.set $a0 (f32x4.add (local.get $a0) (v128.load offset=0 (local.get $p))))
      (local.set $a1 (f32x4.add (local.get $a1) (v128.load offset=16 (local.get $p))))
      (local.set $a2 (f32x4.add (local.get $a2) (v128.load offset=32 (local.get $p))))
      (local.set $a3 (f32x4.add (local.get $a3) (v128.load offset=48 (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 64)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (local.set $a0 (f32x4.add (f32x4.add (local.get $a0) (local.get $a1))
                              (f32x4.add (local.get $a2) (local.get $a3))))
    (if (local.tee $k (i32.and (i32.shr_u (local.get $n) (i32.const 2)) (i32.const 3))) (then (loop $l
      (local.set $a0 (f32x4.add (local.get $a0) (v128.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (local.set $s (call $hsum (local.get $a0)))
    (if (local.tee $k (i32.and (local.get $n) (i32.const 3))) (then (loop $l
      (local.set $s (f32.add (local.get $s) (f32.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (local.get $s))

  ;; binop_seg(op, o, a, b, n): op 0: o = a + b, 1: o = a * b, 2: o += a * b
  (func $binop_seg (param $op i32) (param $o i32) (param $a i32) (param $b i32) (param $n i32)
    (if (i32.eqz (local.get $op))
      (then (call $add_seg (local.get $o) (local.get $a) (local.get $b) (local.get $n)))
      (else (if (i32.eq (local.get $op) (i32.const 1))
        (then (call $mul_seg (local.get $o) (local.get $a) (local.get $b) (local.get $n)))
        (else (call $madd_seg (local.get $o) (local.get $a) (local.get $b) (local.get $n)))))))

;; bat(b, k, nb) = b[k % nb]
  (func $bat (param $b i32) (param $k i32) (param $nb i32) (result f32)
    (f32.load (i32.add (local.get $b) (i32.shl (i32.rem_u (local.get $k) (local.get $nb)) (i32.const 2)))))

  ;; binop_p12(op, o, a, b, lo, hi, nb): binop_seg over [lo, hi) with b[i % nb]
  ;; for a short b whose length divides 12 (2, 3, 4, 6, 12): b repeats every
  ;; three vectors, so three pattern vectors cover it (no runs shorter than nb).
  (func $binop_p12 (param $op i32) (param $o i32) (param $a i32) (param $b i32)
    (param $lo i32) (param $hi i32) (param $nb i32)
    (local $j i32) (local $k i32) (local $n i32)
    (local $b0 v128) (local $b1 v128) (local $b2 v128)
    (local.set $j (i32.rem_u (local.get $lo) (local.get $nb)))
    (local.set $b0 (f32x4.splat (call $bat (local.get $b) (local.get $j) (local.get $nb))))
    (local.set $b0 (f32x4.replace_lane 1 (local.get $b0) (call $bat (local.get $b) (i32.add (local.get $j) (i32.const 1)) (local.get $nb))))
    (local.set $b0 (f32x4.replace_lane 2 (local.get $b0) (call $bat (local.get $b) (i32.add (local.get $j) (i32.const 2)) (local.get $nb))))
    (local.set $b0 (f32x4.replace_lane 3 (local.get $b0) (call $bat (local.get $b) (i32.add (local.get $j) (i32.const 3)) (local.get $nb))))
    (local.set $b1 (f32x4.splat (call $bat (local.get $b) (i32.add (local.get $j) (i32.const 4)) (local.get $nb))))
    (local.set $b1 (f32x4.replace_lane 1 (local.get $b1) (call $bat (local.get $b) (i32.add (local.get $j) (i32.const 5)) (local.get $nb))))
    (local.set $b1 (f32x4.replace_lane 2 (local.get $b1) (call $bat (local.get $b) (i32.add (local.get $j) (i32.const 6)) (local.get $nb))))
    (local.set $b1 (f32x4.replace_lane 3 (local.get $b1) (call $bat (local.get $b) (i32.add (local.get $j) (i32.const 7)) (local.get $nb))))
    (local.set $b2 (f32x4.splat (call $bat (local.get $b) (i32.add (local.get $j) (i32.const 8)) (local.get $nb))))
    (local.set $b2 (f32x4.replace_lane 1 (local.get $b2) (call $bat (local.get $b) (i32.add (local.get $j) (i32.const 9)) (local.get $nb))))
    (local.set $b2 (f32x4.replace_lane 2 (local.get $b2) (call $bat (local.get $b) (i32.add (local.get $j) (i32.const 10)) (local.get $nb))))
    (local.set $b2 (f32x4.replace_lane 3 (local.get $b2) (call $bat (local.get $b) (i32.add (local.get $j) (i32.const 11)) (local.get $nb))))
    (local.set $n (i32.sub (local.get $hi) (local.get $lo)))
    (local.set $o (i32.add (local.get $o) (i32.shl (local.get $lo) (i32.const 2))))
    (local.set $a (i32.add (local.get $a) (i32.shl (local.get $lo) (i32.const 2))))
    (if (local.tee $k (i32.div_u (local.get $n) (i32.const 12))) (then
      (if (i32.eqz (local.get $op)) (then (loop $l
        (v128.store offset=0 (local.get $o) (f32x4.add (v128.load offset=0 (local.get $a)) (local.get $b0)))
        (v128.store offset=16 (local.get $o) (f32x4.add (v128.load offset=16 (local.get $a)) (local.get $b1)))
        (v128.store offset=32 (local.get $o) (f32x4.add (v128.load offset=32 (local.get $a)) (local.get $b2)))
        (local.set $o (i32.add (local.get $o) (i32.const 48)))
        (local.set $a (i32.add (local.get $a) (i32.const 48)))
        (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))
      (else (if (i32.eq (local.get $op) (i32.const 1)) (then (loop $l
        (v128.store offset=0 (local.get $o) (f32x4.mul (v128.load offset=0 (local.get $a)) (local.get $b0)))
        (v128.store offset=16 (local.get $o) (f32x4.mul (v128.load offset=16 (local.get $a)) (local.get $b1)))
        (v128.store offset=32 (local.get $o) (f32x4.mul (v128.load offset=32 (local.get $a)) (local.get $b2)))
        (local.set $o (i32.add (local.get $o) (i32.const 48)))
        (local.set $a (i32.add (local.get $a) (i32.const 48)))
        (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))
      (else (loop $l
        (v128.store offset=0 (local.get $o)
          (f32x4.relaxed_madd (v128.load offset=0 (local.get $a)) (local.get $b0) (v128.load offset=0 (local.get $o))))
        (v128.store offset=16 (local.get $o)
          (f32x4.relaxed_madd (v128.load offset=16 (local.get $a)) (local.get $b1) (v128.load offset=16 (local.get $o))))
        (v128.store offset=32 (local.get $o)
          (f32x4.relaxed_madd (v128.load offset=32 (local.get $a)) (local.get $b2) (v128.load offset=32 (local.get $o))))
        (local.set $o (i32.add (local.get $o) (i32.const 48)))
        (local.set $a (i32.add (local.get $a) (i32.const 48)))
        (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))))))
    ;; < 12 left, starting again at b[j] since 12 % nb == 0: runs up to the wrap of b
    (local.set $n (i32.rem_u (local.get $n) (i32.const 12)))
    (loop $t
      (if (i32.eqz (local.get $n)) (then (return)))
      (local.set $k (i32.sub (local.get $nb) (local.get $j)))
      (if (i32.gt_u (local.get $k) (local.get $n)) (then (local.set $k (local.get $n))))
      (call $binop_seg (local.get $op) (local.get $o) (local.get $a)
        (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))) (local.get $k))
      (local.set $o (i32.add (local.get $o) (i32.shl (local.get $k) (i32.const 2))))
      (local.set $a (i32.add (local.get $a) (i32.shl (local.get $k) (i32.const 2))))
      (local.set $n (i32.sub (local.get $n) (local.get $k)))
      (local.set $j (i32.const 0))
      (br $t)))

  ;; binop_bcast(op, o, a, b, lo, hi, nb): binop_seg over elements [lo, hi) with
  ;; b indexed i % nb. nb == 1 splats b[0], nb dividing 12 uses pattern vectors;
  ;; otherwise the range is cut at each wrap of b into contiguous runs (one run
  ;; when nb == n).
  (func $binop_bcast (param $op i32) (param $o i32) (param $a i32) (param $b i32)
    (param $lo i32) (param $hi i32) (param $nb i32)
    (local $j i32) (local $len i32) (local $s f32)
    (if (i32.ge_u (local.get $lo) (local.get $hi)) (then (return)))
    (if (i32.eq (local.get $nb) (i32.const 1)) (then
      (local.set $s (f32.load (local.get $b)))
      (local.set $o (i32.add (local.get $o) (i32.shl (local.get $lo) (i32.const 2))))
      (local.set $a (i32.add (local.get $a) (i32.shl (local.get $lo) (i32.const 2))))
      (local.set $len (i32.sub (local.get $hi) (local.get $lo)))
      (if (i32.eqz (local.get $op))
        (then (call $adds_seg (local.get $o) (local.get $a) (local.get $s) (local.get $len)))
        (else (if (i32.eq (local.get $op) (i32.const 1))
          (then (call $scale_seg (local.get $o) (local.get $a) (local.get $s) (local.get $len)))
          (else (call $axpy_seg (local.get $o) (local.get $a) (local.get $s) (local.get $len))))))
      (return)))
    (if (i32.and (i32.lt_u (local.get $nb) (i32.const 13))
                 (i32.eqz (i32.rem_u (i32.const 12) (local.get $nb)))) (then
      (call $binop_p12 (local.get $op) (local.get $o) (local.get $a) (local.get $b)
        (local.get $lo) (local.get $hi) (local.get $nb))
      (return)))
    (local.set $j (i32.rem_u (local.get $lo) (local.get $nb)))
    (loop $l
      (local.set $len (i32.sub (local.get $nb) (local.get $j)))
      (if (i32.gt_u (local.get $len) (i32.sub (local.get $hi) (local.get $lo)))
        (then (local.set $len (i32.sub (local.get $hi) (local.get $lo)))))
      (call $binop_seg (local.get $op)
        (i32.add (local.get $o) (i32.shl (local.get $lo) (i32.const 2)))
        (i32.add (local.get $a) (i32.shl (local.get $lo) (i32.const 2)))
        (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))
        (local.get $len))
      (local.set $j (i32.const 0))
      (br_if $l (i32.lt_u (local.tee $lo (i32.add (local.get $lo) (local.get $len))) (local.get $hi)))))

  ;; ==========================================================================
  ;; elementwise and broadcasting
  ;; ==========================================================================

  ;; fill(out, value, n, tid, nt)
  ;; out (N) = value
  (func (export "fill") (param $out i32) (param $value f32) (param $n i32) (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32)
    (call $split (local.get $n) (local.get $tid) (local.get $nt) (i32.const 16))
    (local.set $hi) (local.set $lo)
    (call $fill_seg (i32.add (local.get $out) (i32.shl (local.get $lo) (i32.const 2)))
      (local.get $value) (i32.sub (local.get $hi) (local.get $lo))))

  ;; copy(out, inp, n, tid, nt)
  ;; out (N) = inp (N)
  (func (export "copy") (param $out i32) (param $inp i32) (param $n i32) (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32)
    (call $split (local.get $n) (local.get $tid) (local.get $nt) (i32.const 16))
    (local.set $hi) (local.set $lo)
    (call $copy_seg (i32.add (local.get $out) (i32.shl (local.get $lo) (i32.const 2)))
      (i32.add (local.get $inp) (i32.shl (local.get $lo) (i32.const 2)))
      (i32.sub (local.get $hi) (local.get $lo))))

  ;; add(out, a, b, n, nb, tid, nt)
  ;; out (N) = a (N) + b (NB) broadcast: out[i] = a[i] + b[i % nb], nb divides n.
  ;; out may alias a or b.
  (func (export "add") (param $out i32) (param $a i32) (param $b i32) (param $n i32) (param $nb i32)
    (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32)
    (call $split (local.get $n) (local.get $tid) (local.get $nt) (i32.const 16))
    (local.set $hi) (local.set $lo)
    (call $binop_bcast (i32.const 0) (local.get $out) (local.get $a) (local.get $b)
      (local.get $lo) (local.get $hi) (local.get $nb)))

  ;; mul(out, a, b, n, nb, tid, nt)
  ;; out (N) = a (N) * b (NB) broadcast: out[i] = a[i] * b[i % nb], nb divides n.
  ;; out may alias a or b.
  (func (export "mul") (param $out i32) (param $a i32) (param $b i32) (param $n i32) (param $nb i32)
    (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32)
    (call $split (local.get $n) (local.get $tid) (local.get $nt) (i32.const 16))
    (local.set $hi) (local.set $lo)
    (call $binop_bcast (i32.const 1) (local.get $out) (local.get $a) (local.get $b)
      (local.get $lo) (local.get $hi) (local.get $nb)))

  ;; scale(out, a, s, n, tid, nt)
  ;; out (N) = s * a (N); out may alias a
  (func (export "scale") (param $out i32) (param $a i32) (param $s f32) (param $n i32)
    (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32)
    (call $split (local.get $n) (local.get $tid) (local.get $nt) (i32.const 16))
    (local.set $hi) (local.set $lo)
    (call $scale_seg (i32.add (local.get $out) (i32.shl (local.get $lo) (i32.const 2)))
      (i32.add (local.get $a) (i32.shl (local.get $lo) (i32.const 2)))
      (local.get $s) (i32.sub (local.get $hi) (local.get $lo))))

  ;; axpy(y, x, alpha, n, tid, nt)
  ;; y (N) += alpha * x (N)
  (func (export "axpy") (param $y i32) (param $x i32) (param $alpha f32) (param $n i32)
    (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32)
    (call $split (local.get $n) (local.get $tid) (local.get $nt) (i32.const 16))
    (local.set $hi) (local.set $lo)
    (call $axpy_seg (i32.add (local.get $y) (i32.shl (local.get $lo) (i32.const 2)))
      (i32.add (local.get $x) (i32.shl (local.get $lo) (i32.const 2)))
      (local.get $alpha) (i32.sub (local.get $hi) (local.get $lo))))

  ;; mulAcc(y, x, b, n, nb, tid, nt)
  ;; y (N) += x (N) * b (NB) broadcast: y[i] += x[i] * b[i % nb], nb divides n
  (func (export "mulAcc") (param $y i32) (param $x i32) (param $b i32) (param $n i32) (param $nb i32)
    (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32)
    (call $split (local.get $n) (local.get $tid) (local.get $nt) (i32.const 16))
    (local.set $hi) (local.set $lo)
    (call $binop_bcast (i32.const 2) (local.get $y) (local.get $x) (local.get $b)
      (local.get $lo) (local.get $hi) (local.get $nb)))

  ;; scaleBy(y, s, n, tid, nt)
  ;; y (N) *= s[0], s a one-element buffer (a scale computed on device, no readback)
  (func (export "scaleBy") (param $y i32) (param $s i32) (param $n i32) (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32) (local $p i32)
    (call $split (local.get $n) (local.get $tid) (local.get $nt) (i32.const 16))
    (local.set $hi) (local.set $lo)
    (local.set $p (i32.add (local.get $y) (i32.shl (local.get $lo) (i32.const 2))))
    (call $scale_seg (local.get $p) (local.get $p) (f32.load (local.get $s))
      (i32.sub (local.get $hi) (local.get $lo))))

  ;; ==========================================================================
  ;; activations
  ;; ==========================================================================

  ;; reluForward(out, inp, n, tid, nt)
  ;; out (N) = max(inp (N), 0)
  (func (export "reluForward") (param $out i32) (param $inp i32) (param $n i32)
    (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32) (local $k i32) (local $z v128)
    (call $split (local.get $n) (local.get $tid) (local.get $nt) (i32.const 16))
    (local.set $hi) (local.set $lo)
    (local.set $out (i32.add (local.get $out) (i32.shl (local.get $lo) (i32.const 2))))
    (local.set $inp (i32.add (local.get $inp) (i32.shl (local.get $lo) (i32.const 2))))
    (local.set $n (i32.sub (local.get $hi) (local.get $lo)))
    (if (local.tee $k (i32.shr_u (local.get $n) (i32.const 2))) (then (loop $l
      (v128.store (local.get $out) (f32x4.max (v128.load (local.get $inp)) (local.get $z)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (local.set $inp (i32.add (local.get $inp) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (local.get $n) (i32.const 3))) (then (loop $l
      (f32.store (local.get $out) (f32.max (f32.load (local.get $inp)) (f32.const 0)))
      (local.set $out (i32.add (local.get $out) (i32.const 4)))
      (local.set $inp (i32.add (local.get $inp) (i32.const 4)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))))

  ;; reluBackward(dinp, dout, inp, n, tid, nt)
  ;; dinp (N) += dout (N) * [inp (N) > 0], inverting  out = max(inp, 0)
  (func (export "reluBackward") (param $dinp i32) (param $dout i32) (param $inp i32) (param $n i32)
    (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32) (local $k i32) (local $z v128)
    (call $split (local.get $n) (local.get $tid) (local.get $nt) (i32.const 16))
    (local.set $hi) (local.set $lo)
    (local.set $dinp (i32.add (local.get $dinp) (i32.shl (local.get $lo) (i32.const 2))))
    (local.set $inp (i32.add (local.get $inp) (i32.shl (local.get $lo) (i32.const 2))))
    (local.set $dout (i32.add (local.get $dout) (i32.shl (local.get $lo) (i32.const 2))))
    (local.set $n (i32.sub (local.get $hi) (local.get $lo)))
    (if (local.tee $k (i32.shr_u (local.get $n) (i32.const 2))) (then (loop $l
      (v128.store (local.get $dinp)
        (f32x4.add (v128.load (local.get $dinp))
                   (v128.and (v128.load (local.get $dout))
                             (f32x4.gt (v128.load (local.get $inp)) (local.get $z)))))
      (local.set $dinp (i32.add (local.get $dinp) (i32.const 16)))
      (local.set $inp (i32.add (local.get $inp) (i32.const 16)))
      (local.set $dout (i32.add (local.get $dout) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (local.get $n) (i32.const 3))) (then (loop $l
      (if (f32.gt (f32.load (local.get $inp)) (f32.const 0))
        (then (f32.store (local.get $dinp)
                (f32.add (f32.load (local.get $dinp)) (f32.load (local.get $dout))))))
      (local.set $dinp (i32.add (local.get $dinp) (i32.const 4)))
      (local.set $inp (i32.add (local.get $inp) (i32.const 4)))
      (local.set $dout (i32.add (local.get $dout) (i32.const 4)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))))

  ;; ==========================================================================
  ;; reductions
  ;; ==========================================================================

  ;; sumLast(out, inp, r, c, alpha, accumulate, tid, nt)
  ;; out (R) (=|+=) alpha * Σ_c inp (R, C); rows split across threads
  (func (export "sumLast") (param $out i32) (param $inp i32) (param $r i32) (param $c i32)
    (param $alpha f32) (param $acc i32) (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32) (local $v f32) (local $o i32)
    (call $split (local.get $r) (local.get $tid) (local.get $nt) (i32.const 1))
    (local.set $hi) (local.set $lo)
    (if (i32.ge_u (local.get $lo) (local.get $hi)) (then (return)))
    (loop $l
      (local.set $o (i32.add (local.get $out) (i32.shl (local.get $lo) (i32.const 2))))
      (local.set $v (f32.mul (local.get $alpha)
        (call $sum_seg (i32.add (local.get $inp)
                                (i32.shl (i32.mul (local.get $lo) (local.get $c)) (i32.const 2)))
                       (local.get $c))))
      (if (local.get $acc) (then (local.set $v (f32.add (f32.load (local.get $o)) (local.get $v)))))
      (f32.store (local.get $o) (local.get $v))
      (br_if $l (i32.lt_u (local.tee $lo (i32.add (local.get $lo) (i32.const 1))) (local.get $hi)))))

  ;; broadcastLast(y, x, alpha, r, c, tid, nt)
  ;; y (R, C) += alpha * x (R) broadcast along C; rows split across threads.
  ;; (the backward of sumLast:  out[r] = alpha * Σ_c inp[r, c])
  (func (export "broadcastLast") (param $y i32) (param $x i32) (param $alpha f32) (param $r i32)
    (param $c i32) (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32) (local $p i32)
    (call $split (local.get $r) (local.get $tid) (local.get $nt) (i32.const 1))
    (local.set $hi) (local.set $lo)
    (if (i32.ge_u (local.get $lo) (local.get $hi)) (then (return)))
    (loop $l
      (local.set $p (i32.add (local.get $y) (i32.shl (i32.mul (local.get $lo) (local.get $c)) (i32.const 2))))
      (call $adds_seg (local.get $p) (local.get $p)
        (f32.mul (local.get $alpha) (f32.load (i32.add (local.get $x) (i32.shl (local.get $lo) (i32.const 2)))))
        (local.get $c))
      (br_if $l (i32.lt_u (local.tee $lo (i32.add (local.get $lo) (i32.const 1))) (local.get $hi)))))

  ;; sumLeading(out, inp, r, c, accumulate, tid, nt)
  ;; out (C) (=|+=) Σ_r inp (R, C); columns split across threads (chunks of 4),
  ;; each thread streams its column slice of every row into out.
  (func (export "sumLeading") (param $out i32) (param $inp i32) (param $r i32) (param $c i32)
    (param $acc i32) (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32) (local $w i32) (local $stride i32)
    (call $split (local.get $c) (local.get $tid) (local.get $nt) (i32.const 4))
    (local.set $hi) (local.set $lo)
    (if (i32.eqz (local.tee $w (i32.sub (local.get $hi) (local.get $lo)))) (then (return)))
    (local.set $out (i32.add (local.get $out) (i32.shl (local.get $lo) (i32.const 2))))
    (local.set $inp (i32.add (local.get $inp) (i32.shl (local.get $lo) (i32.const 2))))
    (local.set $stride (i32.shl (local.get $c) (i32.const 2)))
    (if (i32.eqz (local.get $acc)) (then
      (if (i32.eqz (local.get $r)) (then
        (call $fill_seg (local.get $out) (f32.const 0) (local.get $w))
        (return)))
      (call $copy_seg (local.get $out) (local.get $inp) (local.get $w))
      (local.set $inp (i32.add (local.get $inp) (local.get $stride)))
      (local.set $r (i32.sub (local.get $r) (i32.const 1)))))
    (if (local.get $r) (then (loop $l
      (call $add_seg (local.get $out) (local.get $out) (local.get $inp) (local.get $w))
      (local.set $inp (i32.add (local.get $inp) (local.get $stride)))
      (br_if $l (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))))

  ;; mulSumLeading(out, x, a, r, c, tid, nt)
  ;; out (C) += Σ_r x (R, C) * a (R, C); columns split across threads (chunks of 4)
  (func (export "mulSumLeading") (param $out i32) (param $x i32) (param $a i32) (param $r i32)
    (param $c i32) (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32) (local $w i32) (local $stride i32)
    (call $split (local.get $c) (local.get $tid) (local.get $nt) (i32.const 4))
    (local.set $hi) (local.set $lo)
    (if (i32.eqz (local.tee $w (i32.sub (local.get $hi) (local.get $lo)))) (then (return)))
    (if (i32.eqz (local.get $r)) (then (return)))
    (local.set $out (i32.add (local.get $out) (i32.shl (local.get $lo) (i32.const 2))))
    (local.set $x (i32.add (local.get $x) (i32.shl (local.get $lo) (i32.const 2))))
    (local.set $a (i32.add (local.get $a) (i32.shl (local.get $lo) (i32.const 2))))
    (local.set $stride (i32.shl (local.get $c) (i32.const 2)))
    (loop $l
      (call $madd_seg (local.get $out) (local.get $x) (local.get $a) (local.get $w))
      (local.set $x (i32.add (local.get $x) (local.get $stride)))
      (local.set $a (i32.add (local.get $a) (local.get $stride)))
      (br_if $l (local.tee $r (i32.sub (local.get $r) (i32.const 1))))))

  ;; sumSquares(out, x, n, accumulate)   — serial
  ;; out[0] (=|+=) Σ_i x (N)[i]², in four f32x4 accumulators combined at the end
  (func (export "sumSquares") (param $out i32) (param $x i32) (param $n i32) (param $acc i32)
    (local $k i32) (local $s f32) (local $v v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (if (local.tee $k (i32.shr_u (local.get $n) (i32.const 4))) (then (loop $l
      (local.set $v (v128.load offset=0 (local.get $x)))
      (local.set $a0 (f32x4.relaxed_madd (local.get $v) (local.get $v) (local.get $a0)))
      (local.set $v (v128.load offset=16 (local.get $x)))
      (local.set $a1 (f32x4.relaxed_madd (local.get $v) (local.get $v) (local.get $a1)))
      (local.set $v (v128.load offset=32 (local.get $x)))
      (local.set $a2 (f32x4.relaxed_madd (local.get $v) (local.get $v) (local.get $a2)))
      (local.set $v (v128.load offset=48 (local.get $x)))
      (local.set $a3 (f32x4.relaxed_madd (local.get $v) (local.get $v) (local.get $a3)))
      (local.set $x (i32.add (local.get $x) (i32.const 64)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (local.set $a0 (f32x4.add (f32x4.add (local.get $a0) (local.get $a1))
                              (f32x4.add (local.get $a2) (local.get $a3))))
    (if (local.tee $k (i32.and (i32.shr_u (local.get $n) (i32.const 2)) (i32.const 3))) (then (loop $l
      (local.set $v (v128.load (local.get $x)))
      (local.set $a0 (f32x4.relaxed_madd (local.get $v) (local.get $v) (local.get $a0)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (local.set $s (call $hsum (local.get $a0)))
    (if (local.tee $k (i32.and (local.get $n) (i32.const 3))) (then (loop $l
      (local.set $s (call $madd1 (f32.load (local.get $x)) (f32.load (local.get $x)) (local.get $s)))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.get $acc) (then (local.set $s (f32.add (f32.load (local.get $out)) (local.get $s)))))
    (f32.store (local.get $out) (local.get $s)))

  ;; clipScale(scale, sumsq, maxNorm)   — serial
  ;; scale[0] = min(1, maxNorm / (sqrt(sumsq[0]) + 1e-6)), scale and sumsq one-element buffers
  (func (export "clipScale") (param $scale i32) (param $sumsq i32) (param $maxNorm f32)
    (f32.store (local.get $scale)
      (f32.min (f32.const 1)
        (f32.div (local.get $maxNorm)
          (f32.add (f32.sqrt (f32.load (local.get $sumsq))) (f32.const 1e-6))))))

  ;; ==========================================================================
  ;; embedding
  ;; ==========================================================================

  ;; embeddingForward(out, weight, ids, n, c, tid, nt)
  ;; out (N, C) = weight (V, C) rows picked by ids (N) (i32, validated); rows split
  (func (export "embeddingForward") (param $out i32) (param $weight i32) (param $ids i32)
    (param $n i32) (param $c i32) (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32) (local $row i32)
    (call $split (local.get $n) (local.get $tid) (local.get $nt) (i32.const 1))
    (local.set $hi) (local.set $lo)
    (if (i32.ge_u (local.get $lo) (local.get $hi)) (then (return)))
    (local.set $row (i32.shl (local.get $c) (i32.const 2)))
    (loop $l
      (call $copy_seg
        (i32.add (local.get $out) (i32.mul (local.get $lo) (local.get $row)))
        (i32.add (local.get $weight)
          (i32.mul (i32.load (i32.add (local.get $ids) (i32.shl (local.get $lo) (i32.const 2))))
                   (local.get $row)))
        (local.get $c))
      (br_if $l (i32.lt_u (local.tee $lo (i32.add (local.get $lo) (i32.const 1))) (local.get $hi)))))

  ;; embeddingBackward(dweight, dout, ids, n, c, tid, nt)
  ;; dweight (V, C)[ids[r], :] += dout (N, C)[r, :], inverting
  ;;   out[r, :] = weight[ids[r], :]
  ;; Columns split across threads (chunks of 4): ids may repeat, so each thread
  ;; owns a column slice of every dweight row and walks all N rows in order.
  (func (export "embeddingBackward") (param $dweight i32) (param $dout i32) (param $ids i32)
    (param $n i32) (param $c i32) (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32) (local $w i32) (local $row i32) (local $p i32)
    (call $split (local.get $c) (local.get $tid) (local.get $nt) (i32.const 4))
    (local.set $hi) (local.set $lo)
    (if (i32.eqz (local.tee $w (i32.sub (local.get $hi) (local.get $lo)))) (then (return)))
    (if (i32.eqz (local.get $n)) (then (return)))
    (local.set $row (i32.shl (local.get $c) (i32.const 2)))
    (local.set $dweight (i32.add (local.get $dweight) (i32.shl (local.get $lo) (i32.const 2))))
    (local.set $dout (i32.add (local.get $dout) (i32.shl (local.get $lo) (i32.const 2))))
    (loop $l
      (local.set $p (i32.add (local.get $dweight)
        (i32.mul (i32.load (local.get $ids)) (local.get $row))))
      (call $add_seg (local.get $p) (local.get $p) (local.get $dout) (local.get $w))
      (local.set $ids (i32.add (local.get $ids) (i32.const 4)))
      (local.set $dout (i32.add (local.get $dout) (local.get $row)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))

  ;; ==========================================================================
  ;; layout
  ;; ==========================================================================

;; pick(k, v0, v1, v2, v3) = v_k for k in 0..3
  (func $pick (param $k i32) (param $v0 i32) (param $v1 i32) (param $v2 i32) (param $v3 i32)
    (result i32)
    (select
      (select (local.get $v1) (local.get $v0) (local.get $k))
      (select (local.get $v3) (local.get $v2) (i32.eq (local.get $k) (i32.const 3)))
      (i32.lt_u (local.get $k) (i32.const 2))))

  ;; perm_row(dst, src, n, stride, acc): dst[k] (=|+=) src[k * stride] for k < n,
  ;; stride in bytes; stride 4 (a contiguous run) goes through f32x4
  (func $perm_row (param $dst i32) (param $src i32) (param $n i32) (param $stride i32) (param $acc i32)
    (if (i32.eq (local.get $stride) (i32.const 4)) (then
      (if (local.get $acc)
        (then (call $add_seg (local.get $dst) (local.get $dst) (local.get $src) (local.get $n)))
        (else (call $copy_seg (local.get $dst) (local.get $src) (local.get $n))))
      (return)))
    (if (local.get $acc)
      (then (loop $g
        (f32.store (local.get $dst) (f32.add (f32.load (local.get $dst)) (f32.load (local.get $src))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $src (i32.add (local.get $src) (local.get $stride)))
        (br_if $g (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
      (else (loop $g
        (f32.store (local.get $dst) (f32.load (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $src (i32.add (local.get $src) (local.get $stride)))
        (br_if $g (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))))

  ;; permute(out, inp, s0, s1, s2, s3, p0, p1, p2, p3, accumulate, tid, nt)
  ;; out (S[p0], S[p1], S[p2], S[p3]) (=|+=) inp (S0, S1, S2, S3) permuted:
  ;; out[i0, i1, i2, i3] = inp at index i_k on input axis p_k.
  ;; Output rows (i0, i1, i2), each O3 long, are split across threads. A row is a
  ;; contiguous input run when the last axis stays last (the head split
  ;; (0, 2, 1, 3)) and is copied or added with f32x4; otherwise it is gathered
  ;; with the input stride of axis p3. When axis 1 of the output is closer
  ;; together in the input than axis 2 (e.g. (B, T, H, D) -> (B, H, T, D)), up to
  ;; 16 whole output lines (i0, i1 .. i1+15, :) are walked together, so that the
  ;; reads for one i2 are adjacent instead of one page apart.
  (func (export "permute") (param $out i32) (param $inp i32)
    (param $s0 i32) (param $s1 i32) (param $s2 i32) (param $s3 i32)
    (param $p0 i32) (param $p1 i32) (param $p2 i32) (param $p3 i32)
    (param $acc i32) (param $tid i32) (param $nt i32)
    (local $t0 i32) (local $t1 i32) (local $t2 i32)
    (local $o0 i32) (local $o1 i32) (local $o2 i32) (local $o3 i32)
    (local $u0 i32) (local $u1 i32) (local $u2 i32) (local $u3 i32)
    (local $i0 i32) (local $i1 i32) (local $i2 i32)
    (local $lo i32) (local $hi i32) (local $q i32) (local $rowb i32)
    (local $kk i32) (local $kn i32) (local $j2 i32) (local $base i32) (local $dst i32)
    ;; input strides in bytes: t3 = 4, t2 = 4*s3, t1 = t2*s2, t0 = t1*s1
    (local.set $t2 (i32.shl (local.get $s3) (i32.const 2)))
    (local.set $t1 (i32.mul (local.get $t2) (local.get $s2)))
    (local.set $t0 (i32.mul (local.get $t1) (local.get $s1)))
    ;; output dims o_k = s[p_k] and the input stride u_k (bytes) of output axis k
    (local.set $o0 (call $pick (local.get $p0) (local.get $s0) (local.get $s1) (local.get $s2) (local.get $s3)))
    (local.set $o1 (call $pick (local.get $p1) (local.get $s0) (local.get $s1) (local.get $s2) (local.get $s3)))
    (local.set $o2 (call $pick (local.get $p2) (local.get $s0) (local.get $s1) (local.get $s2) (local.get $s3)))
    (local.set $o3 (call $pick (local.get $p3) (local.get $s0) (local.get $s1) (local.get $s2) (local.get $s3)))
    (local.set $u0 (call $pick (local.get $p0) (local.get $t0) (local.get $t1) (local.get $t2) (i32.const 4)))
    (local.set $u1 (call $pick (local.get $p1) (local.get $t0) (local.get $t1) (local.get $t2) (i32.const 4)))
    (local.set $u2 (call $pick (local.get $p2) (local.get $t0) (local.get $t1) (local.get $t2) (i32.const 4)))
    (local.set $u3 (call $pick (local.get $p3) (local.get $t0) (local.get $t1) (local.get $t2) (i32.const 4)))
    (if (i32.eqz (local.get $o3)) (then (return)))
    (local.set $rowb (i32.shl (local.get $o3) (i32.const 2)))
    (call $split (i32.mul (i32.mul (local.get $o0) (local.get $o1)) (local.get $o2))
      (local.get $tid) (local.get $nt) (i32.const 1))
    (local.set $hi) (local.set $lo)
    (if (i32.ge_u (local.get $lo) (local.get $hi)) (then (return)))
    ;; row lo = (i0 * o1 + i1) * o2 + i2
    (local.set $i2 (i32.rem_u (local.get $lo) (local.get $o2)))
    (local.set $q (i32.div_u (local.get $lo) (local.get $o2)))
    (local.set $i1 (i32.rem_u (local.get $q) (local.get $o1)))
    (local.set $i0 (i32.div_u (local.get $q) (local.get $o1)))
    (loop $row
      (local.set $base (i32.add (local.get $inp)
        (i32.add (i32.mul (local.get $i0) (local.get $u0)) (i32.mul (local.get $i1) (local.get $u1)))))
      (if (i32.and (i32.and (i32.eqz (local.get $i2)) (i32.lt_u (local.get $u1) (local.get $u2)))
                   (i32.ge_u (i32.sub (local.get $hi) (local.get $lo)) (local.get $o2)))
        (then
          ;; kn whole lines i1 .. i1+kn-1 of plane i0, walked i2-major
          (local.set $kn (i32.div_u (i32.sub (local.get $hi) (local.get $lo)) (local.get $o2)))
          (if (i32.gt_u (local.get $kn) (i32.sub (local.get $o1) (local.get $i1)))
            (then (local.set $kn (i32.sub (local.get $o1) (local.get $i1)))))
          (if (i32.gt_u (local.get $kn) (i32.const 16)) (then (local.set $kn (i32.const 16))))
          (local.set $j2 (i32.const 0))
          (loop $j
            (local.set $kk (i32.const 0))
            (local.set $dst (i32.add (local.get $out)
              (i32.mul (i32.add (local.get $lo) (local.get $j2)) (local.get $rowb))))
            (loop $k
              (call $perm_row (local.get $dst)
                (i32.add (i32.add (local.get $base) (i32.mul (local.get $kk) (local.get $u1)))
                         (i32.mul (local.get $j2) (local.get $u2)))
                (local.get $o3) (local.get $u3) (local.get $acc))
              (local.set $dst (i32.add (local.get $dst) (i32.mul (local.get $o2) (local.get $rowb))))
              (br_if $k (i32.lt_u (local.tee $kk (i32.add (local.get $kk) (i32.const 1))) (local.get $kn))))
            (br_if $j (i32.lt_u (local.tee $j2 (i32.add (local.get $j2) (i32.const 1))) (local.get $o2))))
          (local.set $lo (i32.add (local.get $lo) (i32.mul (local.get $kn) (local.get $o2))))
          (if (i32.eq (local.tee $i1 (i32.add (local.get $i1) (local.get $kn))) (local.get $o1)) (then
            (local.set $i1 (i32.const 0))
            (local.set $i0 (i32.add (local.get $i0) (i32.const 1))))))
        (else
          ;; one row
          (call $perm_row (i32.add (local.get $out) (i32.mul (local.get $lo) (local.get $rowb)))
            (i32.add (local.get $base) (i32.mul (local.get $i2) (local.get $u2)))
            (local.get $o3) (local.get $u3) (local.get $acc))
          (local.set $lo (i32.add (local.get $lo) (i32.const 1)))
          ;; advance (i0, i1, i2) like an odometer
          (if (i32.eq (local.tee $i2 (i32.add (local.get $i2) (i32.const 1))) (local.get $o2)) (then
            (local.set $i2 (i32.const 0))
            (if (i32.eq (local.tee $i1 (i32.add (local.get $i1) (i32.const 1))) (local.get $o1)) (then
              (local.set $i1 (i32.const 0))
              (local.set $i0 (i32.add (local.get $i0) (i32.const 1)))))))))
      (br_if $row (i32.lt_u (local.get $lo) (local.get $hi)))))

  ;; ==========================================================================
  ;; dropout
  ;; ==========================================================================
  ;; keep(i) = uniform(key, offset + i) >= p with the counter-based stream
  ;;   u = lowbias32(lowbias32(offset + i) ^ key), uniform = (u >>> 8) * 2^-24
  ;; (compared as integers against threshold(p), which is exact)
  ;;   lowbias32(x): x ^= x >>> 16; x *= 0x7feb352d; x ^= x >>> 15; x *= 0x846ca68b; x ^= x >>> 16
  ;; all mod 2^32, so it vectorises directly with i32x4.mul / shr_u / xor.

;; lowbias4(x, m1, m2) = lowbias32 on each i32 lane (m1, m2 the two
  ;; multipliers splatted, passed in so that they stay in registers)
  (func $lowbias4 (param $x v128) (param $m1 v128) (param $m2 v128) (result v128)
    (local.set $x (v128.xor (local.get $x) (i32x4.shr_u (local.get $x) (i32.const 16))))
    (local.set $x (i32x4.mul (local.get $x) (local.get $m1)))
    (local.set $x (v128.xor (local.get $x) (i32x4.shr_u (local.get $x) (i32.const 15))))
    (local.set $x (i32x4.mul (local.get $x) (local.get $m2)))
    (v128.xor (local.get $x) (i32x4.shr_u (local.get $x) (i32.const 16))))

  ;; lowbias1(x) = lowbias32(x), scalar
  (func $lowbias1 (param $x i32) (result i32)
    (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 16))))
    (local.set $x (i32.mul (local.get $x) (i32.const 0x7feb352d)))
    (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 15))))
    (local.set $x (i32.mul (local.get $x) (i32.const 0x846ca68b)))
    (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 16))))

  ;; threshold(p): the integer t with  (u >>> 8) * 2^-24 >= p  <=>  (u >>> 8) >= t
  ;; (signed compare; u >>> 8 < 2^24). t = ceil(p * 2^24), saturated; NaN p keeps nothing.
  (func $threshold (param $p f32) (result i32)
    (if (result i32) (f32.ne (local.get $p) (local.get $p))
      (then (i32.const 0x7fffffff))
      (else (i32.trunc_sat_f32_s (f32.ceil (f32.mul (local.get $p) (f32.const 0x1p24)))))))

  ;; keep4(idx, key, t, m1, m2): all-ones lanes where keep(idx) (key, t splatted)
  (func $keep4 (param $idx v128) (param $key v128) (param $t v128) (param $m1 v128) (param $m2 v128)
    (result v128)
    (i32x4.ge_s
      (i32x4.shr_u
        (call $lowbias4
          (v128.xor (call $lowbias4 (local.get $idx) (local.get $m1) (local.get $m2)) (local.get $key))
          (local.get $m1) (local.get $m2))
        (i32.const 8))
      (local.get $t)))

  ;; keep1(idx, key, t) = keep(idx), scalar
  (func $keep1 (param $idx i32) (param $key i32) (param $t i32) (result i32)
    (i32.ge_s
      (i32.shr_u (call $lowbias1 (i32.xor (call $lowbias1 (local.get $idx)) (local.get $key))) (i32.const 8))
      (local.get $t)))

  ;; inv_keep(p) = f32(1 / (1 - p)), computed once (in f64, like Math.fround(1 / (1 - p)))
  (func $inv_keep (param $p f32) (result f32)
    (f32.demote_f64 (f64.div (f64.const 1) (f64.sub (f64.const 1) (f64.promote_f32 (local.get $p))))))

  ;; dropoutForward(out, inp, n, p, key, offset, tid, nt)
  ;; out (N) = keep(i) ? inp (N) * (1 / (1 - p)) : 0; key, offset u32
  (func (export "dropoutForward") (param $out i32) (param $inp i32) (param $n i32) (param $p f32)
    (param $key i32) (param $offset i32) (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32) (local $k i32) (local $s f32)
    (local $t i32) (local $idx v128) (local $kv v128) (local $tv v128) (local $sv v128)
    (local $m1 v128) (local $m2 v128) (local $four v128)
    (call $split (local.get $n) (local.get $tid) (local.get $nt) (i32.const 16))
    (local.set $hi) (local.set $lo)
    (local.set $s (call $inv_keep (local.get $p)))
    (local.set $sv (f32x4.splat (local.get $s)))
    (local.set $kv (i32x4.splat (local.get $key)))
    (local.set $t (call $threshold (local.get $p)))
    (local.set $tv (i32x4.splat (local.get $t)))
    (local.set $m1 (i32x4.splat (i32.const 0x7feb352d)))
    (local.set $m2 (i32x4.splat (i32.const 0x846ca68b)))
    (local.set $offset (i32.add (local.get $offset) (local.get $lo)))
    (local.set $idx (i32x4.add (i32x4.splat (local.get $offset)) (v128.const i32x4 0 1 2 3)))
    (local.set $four (i32x4.splat (i32.const 4)))
    (local.set $out (i32.add (local.get $out) (i32.shl (local.get $lo) (i32.const 2))))
    (local.set $inp (i32.add (local.get $inp) (i32.shl (local.get $lo) (i32.const 2))))
    (local.set $n (i32.sub (local.get $hi) (local.get $lo)))
    (if (local.tee $k (i32.shr_u (local.get $n) (i32.const 2))) (then (loop $l
      (v128.store (local.get $out)
        (v128.and (f32x4.mul (v128.load (local.get $inp)) (local.get $sv))
                  (call $keep4 (local.get $idx) (local.get $kv) (local.get $tv) (local.get $m1) (local.get $m2))))
      (local.set $idx (i32x4.add (local.get $idx) (local.get $four)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (local.set $inp (i32.add (local.get $inp) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (local.set $offset (i32x4.extract_lane 0 (local.get $idx)))
    (if (local.tee $k (i32.and (local.get $n) (i32.const 3))) (then (loop $l
      (f32.store (local.get $out)
        (select (f32.mul (f32.load (local.get $inp)) (local.get $s)) (f32.const 0)
          (call $keep1 (local.get $offset) (local.get $key) (local.get $t))))
      (local.set $offset (i32.add (local.get $offset) (i32.const 1)))
      (local.set $out (i32.add (local.get $out) (i32.const 4)))
      (local.set $inp (i32.add (local.get $inp) (i32.const 4)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))))

  ;; dropoutBackward(dinp, dout, n, p, key, offset, tid, nt)
  ;; dinp (N) += keep(i) ? dout (N) * (1 / (1 - p)) : 0, inverting
  ;;   out[i] = keep(i) ? inp[i] * (1 / (1 - p)) : 0   (the mask is regenerated)
  (func (export "dropoutBackward") (param $dinp i32) (param $dout i32) (param $n i32) (param $p f32)
    (param $key i32) (param $offset i32) (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32) (local $k i32) (local $s f32)
    (local $t i32) (local $idx v128) (local $kv v128) (local $tv v128) (local $sv v128)
    (local $m1 v128) (local $m2 v128) (local $four v128)
    (call $split (local.get $n) (local.get $tid) (local.get $nt) (i32.const 16))
    (local.set $hi) (local.set $lo)
    (local.set $s (call $inv_keep (local.get $p)))
    (local.set $sv (f32x4.splat (local.get $s)))
    (local.set $kv (i32x4.splat (local.get $key)))
    (local.set $t (call $threshold (local.get $p)))
    (local.set $tv (i32x4.splat (local.get $t)))
    (local.set $m1 (i32x4.splat (i32.const 0x7feb352d)))
    (local.set $m2 (i32x4.splat (i32.const 0x846ca68b)))
    (local.set $offset (i32.add (local.get $offset) (local.get $lo)))
    (local.set $idx (i32x4.add (i32x4.splat (local.get $offset)) (v128.const i32x4 0 1 2 3)))
    (local.set $four (i32x4.splat (i32.const 4)))
    (local.set $dinp (i32.add (local.get $dinp) (i32.shl (local.get $lo) (i32.const 2))))
    (local.set $dout (i32.add (local.get $dout) (i32.shl (local.get $lo) (i32.const 2))))
    (local.set $n (i32.sub (local.get $hi) (local.get $lo)))
    (if (local.tee $k (i32.shr_u (local.get $n) (i32.const 2))) (then (loop $l
      (v128.store (local.get $dinp)
        (f32x4.add (v128.load (local.get $dinp))
          (v128.and (f32x4.mul (v128.load (local.get $dout)) (local.get $sv))
                    (call $keep4 (local.get $idx) (local.get $kv) (local.get $tv) (local.get $m1) (local.get $m2)))))
      (local.set $idx (i32x4.add (local.get $idx) (local.get $four)))
      (local.set $dinp (i32.add (local.get $dinp) (i32.const 16)))
      (local.set $dout (i32.add (local.get $dout) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (local.set $offset (i32x4.extract_lane 0 (local.get $idx)))
    (if (local.tee $k (i32.and (local.get $n) (i32.const 3))) (then (loop $l
      (if (call $keep1 (local.get $offset) (local.get $key) (local.get $t))
        (then (f32.store (local.get $dinp)
          (f32.add (f32.load (local.get $dinp)) (f32.mul (f32.load (local.get $dout)) (local.get $s))))))
      (local.set $offset (i32.add (local.get $offset) (i32.const 1)))
      (local.set $dinp (i32.add (local.get $dinp) (i32.const 4)))
      (local.set $dout (i32.add (local.get $dout) (i32.const 4)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))))
)
