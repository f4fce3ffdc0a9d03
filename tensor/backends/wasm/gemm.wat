;; gemm.wat — general matrix product for the metatokens wasm backend.
;;
;;   C_p (M,N) = (accumulate ? C_p : 0) + op(A_p) (M,K) · op(B_p) (K,N) + bias (N)
;;   for p in [0, batch), op(A) = A^T if transA (A stored (K,M)), op(B) = B^T if transB
;;   (B stored (N,K), the nn.Linear weight layout).
;;
;; Blocking scheme (GotoBLAS / BLIS loop order, sized for Zen 5: 48 KB L1d, 1 MB L2 per core):
;;
;;   for jc in N step NC (=2048)                          B block  KC x NC  (2 MB, lives in L3)
;;     for pc in K step KC (=256)       pack op(B)[pc:pc+KC, jc:jc+NC] into 8-wide panels
;;       for ic in M step MC (=256)     pack op(A)[ic:ic+MC, pc:pc+KC] into 4-tall panels
;;                                                        A block  MC x KC  (256 KB, stays in L2)
;;         for jr in NC step 8                            B panel  KC x 8   (8 KB, stays in L1)
;;           for ir in MC step 4                          A panel  KC x 4   (4 KB, streamed from L2)
;;             micro-kernel: C[ir:ir+4, jr:jr+8] += Apanel · Bpanel
;;
;; The micro-kernel keeps a 4x8 tile of C in 8 f32x4 accumulators (8 + 2 B vectors + 1 A column
;; + 1 broadcast = 12 of the 16 xmm registers, so nothing spills, also in the mul+add fallback);
;; per k it does 2 B loads, 1 A load, 4 lane broadcasts (i8x16.shuffle, a pshufd) and 8 fused
;; multiply-adds, unrolled 4 times in k. Measured in V8 on Zen 5: shuffle broadcasts reach
;; ~50 GFLOP/s in L1 where v128.load32_splat broadcasts reach ~42; 6x8 and 4x12 tiles spill.
;; Packing puts every operand in exactly the order the micro-kernel reads it (unit stride), which
;; is also where the four transpose combinations are absorbed: a panel is either copied with
;; v128 loads (operand contiguous along the panel width) or transposed 4x4 with shuffles
;; (operand contiguous along k). Panels are zero-padded to full width (4 rows / 8 columns) and
;; to a multiple of 4 in k, so the kernel always runs full, unrolled tiles; only the store of
;; a partial C tile (M or N edge) goes through a small scratch tile and a scalar loop.
;; The first K block writes C (reading it only if accumulate) and adds the bias; later K blocks
;; add into C. K = 0 runs one empty K block, so C = (accumulate ? C : 0) + bias still holds.
;;
;; Threads: the output is cut into units of 8 columns (when N >= M) or 4 rows (otherwise),
;; flattened over the batch; thread tid takes a contiguous, balanced range of units and runs the
;; loop nest above on its own rectangles with its own packing buffers, so no two threads write
;; the same C element. Each thread packs the operand it does not split (a small, amortised cost).
;;
;; Workspace per thread (gemm_ws_bytes): 64 (alignment slack) + A block MC*KC*4
;; + B block KC*NC*4 + scratch tile 4*8*4 bytes.

(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; blocking parameters (elements)
  (global $MC i32 (i32.const 256))
  (global $KC i32 (i32.const 256))
  (global $NC i32 (i32.const 2048))

  ;; per-call scratch (globals are per instance, i.e. per thread)
  (global $a_si (mut i32) (i32.const 0))   ;; element stride of op(A) along rows i
  (global $a_sk (mut i32) (i32.const 0))   ;; element stride of op(A) along k
  (global $b_sj (mut i32) (i32.const 0))   ;; element stride of op(B) along columns j
  (global $b_sk (mut i32) (i32.const 0))   ;; element stride of op(B) along k
  (global $K (mut i32) (i32.const 0))
  (global $N (mut i32) (i32.const 0))
  (global $accumulate (mut i32) (i32.const 0))
  (global $bias (mut i32) (i32.const 0))
  (global $bufA (mut i32) (i32.const 0))   ;; packed A block: MC/4 panels of (KCp, 4)
  (global $bufB (mut i32) (i32.const 0))   ;; packed B block: NC/8 panels of (KCp, 8)
  (global $tmp (mut i32) (i32.const 0))    ;; scratch tile (4, 8)

  ;; gemm_ws_bytes() -> i32: workspace bytes each thread needs.
  (func $gemm_ws_bytes (export "gemm_ws_bytes") (result i32)
    (i32.add (i32.const 192)   ;; 64 alignment slack + 128 scratch tile
      (i32.mul (i32.const 4)
        (i32.add (i32.mul (global.get $MC) (global.get $KC))
                 (i32.mul (global.get $KC) (global.get $NC))))))

  ;; transpose4(dst, src, src_stride, dst_stride): dst rows (4, 4) = transpose of src rows (4, 4).
  ;; src row r (4 floats along k) at src + r*src_stride; dst row kk (4 floats along the panel
  ;; width) at dst + kk*dst_stride. Strides in bytes.
  (func $transpose4 (param $dst i32) (param $src i32) (param $ss i32) (param $ds i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $lo01 v128) (local $hi01 v128) (local $lo23 v128) (local $hi23 v128)
    (local.set $r0 (v128.load (local.get $src)))
    (local.set $r1 (v128.load (i32.add (local.get $src) (local.get $ss))))
    (local.set $r2 (v128.load (i32.add (local.get $src) (i32.shl (local.get $ss) (i32.const 1)))))
    (local.set $r3 (v128.load (i32.add (local.get $src) (i32.mul (local.get $ss) (i32.const 3)))))
    ;; lo01 = r0[0] r1[0] r0[1] r1[1], hi01 = r0[2] r1[2] r0[3] r1[3] (same for 23)
    (local.set $lo01 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
    (local.set $hi01 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
    (local.set $lo23 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
    (local.set $hi23 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
    (v128.store (local.get $dst)
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $lo01) (local.get $lo23)))
    (v128.store (i32.add (local.get $dst) (local.get $ds))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $lo01) (local.get $lo23)))
    (v128.store (i32.add (local.get $dst) (i32.shl (local.get $ds) (i32.const 1)))
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $hi01) (local.get $hi23)))
    (v128.store (i32.add (local.get $dst) (i32.mul (local.get $ds) (i32.const 3)))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $hi01) (local.get $hi23))))

  ;; pack(dst, src, s_w, s_k, W, w, kc, kcp): one panel of width W (4 for A, 8 for B).
  ;;   dst (kcp, W) row-major, dst[k][j] = src[j*s_w + k*s_k] for j < w, k < kc, else 0.
  ;;   src is the operand at the panel's first element; s_w, s_k are element strides.
  ;;   kcp = kc rounded up to a multiple of 4.
  (func $pack (param $dst i32) (param $src i32) (param $s_w i32) (param $s_k i32)
              (param $W i32) (param $w i32) (param $kc i32) (param $kcp i32)
    (local $k i32) (local $j i32) (local $p i32) (local $rowBytes i32) (local $g i32)
    (local.set $rowBytes (i32.shl (local.get $W) (i32.const 2)))
    (if (i32.eq (local.get $w) (local.get $W))
      (then
        (if (i32.eq (local.get $s_w) (i32.const 1))
          (then
            ;; contiguous along the width: copy W floats per k
            (local.set $p (local.get $dst))
            (block $done (loop $copy
              (br_if $done (i32.ge_u (local.get $k) (local.get $kc)))
              (v128.store (local.get $p)
                (v128.load (i32.add (local.get $src)
                  (i32.shl (i32.mul (local.get $k) (local.get $s_k)) (i32.const 2)))))
              (if (i32.eq (local.get $W) (i32.const 8))
                (then (v128.store offset=16 (local.get $p)
                  (v128.load offset=16 (i32.add (local.get $src)
                    (i32.shl (i32.mul (local.get $k) (local.get $s_k)) (i32.const 2)))))))
              (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $copy))))
          (else
            (if (i32.eq (local.get $s_k) (i32.const 1))
              (then
                ;; contiguous along k: 4x4 transposes, 4 k at a time
                (block $done (loop $tr
                  (br_if $done (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $kc)))
                  (local.set $g (i32.const 0))
                  (loop $groups
                    (call $transpose4
                      (i32.add (local.get $dst)
                        (i32.shl (i32.add (i32.mul (local.get $k) (local.get $W)) (local.get $g)) (i32.const 2)))
                      (i32.add (local.get $src)
                        (i32.shl (i32.add (i32.mul (local.get $g) (local.get $s_w)) (local.get $k)) (i32.const 2)))
                      (i32.shl (local.get $s_w) (i32.const 2))
                      (local.get $rowBytes))
                    (local.set $g (i32.add (local.get $g) (i32.const 4)))
                    (br_if $groups (i32.lt_u (local.get $g) (local.get $W))))
                  (local.set $k (i32.add (local.get $k) (i32.const 4)))
                  (br $tr)))))))))
    ;; generic path (partial panels and the k remainder of the transposed path)
    (block $done (loop $rows
      (br_if $done (i32.ge_u (local.get $k) (local.get $kc)))
      (local.set $p (i32.add (local.get $dst) (i32.mul (local.get $k) (local.get $rowBytes))))
      (local.set $j (i32.const 0))
      (loop $cols
        (f32.store (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2)))
          (if (result f32) (i32.lt_u (local.get $j) (local.get $w))
            (then (f32.load (i32.add (local.get $src)
              (i32.shl (i32.add (i32.mul (local.get $j) (local.get $s_w))
                                (i32.mul (local.get $k) (local.get $s_k))) (i32.const 2)))))
            (else (f32.const 0))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $cols (i32.lt_u (local.get $j) (local.get $W))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $rows)))
    ;; zero rows kc..kcp
    (block $done (loop $zero
      (br_if $done (i32.ge_u (local.get $k) (local.get $kcp)))
      (local.set $p (i32.add (local.get $dst) (i32.mul (local.get $k) (local.get $rowBytes))))
      (v128.store (local.get $p) (v128.const i32x4 0 0 0 0))
      (if (i32.eq (local.get $W) (i32.const 8))
        (then (v128.store offset=16 (local.get $p) (v128.const i32x4 0 0 0 0))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $zero))))

  ;; kernel(pa, pb, kcp, c, ldc, rows, cols, loadC, biasp): one 4x8 tile of C.
  ;;   pa: packed A panel (kcp, 4); pb: packed B panel (kcp, 8); kcp a multiple of 4 (may be 0).
  ;;   c: C tile origin, ldc: C row stride in bytes; only rows x cols (<= 4 x 8) are written.
  ;;   C[r][j] = (loadC ? C[r][j] : 0) + (biasp ? biasp[j] : 0) + sum_k pa[k][r] * pb[k][j].
  (func $kernel (param $pa i32) (param $pb i32) (param $kcp i32) (param $c i32) (param $ldc i32)
                (param $rows i32) (param $cols i32) (param $loadC i32) (param $biasp i32)
    (local $av v128) (local $a v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $end i32) (local $c1 i32) (local $c2 i32) (local $c3 i32)
    (local $r i32) (local $j i32) (local $t i32) (local $p i32) (local $v f32)
    (if (local.get $kcp)
      (then
        (local.set $end (i32.add (local.get $pa) (i32.shl (local.get $kcp) (i32.const 4))))
        (loop $k
          ;; k + 0: B row (8) and A column (4), each A lane broadcast by a shuffle
          (local.set $b0 (v128.load offset=0 (local.get $pb)))
          (local.set $b1 (v128.load offset=16 (local.get $pb)))
          (local.set $av (v128.load offset=0 (local.get $pa)))
          (local.set $a (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $av) (local.get $av)))
          (local.set $c00 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c00)))
          (local.set $c01 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c01)))
          (local.set $a (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $av) (local.get $av)))
          (local.set $c10 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c10)))
          (local.set $c11 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c11)))
          (local.set $a (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $av) (local.get $av)))
          (local.set $c20 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c20)))
          (local.set $c21 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c21)))
          (local.set $a (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $av) (local.get $av)))
          (local.set $c30 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c30)))
          (local.set $c31 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c31)))
          ;; k + 1: B row (8) and A column (4), each A lane broadcast by a shuffle
          (local.set $b0 (v128.load offset=32 (local.get $pb)))
          (local.set $b1 (v128.load offset=48 (local.get $pb)))
          (local.set $av (v128.load offset=16 (local.get $pa)))
          (local.set $a (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $av) (local.get $av)))
          (local.set $c00 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c00)))
          (local.set $c01 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c01)))
          (local.set $a (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $av) (local.get $av)))
          (local.set $c10 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c10)))
          (local.set $c11 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c11)))
          (local.set $a (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $av) (local.get $av)))
          (local.set $c20 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c20)))
          (local.set $c21 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c21)))
          (local.set $a (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $av) (local.get $av)))
          (local.set $c30 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c30)))
          (local.set $c31 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c31)))
          ;; k + 2: B row (8) and A column (4), each A lane broadcast by a shuffle
          (local.set $b0 (v128.load offset=64 (local.get $pb)))
          (local.set $b1 (v128.load offset=80 (local.get $pb)))
          (local.set $av (v128.load offset=32 (local.get $pa)))
          (local.set $a (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $av) (local.get $av)))
          (local.set $c00 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c00)))
          (local.set $c01 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c01)))
          (local.set $a (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $av) (local.get $av)))
          (local.set $c10 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c10)))
          (local.set $c11 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c11)))
          (local.set $a (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $av) (local.get $av)))
          (local.set $c20 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c20)))
          (local.set $c21 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c21)))
          (local.set $a (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $av) (local.get $av)))
          (local.set $c30 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c30)))
          (local.set $c31 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c31)))
          ;; k + 3: B row (8) and A column (4), each A lane broadcast by a shuffle
          (local.set $b0 (v128.load offset=96 (local.get $pb)))
          (local.set $b1 (v128.load offset=112 (local.get $pb)))
          (local.set $av (v128.load offset=48 (local.get $pa)))
          (local.set $a (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $av) (local.get $av)))
          (local.set $c00 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c00)))
          (local.set $c01 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c01)))
          (local.set $a (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $av) (local.get $av)))
          (local.set $c10 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c10)))
          (local.set $c11 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c11)))
          (local.set $a (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $av) (local.get $av)))
          (local.set $c20 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c20)))
          (local.set $c21 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c21)))
          (local.set $a (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $av) (local.get $av)))
          (local.set $c30 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c30)))
          (local.set $c31 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c31)))
          (local.set $pa (i32.add (local.get $pa) (i32.const 64)))
          (local.set $pb (i32.add (local.get $pb) (i32.const 128)))
          (br_if $k (i32.lt_u (local.get $pa) (local.get $end))))))
    (if (i32.and (i32.eq (local.get $rows) (i32.const 4)) (i32.eq (local.get $cols) (i32.const 8)))
      (then
        ;; full tile: vector read-modify-write
        (local.set $c1 (i32.add (local.get $c) (local.get $ldc)))
        (local.set $c2 (i32.add (local.get $c1) (local.get $ldc)))
        (local.set $c3 (i32.add (local.get $c2) (local.get $ldc)))
        (if (local.get $loadC)
          (then
            (local.set $c00 (f32x4.add (local.get $c00) (v128.load (local.get $c))))
            (local.set $c01 (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $c))))
            (local.set $c10 (f32x4.add (local.get $c10) (v128.load (local.get $c1))))
            (local.set $c11 (f32x4.add (local.get $c11) (v128.load offset=16 (local.get $c1))))
            (local.set $c20 (f32x4.add (local.get $c20) (v128.load (local.get $c2))))
            (local.set $c21 (f32x4.add (local.get $c21) (v128.load offset=16 (local.get $c2))))
            (local.set $c30 (f32x4.add (local.get $c30) (v128.load (local.get $c3))))
            (local.set $c31 (f32x4.add (local.get $c31) (v128.load offset=16 (local.get $c3))))))
        (if (local.get $biasp)
          (then
            (local.set $b0 (v128.load (local.get $biasp)))
            (local.set $b1 (v128.load offset=16 (local.get $biasp)))
            (local.set $c00 (f32x4.add (local.get $c00) (local.get $b0)))
            (local.set $c01 (f32x4.add (local.get $c01) (local.get $b1)))
            (local.set $c10 (f32x4.add (local.get $c10) (local.get $b0)))
            (local.set $c11 (f32x4.add (local.get $c11) (local.get $b1)))
            (local.set $c20 (f32x4.add (local.get $c20) (local.get $b0)))
            (local.set $c21 (f32x4.add (local.get $c21) (local.get $b1)))
            (local.set $c30 (f32x4.add (local.get $c30) (local.get $b0)))
            (local.set $c31 (f32x4.add (local.get $c31) (local.get $b1)))))
        (v128.store (local.get $c) (local.get $c00))
        (v128.store offset=16 (local.get $c) (local.get $c01))
        (v128.store (local.get $c1) (local.get $c10))
        (v128.store offset=16 (local.get $c1) (local.get $c11))
        (v128.store (local.get $c2) (local.get $c20))
        (v128.store offset=16 (local.get $c2) (local.get $c21))
        (v128.store (local.get $c3) (local.get $c30))
        (v128.store offset=16 (local.get $c3) (local.get $c31)))
      (else
        ;; edge tile: spill to the scratch tile (4, 8), then merge the valid part
        (local.set $t (global.get $tmp))
        (v128.store offset=0 (local.get $t) (local.get $c00))
        (v128.store offset=16 (local.get $t) (local.get $c01))
        (v128.store offset=32 (local.get $t) (local.get $c10))
        (v128.store offset=48 (local.get $t) (local.get $c11))
        (v128.store offset=64 (local.get $t) (local.get $c20))
        (v128.store offset=80 (local.get $t) (local.get $c21))
        (v128.store offset=96 (local.get $t) (local.get $c30))
        (v128.store offset=112 (local.get $t) (local.get $c31))
        (loop $rowsLoop
          (local.set $j (i32.const 0))
          (loop $colsLoop
            (local.set $p (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $v (f32.load (i32.add (local.get $t)
              (i32.shl (i32.add (i32.shl (local.get $r) (i32.const 3)) (local.get $j)) (i32.const 2)))))
            (if (local.get $loadC)
              (then (local.set $v (f32.add (local.get $v) (f32.load (local.get $p))))))
            (if (local.get $biasp)
              (then (local.set $v (f32.add (local.get $v)
                (f32.load (i32.add (local.get $biasp) (i32.shl (local.get $j) (i32.const 2))))))))
            (f32.store (local.get $p) (local.get $v))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br_if $colsLoop (i32.lt_u (local.get $j) (local.get $cols))))
          (local.set $c (i32.add (local.get $c) (local.get $ldc)))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $rowsLoop (i32.lt_u (local.get $r) (local.get $rows)))))))

  ;; region(cp, ap, bp, i0, i1, j0, j1): C_p[i0:i1, j0:j1] for one batch element, all of K.
  ;;   cp: C_p (M, N); ap: A_p, op(A)[i][k] = ap[i*a_si + k*a_sk]; bp: B_p, op(B)[k][j] = bp[k*b_sk + j*b_sj].
  (func $region (param $cp i32) (param $ap i32) (param $bp i32)
                (param $i0 i32) (param $i1 i32) (param $j0 i32) (param $j1 i32)
    (local $jc i32) (local $nc i32) (local $pc i32) (local $kc i32) (local $kcp i32)
    (local $ic i32) (local $mc i32) (local $jr i32) (local $ir i32) (local $first i32)
    (local $loadC i32) (local $biasp i32) (local $ldc i32) (local $pb i32) (local $cRow i32)
    (local $kcBlock i32)
    (local.set $ldc (i32.shl (global.get $N) (i32.const 2)))
    ;; K blocks of equal size (a multiple of 4, at most KC): K = 768 -> 2 x 384 rather than 512 + 256
    (local.set $kcBlock (i32.div_u (i32.add (global.get $K) (i32.sub (global.get $KC) (i32.const 1))) (global.get $KC)))
    (if (i32.eqz (local.get $kcBlock)) (then (local.set $kcBlock (i32.const 1))))
    (local.set $kcBlock (i32.and (i32.add (i32.div_u (i32.add (global.get $K) (i32.sub (local.get $kcBlock) (i32.const 1)))
                                                     (local.get $kcBlock))
                                          (i32.const 3)) (i32.const -4)))
    (if (i32.eqz (local.get $kcBlock)) (then (local.set $kcBlock (i32.const 4))))
    (local.set $jc (local.get $j0))
    (loop $jcLoop
      (local.set $nc (i32.sub (local.get $j1) (local.get $jc)))
      (if (i32.gt_u (local.get $nc) (global.get $NC)) (then (local.set $nc (global.get $NC))))
      (local.set $pc (i32.const 0))
      (loop $pcLoop   ;; runs at least once, so K = 0 still writes C
        (local.set $kc (i32.sub (global.get $K) (local.get $pc)))
        (if (i32.gt_s (local.get $kc) (local.get $kcBlock)) (then (local.set $kc (local.get $kcBlock))))
        (local.set $kcp (i32.and (i32.add (local.get $kc) (i32.const 3)) (i32.const -4)))
        (local.set $first (i32.eqz (local.get $pc)))
        (local.set $loadC (i32.or (i32.eqz (local.get $first)) (global.get $accumulate)))
        ;; pack op(B)[pc:pc+kc, jc:jc+nc] as panels (kcp, 8)
        (local.set $jr (i32.const 0))
        (loop $packB
          (call $pack
            (i32.add (global.get $bufB) (i32.shl (i32.mul (local.get $jr) (local.get $kcp)) (i32.const 2)))
            (i32.add (local.get $bp) (i32.shl (i32.add (i32.mul (local.get $pc) (global.get $b_sk))
                                                     (i32.mul (i32.add (local.get $jc) (local.get $jr)) (global.get $b_sj)))
                                            (i32.const 2)))
            (global.get $b_sj) (global.get $b_sk) (i32.const 8)
            (select (i32.const 8) (i32.sub (local.get $nc) (local.get $jr))
                    (i32.ge_u (i32.sub (local.get $nc) (local.get $jr)) (i32.const 8)))
            (local.get $kc) (local.get $kcp))
          (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
          (br_if $packB (i32.lt_u (local.get $jr) (local.get $nc))))
        (local.set $ic (local.get $i0))
        (loop $icLoop
          (local.set $mc (i32.sub (local.get $i1) (local.get $ic)))
          (if (i32.gt_u (local.get $mc) (global.get $MC)) (then (local.set $mc (global.get $MC))))
          ;; pack op(A)[ic:ic+mc, pc:pc+kc] as panels (kcp, 4)
          (local.set $ir (i32.const 0))
          (loop $packA
            (call $pack
              (i32.add (global.get $bufA) (i32.shl (i32.mul (local.get $ir) (local.get $kcp)) (i32.const 2)))
              (i32.add (local.get $ap) (i32.shl (i32.add (i32.mul (i32.add (local.get $ic) (local.get $ir)) (global.get $a_si))
                                                       (i32.mul (local.get $pc) (global.get $a_sk)))
                                              (i32.const 2)))
              (global.get $a_si) (global.get $a_sk) (i32.const 4)
              (select (i32.const 4) (i32.sub (local.get $mc) (local.get $ir))
                      (i32.ge_u (i32.sub (local.get $mc) (local.get $ir)) (i32.const 4)))
              (local.get $kc) (local.get $kcp))
            (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
            (br_if $packA (i32.lt_u (local.get $ir) (local.get $mc))))
          ;; micro-kernels: B panel (L1) outer, A panels (L2) inner
          (local.set $jr (i32.const 0))
          (loop $jrLoop
            (local.set $pb (i32.add (global.get $bufB) (i32.shl (i32.mul (local.get $jr) (local.get $kcp)) (i32.const 2))))
            (local.set $biasp (select
              (i32.add (global.get $bias) (i32.shl (i32.add (local.get $jc) (local.get $jr)) (i32.const 2)))
              (i32.const 0)
              (i32.and (local.get $first) (i32.ne (global.get $bias) (i32.const 0)))))
            (local.set $cRow (i32.add (local.get $cp)
              (i32.shl (i32.add (i32.mul (local.get $ic) (global.get $N)) (i32.add (local.get $jc) (local.get $jr))) (i32.const 2))))
            (local.set $ir (i32.const 0))
            (loop $irLoop
              (call $kernel
                (i32.add (global.get $bufA) (i32.shl (i32.mul (local.get $ir) (local.get $kcp)) (i32.const 2)))
                (local.get $pb) (local.get $kcp)
                (i32.add (local.get $cRow) (i32.mul (local.get $ir) (local.get $ldc)))
                (local.get $ldc)
                (select (i32.const 4) (i32.sub (local.get $mc) (local.get $ir))
                        (i32.ge_u (i32.sub (local.get $mc) (local.get $ir)) (i32.const 4)))
                (select (i32.const 8) (i32.sub (local.get $nc) (local.get $jr))
                        (i32.ge_u (i32.sub (local.get $nc) (local.get $jr)) (i32.const 8)))
                (local.get $loadC) (local.get $biasp))
              (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
              (br_if $irLoop (i32.lt_u (local.get $ir) (local.get $mc))))
            (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
            (br_if $jrLoop (i32.lt_u (local.get $jr) (local.get $nc))))
          (local.set $ic (i32.add (local.get $ic) (local.get $mc)))
          (br_if $icLoop (i32.lt_u (local.get $ic) (local.get $i1))))
        (local.set $pc (i32.add (local.get $pc) (local.get $kcBlock)))
        (br_if $pcLoop (i32.lt_s (local.get $pc) (global.get $K))))
      (local.set $jc (i32.add (local.get $jc) (local.get $nc)))
      (br_if $jcLoop (i32.lt_u (local.get $jc) (local.get $j1)))))

  ;; gemm(c, a, b, bias, batch, m, n, k, transA, transB, accumulate, ws, tid, nt)
  ;;   c (batch, M, N) (+)= op(a) (batch, M, K) · op(b) (batch, K, N) + bias (N) or 0 if bias = 0.
  ;;   a stored (batch, M, K), or (batch, K, M) if transA; b stored (batch, K, N), or (batch, N, K)
  ;;   if transB. ws: workspace of nt * gemm_ws_bytes() bytes; thread tid uses its own slice.
  (func $gemm (export "gemm")
    (param $c i32) (param $a i32) (param $b i32) (param $bias i32)
    (param $batch i32) (param $m i32) (param $n i32) (param $k i32)
    (param $transA i32) (param $transB i32) (param $accumulate i32)
    (param $ws i32) (param $tid i32) (param $nt i32)
    (local $base i32) (local $splitN i32) (local $unit i32) (local $perBatch i32)
    (local $total i32) (local $chunk i32) (local $u0 i32) (local $u1 i32)
    (local $p i32) (local $lo i32) (local $hi i32) (local $extent i32)
    (local $aSize i32) (local $bSize i32) (local $cSize i32)
    (if (i32.or (i32.or (i32.eqz (local.get $batch)) (i32.eqz (local.get $m))) (i32.eqz (local.get $n)))
      (then (return)))
    ;; this thread's workspace slice, aligned to 64 bytes
    (local.set $base (i32.and
      (i32.add (i32.add (local.get $ws) (i32.mul (local.get $tid) (call $gemm_ws_bytes))) (i32.const 63))
      (i32.const -64)))
    (global.set $bufA (local.get $base))
    (global.set $bufB (i32.add (global.get $bufA) (i32.shl (i32.mul (global.get $MC) (global.get $KC)) (i32.const 2))))
    (global.set $tmp (i32.add (global.get $bufB) (i32.shl (i32.mul (global.get $KC) (global.get $NC)) (i32.const 2))))
    ;; element strides of op(A) (M,K) and op(B) (K,N)
    (if (local.get $transA)
      (then (global.set $a_si (i32.const 1)) (global.set $a_sk (local.get $m)))
      (else (global.set $a_si (local.get $k)) (global.set $a_sk (i32.const 1))))
    (if (local.get $transB)
      (then (global.set $b_sj (local.get $k)) (global.set $b_sk (i32.const 1)))
      (else (global.set $b_sj (i32.const 1)) (global.set $b_sk (local.get $n))))
    (global.set $K (local.get $k))
    (global.set $N (local.get $n))
    (global.set $accumulate (local.get $accumulate))
    (global.set $bias (local.get $bias))
    (local.set $aSize (i32.shl (i32.mul (local.get $m) (local.get $k)) (i32.const 2)))
    (local.set $bSize (i32.shl (i32.mul (local.get $k) (local.get $n)) (i32.const 2)))
    (local.set $cSize (i32.shl (i32.mul (local.get $m) (local.get $n)) (i32.const 2)))
    ;; work units: 8 columns if N >= M, else 4 rows; flattened over the batch
    (local.set $splitN (i32.ge_u (local.get $n) (local.get $m)))
    (local.set $unit (select (i32.const 8) (i32.const 4) (local.get $splitN)))
    (local.set $extent (select (local.get $n) (local.get $m) (local.get $splitN)))
    (local.set $perBatch (i32.div_u (i32.add (local.get $extent) (i32.sub (local.get $unit) (i32.const 1))) (local.get $unit)))
    (local.set $total (i32.mul (local.get $perBatch) (local.get $batch)))
    (local.set $chunk (i32.div_u (i32.add (local.get $total) (i32.sub (local.get $nt) (i32.const 1))) (local.get $nt)))
    (local.set $u0 (i32.mul (local.get $tid) (local.get $chunk)))
    (local.set $u1 (i32.add (local.get $u0) (local.get $chunk)))
    (if (i32.gt_u (local.get $u1) (local.get $total)) (then (local.set $u1 (local.get $total))))
    (if (i32.ge_u (local.get $u0) (local.get $u1)) (then (return)))
    (local.set $p (i32.div_u (local.get $u0) (local.get $perBatch)))
    (loop $batches
      ;; units [lo, hi) of batch p, intersected with [u0, u1)
      (local.set $lo (i32.sub (local.get $u0) (i32.mul (local.get $p) (local.get $perBatch))))
      (if (i32.lt_s (local.get $lo) (i32.const 0)) (then (local.set $lo (i32.const 0))))
      (local.set $hi (i32.sub (local.get $u1) (i32.mul (local.get $p) (local.get $perBatch))))
      (if (i32.gt_s (local.get $hi) (local.get $perBatch)) (then (local.set $hi (local.get $perBatch))))
      (local.set $lo (i32.mul (local.get $lo) (local.get $unit)))
      (local.set $hi (i32.mul (local.get $hi) (local.get $unit)))
      (if (i32.gt_u (local.get $hi) (local.get $extent)) (then (local.set $hi (local.get $extent))))
      (if (local.get $splitN)
        (then (call $region
          (i32.add (local.get $c) (i32.mul (local.get $p) (local.get $cSize)))
          (i32.add (local.get $a) (i32.mul (local.get $p) (local.get $aSize)))
          (i32.add (local.get $b) (i32.mul (local.get $p) (local.get $bSize)))
          (i32.const 0) (local.get $m) (local.get $lo) (local.get $hi)))
        (else (call $region
          (i32.add (local.get $c) (i32.mul (local.get $p) (local.get $cSize)))
          (i32.add (local.get $a) (i32.mul (local.get $p) (local.get $aSize)))
          (i32.add (local.get $b) (i32.mul (local.get $p) (local.get $bSize)))
          (local.get $lo) (local.get $hi) (i32.const 0) (local.get $n))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $batches (i32.lt_u (i32.mul (local.get $p) (local.get $perBatch)) (local.get $u1)))))
)
