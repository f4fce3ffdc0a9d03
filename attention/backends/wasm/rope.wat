;; rope.wat — rotary position embedding (RoPE) kernels of the wasm backend, applied
;; in place of a copy to the fused qkv activations of attention.
;;
;; Layout: inp/out/dinp/dout are (N, 3C) row-major, q = columns [0, C),
;; k = [C, 2C), v = [2C, 3C); q and k each hold NH heads of HS = C / NH columns
;; (HS even, HS/2 may be odd). cos and sin are (N, HS/2) tables, one row per
;; token, built by the caller (positions, YaRN scaling and noise folded in).
;; Rotate-half convention (GPT-NeoX / HF Llama): within a head, column i pairs
;; with column i + HS/2 and that pair is rotated by the angle of cos/sin[n, i].
;; v is passed through unchanged (copied forward, accumulated backward).
;;
;; Every buffer lives in the one shared memory imported as env.memory. Pointers
;; are i32 byte offsets (f32 buffers are 4-byte aligned, 16-byte alignment is
;; never assumed), counts are i32 (treated as unsigned). Bytes [0, 4096) belong
;; to the thread pool.
;;
;; Parallel kernels take (tid, nt) last: all nt threads call the export with the
;; same arguments; tokens are split by rows, chunk = ceil(N / nt), thread t owns
;; rows [t*chunk, min(N, (t+1)*chunk)).
;;
;; Inner loops run 4 lanes of i per f32x4 step (4 x1, 4 x2, 4 cos, 4 sin), then a
;; scalar tail with the same operations in the same order, so results do not
;; depend on nt. No fused multiply-add is used (the kernels are bandwidth bound),
;; so the relaxed and portable builds of this module are identical.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; ==========================================================================
  ;; internal helpers
  ;; ==========================================================================

  ;; rows(n, tid, nt) -> (lo, hi): thread tid's rows of [0, n), chunk = ceil(n / nt)
  (func $rows (param $n i32) (param $tid i32) (param $nt i32) (result i32 i32)
    (local $c i32) (local $lo i32) (local $hi i32)
    (local.set $c (i32.div_u (local.get $n) (local.get $nt)))
    (if (i32.rem_u (local.get $n) (local.get $nt))
      (then (local.set $c (i32.add (local.get $c) (i32.const 1)))))
    (local.set $lo (i32.mul (local.get $tid) (local.get $c)))
    (if (i32.gt_u (local.get $lo) (local.get $n)) (then (local.set $lo (local.get $n))))
    (local.set $hi (i32.add (local.get $lo) (local.get $c)))
    (if (i32.gt_u (local.get $hi) (local.get $n)) (then (local.set $hi (local.get $n))))
    (local.get $lo) (local.get $hi))

  ;; rot_seg(o, x, c, s, m): one head of 2m columns, o must not alias x
  ;;   o[i]     = x[i] * c[i] - x[m+i] * s[i]
  ;;   o[m + i] = x[m+i] * c[i] + x[i] * s[i]      for i < m
  (func $rot_seg (param $o i32) (param $x i32) (param $c i32) (param $s i32) (param $m i32)
    (local $k i32) (local $o2 i32) (local $x2 i32)
    (local $a v128) (local $b v128) (local $cv v128) (local $sv v128)
    (local $af f32) (local $bf f32) (local $cf f32) (local $sf f32)
    (local.set $k (i32.shl (local.get $m) (i32.const 2)))
    (local.set $o2 (i32.add (local.get $o) (local.get $k)))
    (local.set $x2 (i32.add (local.get $x) (local.get $k)))
    (if (local.tee $k (i32.shr_u (local.get $m) (i32.const 2))) (then (loop $l
      (local.set $a (v128.load (local.get $x)))
      (local.set $b (v128.load (local.get $x2)))
      (local.set $cv (v128.load (local.get $c)))
      (local.set $sv (v128.load (local.get $s)))
      (v128.store (local.get $o)
        (f32x4.sub (f32x4.mul (local.get $a) (local.get $cv)) (f32x4.mul (local.get $b) (local.get $sv))))
      (v128.store (local.get $o2)
        (f32x4.add (f32x4.mul (local.get $b) (local.get $cv)) (f32x4.mul (local.get $a) (local.get $sv))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (local.set $o2 (i32.add (local.get $o2) (i32.const 16)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $x2 (i32.add (local.get $x2) (i32.const 16)))
      (local.set $c (i32.add (local.get $c) (i32.const 16)))
      (local.set $s (i32.add (local.get $s) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (local.get $m) (i32.const 3))) (then (loop $l
      (local.set $af (f32.load (local.get $x)))
      (local.set $bf (f32.load (local.get $x2)))
      (local.set $cf (f32.load (local.get $c)))
      (local.set $sf (f32.load (local.get $s)))
      (f32.store (local.get $o)
        (f32.sub (f32.mul (local.get $af) (local.get $cf)) (f32.mul (local.get $bf) (local.get $sf))))
      (f32.store (local.get $o2)
        (f32.add (f32.mul (local.get $bf) (local.get $cf)) (f32.mul (local.get $af) (local.get $sf))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (local.set $o2 (i32.add (local.get $o2) (i32.const 4)))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $x2 (i32.add (local.get $x2) (i32.const 4)))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (local.set $s (i32.add (local.get $s) (i32.const 4)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))))

  ;; rotT_seg(g, d, c, s, m): transpose of rot_seg accumulated into g (g != d)
  ;;   g[i]     += d[i] * c[i] + d[m+i] * s[i]
  ;;   g[m + i] += d[m+i] * c[i] - d[i] * s[i]      for i < m
  (func $rotT_seg (param $g i32) (param $d i32) (param $c i32) (param $s i32) (param $m i32)
    (local $k i32) (local $g2 i32) (local $d2 i32)
    (local $a v128) (local $b v128) (local $cv v128) (local $sv v128)
    (local $af f32) (local $bf f32) (local $cf f32) (local $sf f32)
    (local.set $k (i32.shl (local.get $m) (i32.const 2)))
    (local.set $g2 (i32.add (local.get $g) (local.get $k)))
    (local.set $d2 (i32.add (local.get $d) (local.get $k)))
    (if (local.tee $k (i32.shr_u (local.get $m) (i32.const 2))) (then (loop $l
      (local.set $a (v128.load (local.get $d)))
      (local.set $b (v128.load (local.get $d2)))
      (local.set $cv (v128.load (local.get $c)))
      (local.set $sv (v128.load (local.get $s)))
      (v128.store (local.get $g) (f32x4.add (v128.load (local.get $g))
        (f32x4.add (f32x4.mul (local.get $a) (local.get $cv)) (f32x4.mul (local.get $b) (local.get $sv)))))
      (v128.store (local.get $g2) (f32x4.add (v128.load (local.get $g2))
        (f32x4.sub (f32x4.mul (local.get $b) (local.get $cv)) (f32x4.mul (local.get $a) (local.get $sv)))))
      (local.set $g (i32.add (local.get $g) (i32.const 16)))
      (local.set $g2 (i32.add (local.get $g2) (i32.const 16)))
      (local.set $d (i32.add (local.get $d) (i32.const 16)))
      (local.set $d2 (i32.add (local.get $d2) (i32.const 16)))
      (local.set $c (i32.add (local.get $c) (i32.const 16)))
      (local.set $s (i32.add (local.get $s) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (local.get $m) (i32.const 3))) (then (loop $l
      (local.set $af (f32.load (local.get $d)))
      (local.set $bf (f32.load (local.get $d2)))
      (local.set $cf (f32.load (local.get $c)))
      (local.set $sf (f32.load (local.get $s)))
      (f32.store (local.get $g) (f32.add (f32.load (local.get $g))
        (f32.add (f32.mul (local.get $af) (local.get $cf)) (f32.mul (local.get $bf) (local.get $sf)))))
      (f32.store (local.get $g2) (f32.add (f32.load (local.get $g2))
        (f32.sub (f32.mul (local.get $bf) (local.get $cf)) (f32.mul (local.get $af) (local.get $sf)))))
      (local.set $g (i32.add (local.get $g) (i32.const 4)))
      (local.set $g2 (i32.add (local.get $g2) (i32.const 4)))
      (local.set $d (i32.add (local.get $d) (i32.const 4)))
      (local.set $d2 (i32.add (local.get $d2) (i32.const 4)))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (local.set $s (i32.add (local.get $s) (i32.const 4)))
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

  ;; acc_seg(o, a, n): o[i] += a[i] for i < n
  (func $acc_seg (param $o i32) (param $a i32) (param $n i32)
    (local $k i32)
    (if (local.tee $k (i32.shr_u (local.get $n) (i32.const 4))) (then (loop $l
      (v128.store offset=0 (local.get $o)
        (f32x4.add (v128.load offset=0 (local.get $o)) (v128.load offset=0 (local.get $a))))
      (v128.store offset=16 (local.get $o)
        (f32x4.add (v128.load offset=16 (local.get $o)) (v128.load offset=16 (local.get $a))))
      (v128.store offset=32 (local.get $o)
        (f32x4.add (v128.load offset=32 (local.get $o)) (v128.load offset=32 (local.get $a))))
      (v128.store offset=48 (local.get $o)
        (f32x4.add (v128.load offset=48 (local.get $o)) (v128.load offset=48 (local.get $a))))
      (local.set $o (i32.add (local.get $o) (i32.const 64)))
      (local.set $a (i32.add (local.get $a) (i32.const 64)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (i32.shr_u (local.get $n) (i32.const 2)) (i32.const 3))) (then (loop $l
      (v128.store (local.get $o) (f32x4.add (v128.load (local.get $o)) (v128.load (local.get $a))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    (if (local.tee $k (i32.and (local.get $n) (i32.const 3))) (then (loop $l
      (f32.store (local.get $o) (f32.add (f32.load (local.get $o)) (f32.load (local.get $a))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (local.set $a (i32.add (local.get $a) (i32.const 4)))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))))

  ;; ==========================================================================
  ;; RoPE
  ;; ==========================================================================

  ;; ropeForward(out, inp, cos, sin, N, C, NH, tid, nt)
  ;; out (N, 3C), inp (N, 3C), cos (N, HS/2), sin (N, HS/2), HS = C / NH;
  ;; for every token n, head h of q and of k (base = n*3C + part*C + h*HS), i < HS/2:
  ;;   out[base + i]        = inp[base + i] * cos[n, i] - inp[base + HS/2 + i] * sin[n, i]
  ;;   out[base + HS/2 + i] = inp[base + HS/2 + i] * cos[n, i] + inp[base + i] * sin[n, i]
  ;; and out[n, 2C:3C] = inp[n, 2C:3C] (v unchanged). out must not alias inp.
  (func (export "ropeForward") (param $out i32) (param $inp i32) (param $cos i32) (param $sin i32)
    (param $n i32) (param $c i32) (param $nh i32) (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32) (local $m i32) (local $hb i32) (local $cb i32) (local $rb i32)
    (local $tb i32) (local $h i32) (local $p i32)
    (if (i32.eqz (local.get $nh)) (then (return)))
    (call $rows (local.get $n) (local.get $tid) (local.get $nt))
    (local.set $hi) (local.set $lo)
    (if (i32.ge_u (local.get $lo) (local.get $hi)) (then (return)))
    (local.set $m (i32.shr_u (i32.div_u (local.get $c) (local.get $nh)) (i32.const 1)))
    (local.set $hb (i32.shl (local.get $m) (i32.const 3)))               ;; bytes per head
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))               ;; bytes per C columns
    (local.set $rb (i32.mul (local.get $cb) (i32.const 3)))              ;; bytes per row
    (local.set $tb (i32.shl (local.get $m) (i32.const 2)))               ;; bytes per table row
    (local.set $out (i32.add (local.get $out) (i32.mul (local.get $lo) (local.get $rb))))
    (local.set $inp (i32.add (local.get $inp) (i32.mul (local.get $lo) (local.get $rb))))
    (local.set $cos (i32.add (local.get $cos) (i32.mul (local.get $lo) (local.get $tb))))
    (local.set $sin (i32.add (local.get $sin) (i32.mul (local.get $lo) (local.get $tb))))
    (loop $row
      ;; q and k are contiguous: 2*NH heads share this token's cos/sin row
      (local.set $p (i32.const 0))
      (local.set $h (i32.shl (local.get $nh) (i32.const 1)))
      (loop $head
        (call $rot_seg (i32.add (local.get $out) (local.get $p)) (i32.add (local.get $inp) (local.get $p))
          (local.get $cos) (local.get $sin) (local.get $m))
        (local.set $p (i32.add (local.get $p) (local.get $hb)))
        (br_if $head (local.tee $h (i32.sub (local.get $h) (i32.const 1)))))
      (local.set $p (i32.shl (local.get $cb) (i32.const 1)))
      (call $copy_seg (i32.add (local.get $out) (local.get $p)) (i32.add (local.get $inp) (local.get $p))
        (local.get $c))
      (local.set $out (i32.add (local.get $out) (local.get $rb)))
      (local.set $inp (i32.add (local.get $inp) (local.get $rb)))
      (local.set $cos (i32.add (local.get $cos) (local.get $tb)))
      (local.set $sin (i32.add (local.get $sin) (local.get $tb)))
      (br_if $row (i32.lt_u (local.tee $lo (i32.add (local.get $lo) (i32.const 1))) (local.get $hi)))))

  ;; ropeBackward(dinp, dout, cos, sin, N, C, NH, tid, nt)
  ;; dinp (N, 3C) += Rᵀ dout (N, 3C) (rotation by −θ), cos/sin (N, HS/2), HS = C / NH:
  ;;   dinp[base + i]        += dout[base + i] * cos[n, i] + dout[base + HS/2 + i] * sin[n, i]
  ;;   dinp[base + HS/2 + i] += dout[base + HS/2 + i] * cos[n, i] - dout[base + i] * sin[n, i]
  ;;   dinp[n, 2C:3C]        += dout[n, 2C:3C]
  ;; inverting
  ;;   out[base + i]        = inp[base + i] * cos[n, i] - inp[base + HS/2 + i] * sin[n, i]
  ;;   out[base + HS/2 + i] = inp[base + HS/2 + i] * cos[n, i] + inp[base + i] * sin[n, i]
  ;;   out[n, 2C:3C]        = inp[n, 2C:3C]
  ;; dinp must not alias dout.
  (func (export "ropeBackward") (param $dinp i32) (param $dout i32) (param $cos i32) (param $sin i32)
    (param $n i32) (param $c i32) (param $nh i32) (param $tid i32) (param $nt i32)
    (local $lo i32) (local $hi i32) (local $m i32) (local $hb i32) (local $cb i32) (local $rb i32)
    (local $tb i32) (local $h i32) (local $p i32)
    (if (i32.eqz (local.get $nh)) (then (return)))
    (call $rows (local.get $n) (local.get $tid) (local.get $nt))
    (local.set $hi) (local.set $lo)
    (if (i32.ge_u (local.get $lo) (local.get $hi)) (then (return)))
    (local.set $m (i32.shr_u (i32.div_u (local.get $c) (local.get $nh)) (i32.const 1)))
    (local.set $hb (i32.shl (local.get $m) (i32.const 3)))
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rb (i32.mul (local.get $cb) (i32.const 3)))
    (local.set $tb (i32.shl (local.get $m) (i32.const 2)))
    (local.set $dinp (i32.add (local.get $dinp) (i32.mul (local.get $lo) (local.get $rb))))
    (local.set $dout (i32.add (local.get $dout) (i32.mul (local.get $lo) (local.get $rb))))
    (local.set $cos (i32.add (local.get $cos) (i32.mul (local.get $lo) (local.get $tb))))
    (local.set $sin (i32.add (local.get $sin) (i32.mul (local.get $lo) (local.get $tb))))
    (loop $row
      (local.set $p (i32.const 0))
      (local.set $h (i32.shl (local.get $nh) (i32.const 1)))
      (loop $head
        (call $rotT_seg (i32.add (local.get $dinp) (local.get $p)) (i32.add (local.get $dout) (local.get $p))
          (local.get $cos) (local.get $sin) (local.get $m))
        (local.set $p (i32.add (local.get $p) (local.get $hb)))
        (br_if $head (local.tee $h (i32.sub (local.get $h) (i32.const 1)))))
      (local.set $p (i32.shl (local.get $cb) (i32.const 1)))
      (call $acc_seg (i32.add (local.get $dinp) (local.get $p)) (i32.add (local.get $dout) (local.get $p))
        (local.get $c))
      (local.set $dinp (i32.add (local.get $dinp) (local.get $rb)))
      (local.set $dout (i32.add (local.get $dout) (local.get $rb)))
      (local.set $cos (i32.add (local.get $cos) (local.get $tb)))
      (local.set $sin (i32.add (local.get $sin) (local.get $tb)))
      (br_if $row (i32.lt_u (local.tee $lo (i32.add (local.get $lo) (i32.const 1))) (local.get $hi)))))
)
