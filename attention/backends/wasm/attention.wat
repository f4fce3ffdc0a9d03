;; attention.wat — causal (optionally meta-masked) multi-head attention, flash style, for the
;; metatokens wasm backend.
;;
;;   qkv (B,T,3C): q = cols [0,C), k = [C,2C), v = [2C,3C); head h uses cols h·HS … h·HS+HS−1 of
;;   each part, HS = C/NH. out (B,T,C), lse (B,NH,T). scale = 1/√HS, s_ij = scale·q_i·k_j,
;;   allowed(i,j) = j ≤ i ∧ (meta = 0 ∨ (meta[b,i] ≠ 0 ∧ meta[b,j] ≠ 0)), meta an i32 (B,T) 0/1 buffer.
;;   lse_i = log Σ_allowed exp(s_ij), out_i = Σ_allowed exp(s_ij − lse_i)·v_j; a row with no
;;   allowed key gets out_i = 0 and lse_i = −inf (never a finite fill value).
;;   REQUIREMENT: HS = C/NH must be a multiple of 4 (any T ≥ 1, B, NH).
;;
;; Tiling. Per (b,h) the head's operands are first packed (zero padded to T8 = T rounded up to 8
;; rows, HSp = HS rounded up to 8 columns; the workspace is sized for Tp = T rounded up to 32) into the thread's workspace, in exactly the order the
;; 4x8 micro-kernel of $mmBlock reads them, so every product below is a run of full 4x8 register
;; tiles (8 f32x4 accumulators; per k: one 4-wide A load with four i8x16.shuffle lane broadcasts,
;; one 8-wide B row, 8 fused multiply-adds: the kernel of gemm.wat). Every A operand is a row panel
;; (k, 4) and every B operand a column panel (k, 8), so the k strides are the constants 16 and 32
;; bytes and the unrolled loop uses load offsets (≈ 52 GFLOP/s in L1, ≈ 40 with runtime strides).
;; Three layouts serve this (T-side index r = query or key, c = head dimension):
;;   column panels ("Cols", packCols): per block of 32 rows, HSp/8 panels (32, 8) of 1 KB each:
;;     the B operand over k = r (P·V, Pᵀ·dO, dSᵀ·Q, dS·K);
;;   row panels ("Panels", packRows): per W = 4 or 8 rows a panel (HSp, W): the A (W = 4) or
;;     B (W = 8) operand over k = c (Q·Kᵀ, Kᵀ·Q, dO·Vᵀ), transposed straight from the source rows
;;     (packRows writes the cols of the same rows in the same pass where both are needed);
;;   32x32 tiles (S, P, dS, dSᵀ) in 4-column panels (32, 4) of 512 bytes: written as a C tile,
;;     read as the A operand over k = the tile's row index.
;; Queries and keys are cut in tiles of BR = 32 queries × BC = 32 keys; a key tile entirely
;; above the diagonal (j0 > i0 + BR − 1) is skipped. The last tile of each side is cut to
;; nq = min(32, T8 − i0) rows (a multiple of 8), so at most 7 padded rows or keys are computed.
;; Diagonal tiles (j0 = i0) are computed in 8-row strips over the 8x8 blocks on or below the
;; diagonal only (query strip 8p … 8p+7 against keys < 8p + 8, key strip against queries ≥ 8p):
;; the entries left out are exact zeros of P and dS, so leaving them out changes no result.
;; Padded keys (j ≥ T) are always above the diagonal of every real query, so the causal mask
;; removes them; padded query rows are computed and discarded. A tile is masked elementwise only
;; when it straddles the diagonal, holds padded rows, or meta is given (keyMask[j] = j < T ∧
;; meta[b,j] ≠ 0 as an i32 0/−1 lane mask).
;; (Tried: 64-key tiles in the forward, no measurable gain over 32 on this machine.)
;;
;; Forward (online softmax, FlashAttention-2 order: query tile outer, key tiles inner).
;;   Sᵀ (BC,BR) = K_tile · (scale·Q_tile)ᵀ, keys as rows, so each query is a vector lane and the
;;   softmax statistics are vertical f32x4 operations over the key rows (no horizontal reduce):
;;     m_new = max(m_old, max_j s_ij)            (masked s = −inf)
;;     m_safe = (m_new = −inf) ? 0 : m_new       (a row that has seen no allowed key yet)
;;     alpha = exp(m_old − m_safe), p_ij = exp(s_ij − m_safe)  (exp(−inf − finite) = 0 exactly)
;;     l = alpha·l + Σ_j p_ij,  O = alpha·O + P·V_tile   (alpha applied while $mmBlock loads O)
;;   Finally out_i = O_i / l_i, lse_i = m_i + log l_i (l_i = 0: out_i = 0, lse_i = −inf).
;;
;; Backward (recomputation from lse: only out and lse are kept from the forward; key tile outer,
;; query tiles inner, dK and dV of the key tile accumulate in the workspace, dQ of the whole head
;; in a (Tp,HSp) workspace accumulator, first written by key tile 0, that is added (×scale) into
;; dqkv at the end):
;;   S (BR,BC) = (scale·Q)·Kᵀ,  P = exp(S − lse_i) (masked: 0),  dP = dO·Vᵀ,
;;   dS = P ⊙ (dP − D_i), D_i = Σ_c dout_ic·out_ic,
;;   dV += Pᵀ·dO,  dK += dSᵀ·(scale·Q),  dQ += dS·K (dS transposed in the workspace for this one).
;;   S is recomputed with the same dot-product order as the forward, so P matches it bit for bit.
;;
;; Threads: work units are the B·NH (b,h) pairs (dK/dV of a head sum over all of its queries);
;; thread tid takes units [tid·chunk, min(B·NH, (tid+1)·chunk)), chunk = ceil(B·NH/nt). Each
;; unit's arithmetic is the same whatever thread runs it, so results are bit-identical for any nt.
;;
;; Workspace per thread (attention_ws_bytes(T, HS)), A = Tp·HSp·4 bytes, Tp = ⌈T/32⌉·32,
;; HSp = ⌈HS/8⌉·8, from a 64-byte aligned base (thread tid's slice starts at ws + tid·ws_bytes):
;;   8 head arrays of A bytes     qCols (scale·q, bwd) | qPanels (fwd W=8, bwd W=4) | kCols (bwd) |
;;                                kPanels (fwd W=4, bwd W=8) | vPanels (bwd W=8; fwd: V cols) |
;;                                doCols | doPanels (W=4) | dqAcc (Tp,HSp) row-major
;;   4 row vectors of Tp·4 bytes  keyMask | rowValid (bwd) / alpha (fwd) | lse (bwd) / m (fwd) |
;;                                D (bwd) / l (fwd)
;;   3 tiles of BR·BC·4 bytes     pTile (fwd: Sᵀ → P) | dsTile (dP → dS) | dstTile (dSᵀ)
;;   2 tiles of BC·HSp·4 bytes    dkTile | dvTile (fwd: the O accumulator), row-major
;;   attention_ws_bytes(T, HS) = 64 + 4·(8·Tp·HSp + 4·Tp + 3·32·32 + 2·32·HSp)
;;   (T = 1024, HS = 64: 2,142,272 bytes per thread.)

(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; workspace regions of this thread (globals are per instance, i.e. per thread)
  (global $qCols (mut i32) (i32.const 0))
  (global $qPanels (mut i32) (i32.const 0))
  (global $kCols (mut i32) (i32.const 0))
  (global $kPanels (mut i32) (i32.const 0))
  (global $vPanels (mut i32) (i32.const 0))
  (global $doCols (mut i32) (i32.const 0))
  (global $doPanels (mut i32) (i32.const 0))
  (global $dqAcc (mut i32) (i32.const 0))
  (global $keyMask (mut i32) (i32.const 0))
  (global $rowValid (mut i32) (i32.const 0))
  (global $rowLse (mut i32) (i32.const 0))
  (global $rowD (mut i32) (i32.const 0))
  (global $pTile (mut i32) (i32.const 0))
  (global $dsTile (mut i32) (i32.const 0))
  (global $dstTile (mut i32) (i32.const 0))
  (global $dkTile (mut i32) (i32.const 0))
  (global $dvTile (mut i32) (i32.const 0))

  ;; attention_ws_bytes(T, HS) -> i32: workspace bytes each thread needs (see header).
  (func $attention_ws_bytes (export "attention_ws_bytes") (param $T i32) (param $HS i32) (result i32)
    (local $Tp i32) (local $HSp i32)
    (local.set $Tp (i32.and (i32.add (local.get $T) (i32.const 31)) (i32.const -32)))
    (local.set $HSp (i32.and (i32.add (local.get $HS) (i32.const 7)) (i32.const -8)))
    (i32.add (i32.const 64)
      (i32.shl
        (i32.add
          (i32.add (i32.shl (i32.mul (local.get $Tp) (local.get $HSp)) (i32.const 3))
                   (i32.shl (local.get $Tp) (i32.const 2)))
          (i32.add (i32.const 3072) (i32.shl (local.get $HSp) (i32.const 6))))
        (i32.const 2))))

  ;; layout(ws, tid, T, HS): sets the region globals for thread tid's workspace slice.
  (func $layout (param $ws i32) (param $tid i32) (param $T i32) (param $HS i32)
    (local $p i32) (local $A i32) (local $Tp i32) (local $HSp i32)
    (local.set $Tp (i32.and (i32.add (local.get $T) (i32.const 31)) (i32.const -32)))
    (local.set $HSp (i32.and (i32.add (local.get $HS) (i32.const 7)) (i32.const -8)))
    (local.set $A (i32.shl (i32.mul (local.get $Tp) (local.get $HSp)) (i32.const 2)))
    (local.set $p (i32.and
      (i32.add (i32.add (local.get $ws)
        (i32.mul (local.get $tid) (call $attention_ws_bytes (local.get $T) (local.get $HS)))) (i32.const 63))
      (i32.const -64)))
    (global.set $qCols (local.get $p))
    (global.set $qPanels (local.tee $p (i32.add (local.get $p) (local.get $A))))
    (global.set $kCols (local.tee $p (i32.add (local.get $p) (local.get $A))))
    (global.set $kPanels (local.tee $p (i32.add (local.get $p) (local.get $A))))
    (global.set $vPanels (local.tee $p (i32.add (local.get $p) (local.get $A))))
    (global.set $doCols (local.tee $p (i32.add (local.get $p) (local.get $A))))
    (global.set $doPanels (local.tee $p (i32.add (local.get $p) (local.get $A))))
    (global.set $dqAcc (local.tee $p (i32.add (local.get $p) (local.get $A))))
    (global.set $keyMask (local.tee $p (i32.add (local.get $p) (local.get $A))))
    (global.set $rowValid (local.tee $p (i32.add (local.get $p) (i32.shl (local.get $Tp) (i32.const 2)))))
    (global.set $rowLse (local.tee $p (i32.add (local.get $p) (i32.shl (local.get $Tp) (i32.const 2)))))
    (global.set $rowD (local.tee $p (i32.add (local.get $p) (i32.shl (local.get $Tp) (i32.const 2)))))
    (global.set $pTile (local.tee $p (i32.add (local.get $p) (i32.shl (local.get $Tp) (i32.const 2)))))
    (global.set $dsTile (local.tee $p (i32.add (local.get $p) (i32.const 4096))))
    (global.set $dstTile (local.tee $p (i32.add (local.get $p) (i32.const 4096))))
    (global.set $dkTile (local.tee $p (i32.add (local.get $p) (i32.const 4096))))
    (global.set $dvTile (i32.add (local.get $p) (i32.shl (local.get $HSp) (i32.const 7)))))

  ;; packCols(dst, src, srcStride, n, HS, HSp, Tp, scale) (called with Tp = T8): rows (n, HS) at src
  ;;   (row stride srcStride bytes) → dst (Tp, HSp) in tiled column panels: each block of 32 rows
  ;;   is HSp/8 consecutive panels (32, 8), element (r, c) at float (r/32)·32·HSp + (c/8)·256 + (r mod 32)·8 + c mod 8,
  ;;   value scale·src[r][c] for r < n, c < HS, else 0. A 32-row tile of one 8-column panel is then
  ;;   1 KB of consecutive memory, the B operand layout of $mmBlock (bColStep 1024). HS a multiple of 4.
  (func $packCols (param $dst i32) (param $src i32) (param $srcStride i32) (param $n i32)
                  (param $HS i32) (param $HSp i32) (param $Tp i32) (param $scale f32)
    (local $r i32) (local $c i32) (local $hsb i32) (local $hspb i32) (local $sv v128) (local $rowBase i32)
    (local.set $hsb (i32.shl (local.get $HS) (i32.const 2)))
    (local.set $hspb (i32.shl (local.get $HSp) (i32.const 2)))
    (local.set $sv (f32x4.splat (local.get $scale)))
    (loop $rows
      (local.set $rowBase (i32.add (local.get $dst)
        (i32.add (i32.mul (i32.shr_u (local.get $r) (i32.const 5)) (i32.shl (local.get $hspb) (i32.const 5)))
                 (i32.shl (i32.and (local.get $r) (i32.const 31)) (i32.const 5)))))
      (local.set $c (i32.const 0))
      (if (i32.lt_u (local.get $r) (local.get $n))
        (then
          (loop $cols   ;; c = byte offset of 4 columns: panel c/32 at +1024 each, half (c mod 32)
            (v128.store (i32.add (local.get $rowBase)
                (i32.add (i32.shl (i32.shr_u (local.get $c) (i32.const 5)) (i32.const 10)) (i32.and (local.get $c) (i32.const 16))))
              (f32x4.mul (v128.load (i32.add (local.get $src) (local.get $c))) (local.get $sv)))
            (br_if $cols (i32.lt_u (local.tee $c (i32.add (local.get $c) (i32.const 16))) (local.get $hsb))))))
      (block $zdone (loop $zero
        (br_if $zdone (i32.ge_u (local.get $c) (local.get $hspb)))
        (v128.store (i32.add (local.get $rowBase)
            (i32.add (i32.shl (i32.shr_u (local.get $c) (i32.const 5)) (i32.const 10)) (i32.and (local.get $c) (i32.const 16))))
          (v128.const i32x4 0 0 0 0))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $zero)))
      (local.set $src (i32.add (local.get $src) (local.get $srcStride)))
      (br_if $rows (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $Tp)))))

  ;; packRows(cols, panels, src, srcStride, n, HS, HSp, nRows, W, scale): rows (n, HS) at src
  ;;   (row stride srcStride bytes), times scale, zero padded to (nRows, HSp) (nRows a multiple of 8),
  ;;   in one pass to Tp/W row panels (HSp, W) at panels, panels[(p·HSp + k)·W + w] = element
  ;;   (p·W + w, k), W = 4 or 8, and, unless cols = 0, also to the tiled column panels of packCols. Per 4 rows × 4 columns: 4 loads (rows ≥ n
  ;;   read row 0 and are masked to 0), the cols stores, one 4x4 shuffle transpose, the panel stores.
  (func $packRows (param $cols i32) (param $panels i32) (param $src i32) (param $srcStride i32) (param $n i32)
                  (param $HS i32) (param $HSp i32) (param $nRows i32) (param $W i32) (param $scale f32)
    (local $r i32) (local $k i32) (local $hsb i32) (local $sv v128) (local $ds i32) (local $d i32) (local $cb i32) (local $t i32)
    (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32)
    (local $m1 v128) (local $m2 v128) (local $m3 v128) (local $m0 v128)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $lo01 v128) (local $hi01 v128) (local $lo23 v128) (local $hi23 v128)
    (local.set $hsb (i32.shl (local.get $HS) (i32.const 2)))
    (local.set $sv (f32x4.splat (local.get $scale)))
    (local.set $ds (i32.shl (local.get $W) (i32.const 2)))
    (loop $rowGroups
      ;; rows r … r+3: pointers (row 0 where ≥ n) and 0/−1 masks
      (local.set $m0 (i32x4.splat (i32.sub (i32.const 0) (i32.lt_u (local.get $r) (local.get $n)))))
      (local.set $m1 (i32x4.splat (i32.sub (i32.const 0) (i32.lt_u (i32.add (local.get $r) (i32.const 1)) (local.get $n)))))
      (local.set $m2 (i32x4.splat (i32.sub (i32.const 0) (i32.lt_u (i32.add (local.get $r) (i32.const 2)) (local.get $n)))))
      (local.set $m3 (i32x4.splat (i32.sub (i32.const 0) (i32.lt_u (i32.add (local.get $r) (i32.const 3)) (local.get $n)))))
      (local.set $s0 (select (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $srcStride))) (local.get $src)
        (i32.lt_u (local.get $r) (local.get $n))))
      (local.set $s1 (select (i32.add (local.get $s0) (local.get $srcStride)) (local.get $src)
        (i32.lt_u (i32.add (local.get $r) (i32.const 1)) (local.get $n))))
      (local.set $s2 (select (i32.add (local.get $s1) (local.get $srcStride)) (local.get $src)
        (i32.lt_u (i32.add (local.get $r) (i32.const 2)) (local.get $n))))
      (local.set $s3 (select (i32.add (local.get $s2) (local.get $srcStride)) (local.get $src)
        (i32.lt_u (i32.add (local.get $r) (i32.const 3)) (local.get $n))))
      ;; panel r/W, lane r mod W: floats ((r/W)·HSp + k)·W + r mod W
      (local.set $d (i32.add (local.get $panels) (i32.shl
        (i32.add (i32.mul (i32.sub (local.get $r) (i32.rem_u (local.get $r) (local.get $W))) (local.get $HSp))
                 (i32.rem_u (local.get $r) (local.get $W))) (i32.const 2))))
      ;; cols: (r/32)·32·HSp + (r mod 32)·8 floats, + (k/8)·256 + k mod 8
      (local.set $cb (i32.add (local.get $cols) (i32.shl
        (i32.add (i32.mul (i32.and (local.get $r) (i32.const -32)) (local.get $HSp))
                 (i32.shl (i32.and (local.get $r) (i32.const 31)) (i32.const 3))) (i32.const 2))))
      (local.set $k (i32.const 0))
      (loop $ks   ;; k = byte offset of 4 columns
        (if (i32.lt_u (local.get $k) (local.get $hsb))
          (then
            (local.set $r0 (f32x4.mul (v128.and (v128.load (i32.add (local.get $s0) (local.get $k))) (local.get $m0)) (local.get $sv)))
            (local.set $r1 (f32x4.mul (v128.and (v128.load (i32.add (local.get $s1) (local.get $k))) (local.get $m1)) (local.get $sv)))
            (local.set $r2 (f32x4.mul (v128.and (v128.load (i32.add (local.get $s2) (local.get $k))) (local.get $m2)) (local.get $sv)))
            (local.set $r3 (f32x4.mul (v128.and (v128.load (i32.add (local.get $s3) (local.get $k))) (local.get $m3)) (local.get $sv))))
          (else
            (local.set $r0 (v128.const i32x4 0 0 0 0)) (local.set $r1 (v128.const i32x4 0 0 0 0))
            (local.set $r2 (v128.const i32x4 0 0 0 0)) (local.set $r3 (v128.const i32x4 0 0 0 0))))
        (if (local.get $cols)
          (then
            (local.set $t (i32.add (local.get $cb)
              (i32.add (i32.shl (i32.shr_u (local.get $k) (i32.const 5)) (i32.const 10)) (i32.and (local.get $k) (i32.const 16)))))
            (v128.store (local.get $t) (local.get $r0))
            (v128.store offset=32 (local.get $t) (local.get $r1))
            (v128.store offset=64 (local.get $t) (local.get $r2))
            (v128.store offset=96 (local.get $t) (local.get $r3))))
        (local.set $lo01 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
        (local.set $hi01 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
        (local.set $lo23 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
        (local.set $hi23 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
        (v128.store (local.get $d)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $lo01) (local.get $lo23)))
        (v128.store (i32.add (local.get $d) (local.get $ds))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $lo01) (local.get $lo23)))
        (v128.store (i32.add (local.get $d) (i32.shl (local.get $ds) (i32.const 1)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $hi01) (local.get $hi23)))
        (v128.store (i32.add (local.get $d) (i32.mul (local.get $ds) (i32.const 3)))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $hi01) (local.get $hi23)))
        (local.set $d (i32.add (local.get $d) (i32.shl (local.get $ds) (i32.const 2))))
        (br_if $ks (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (i32.shl (local.get $HSp) (i32.const 2)))))
      (br_if $rowGroups (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 4))) (local.get $nRows)))))

  ;; mmBlock(pa, aRowStep, pb, bColStep, pc, cs, cHalf, cColStep, rows, cols, kn, mode, alpha):
  ;;   C (rows, cols) = init + A·B in 4x8 register tiles (rows a multiple of 4, cols of 8, kn of 4):
  ;;   C[r][c] = init[r][c] + Σ_{k<kn} A_k[r] · B_k[c], where for row group g (rows 4g … 4g+3) A_k is
  ;;   the 4 floats at pa + g·aRowStep + 16k (a row panel (kn, 4)) and for column group h (cols 8h …
  ;;   8h+7) B_k is the 8 floats at pb + h·bColStep + 32k (a column panel (kn, 8)); both strides are
  ;;   constant so the unrolled loop uses load offsets (measured ≈ 52 GFLOP/s in L1 against ≈ 40 with
  ;;   runtime strides). C element (r, 8h + c) is at pc + r·cs + h·cColStep + (c < 4 ? 0 : cHalf)
  ;;   + 4·(c mod 4) (row-major: cHalf = 16, cColStep = 32; 4-column panels: cs = 16, cHalf = 16·R,
  ;;   cColStep = 32·R for R rows). init = 0 (mode 0), C (mode 1), alpha[r]·C[r] (mode 2).
  ;;   The 4x8 micro-kernel is written out in the loop (V8 does not inline calls): per k one B row
  ;;   (2 loads), one A column (1 load) and four i8x16.shuffle lane broadcasts, 8 fused multiply-adds.
  (func $mmBlock (param $pa i32) (param $aRowStep i32) (param $pb i32) (param $bColStep i32)
                 (param $pc i32) (param $cs i32) (param $cHalf i32) (param $cColStep i32)
                 (param $rows i32) (param $cols i32) (param $kn i32) (param $mode i32) (param $alpha i32)
    (local $av v128) (local $a v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $g i32) (local $h i32) (local $k i32) (local $ap i32) (local $bp i32)
    (local $cRow i32) (local $pc0 i32) (local $pc1 i32) (local $pc2 i32) (local $pc3 i32)
    (local.set $cRow (local.get $pc))
    (loop $rowGroups
      (local.set $h (i32.const 0))
      (loop $colGroups
        (local.set $pc0 (i32.add (local.get $cRow) (i32.mul (local.get $h) (local.get $cColStep))))
        (local.set $pc1 (i32.add (local.get $pc0) (local.get $cs)))
        (local.set $pc2 (i32.add (local.get $pc1) (local.get $cs)))
        (local.set $pc3 (i32.add (local.get $pc2) (local.get $cs)))
        (if (local.get $mode)
          (then
            (local.set $c00 (v128.load (local.get $pc0)))
            (local.set $c01 (v128.load (i32.add (local.get $pc0) (local.get $cHalf))))
            (local.set $c10 (v128.load (local.get $pc1)))
            (local.set $c11 (v128.load (i32.add (local.get $pc1) (local.get $cHalf))))
            (local.set $c20 (v128.load (local.get $pc2)))
            (local.set $c21 (v128.load (i32.add (local.get $pc2) (local.get $cHalf))))
            (local.set $c30 (v128.load (local.get $pc3)))
            (local.set $c31 (v128.load (i32.add (local.get $pc3) (local.get $cHalf))))
            (if (i32.eq (local.get $mode) (i32.const 2))
              (then
                (local.set $av (v128.load (i32.add (local.get $alpha) (i32.shl (local.get $g) (i32.const 4)))))
                (local.set $a (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $av) (local.get $av)))
                (local.set $c00 (f32x4.mul (local.get $c00) (local.get $a)))
                (local.set $c01 (f32x4.mul (local.get $c01) (local.get $a)))
                (local.set $a (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $av) (local.get $av)))
                (local.set $c10 (f32x4.mul (local.get $c10) (local.get $a)))
                (local.set $c11 (f32x4.mul (local.get $c11) (local.get $a)))
                (local.set $a (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $av) (local.get $av)))
                (local.set $c20 (f32x4.mul (local.get $c20) (local.get $a)))
                (local.set $c21 (f32x4.mul (local.get $c21) (local.get $a)))
                (local.set $a (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $av) (local.get $av)))
                (local.set $c30 (f32x4.mul (local.get $c30) (local.get $a)))
                (local.set $c31 (f32x4.mul (local.get $c31) (local.get $a))))))
          (else
            (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
            (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))))
        (local.set $ap (i32.add (local.get $pa) (i32.mul (local.get $g) (local.get $aRowStep))))
        (local.set $bp (i32.add (local.get $pb) (i32.mul (local.get $h) (local.get $bColStep))))
        (local.set $k (local.get $kn))
        (loop $kLoop
          ;; k + 0
          (local.set $b0 (v128.load offset=0 (local.get $bp)))
          (local.set $b1 (v128.load offset=16 (local.get $bp)))
          (local.set $av (v128.load offset=0 (local.get $ap)))
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
          ;; k + 1
          (local.set $b0 (v128.load offset=32 (local.get $bp)))
          (local.set $b1 (v128.load offset=48 (local.get $bp)))
          (local.set $av (v128.load offset=16 (local.get $ap)))
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
          ;; k + 2
          (local.set $b0 (v128.load offset=64 (local.get $bp)))
          (local.set $b1 (v128.load offset=80 (local.get $bp)))
          (local.set $av (v128.load offset=32 (local.get $ap)))
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
          ;; k + 3
          (local.set $b0 (v128.load offset=96 (local.get $bp)))
          (local.set $b1 (v128.load offset=112 (local.get $bp)))
          (local.set $av (v128.load offset=48 (local.get $ap)))
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
          (local.set $ap (i32.add (local.get $ap) (i32.const 64)))
          (local.set $bp (i32.add (local.get $bp) (i32.const 128)))
          (br_if $kLoop (local.tee $k (i32.sub (local.get $k) (i32.const 4)))))
        (v128.store (local.get $pc0) (local.get $c00))
        (v128.store (i32.add (local.get $pc0) (local.get $cHalf)) (local.get $c01))
        (v128.store (local.get $pc1) (local.get $c10))
        (v128.store (i32.add (local.get $pc1) (local.get $cHalf)) (local.get $c11))
        (v128.store (local.get $pc2) (local.get $c20))
        (v128.store (i32.add (local.get $pc2) (local.get $cHalf)) (local.get $c21))
        (v128.store (local.get $pc3) (local.get $c30))
        (v128.store (i32.add (local.get $pc3) (local.get $cHalf)) (local.get $c31))
        (br_if $colGroups (i32.lt_u (i32.shl (local.tee $h (i32.add (local.get $h) (i32.const 1))) (i32.const 3)) (local.get $cols))))
      (local.set $cRow (i32.add (local.get $cRow) (i32.shl (local.get $cs) (i32.const 2))))
      (br_if $rowGroups (i32.lt_u (i32.shl (local.tee $g (i32.add (local.get $g) (i32.const 1))) (i32.const 2)) (local.get $rows)))))

  ;; fillKeyMask(meta, b, T, Tp): keyMask[j] = (j < T ∧ (meta = 0 ∨ meta[b·T + j] ≠ 0)) ? −1 : 0, j < Tp.
  (func $fillKeyMask (param $meta i32) (param $b i32) (param $T i32) (param $Tp i32)
    (local $j i32) (local $src i32)
    (local.set $src (i32.add (local.get $meta) (i32.shl (i32.mul (local.get $b) (local.get $T)) (i32.const 2))))
    (loop $keys
      (i32.store (i32.add (global.get $keyMask) (i32.shl (local.get $j) (i32.const 2)))
        (if (result i32) (i32.lt_u (local.get $j) (local.get $T))
          (then (if (result i32) (local.get $meta)
            (then (i32.sub (i32.const 0) (i32.ne
              (i32.load (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 2)))) (i32.const 0))))
            (else (i32.const -1))))
          (else (i32.const 0))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $keys (i32.lt_u (local.get $j) (local.get $Tp)))))

  ;; softmaxTile(i0, j0, needMask): online-softmax step of the forward on the Sᵀ tile (BC=32 key
  ;; rows × BR=32 query lanes, 4-column panels: queries 4g … 4g+3 of key j at pTile + 512g + 16j);
  ;; per query i (lane) it updates
  ;;   m (rowLse), l (rowD), writes alpha = exp(m_old − m_safe) (rowValid) and P over S.
  ;;   needMask: s_ij = −inf unless keyMask[i] ∧ keyMask[j] ∧ j ≤ i (i = i0 + lane, j = j0 + row).
  (func $softmaxTile (param $i0 i32) (param $j0 i32) (param $needMask i32) (param $nq i32) (param $diag i32)
    (local $g i32) (local $j i32) (local $p i32) (local $end i32) (local $gEnd i32)
    (local $mOld v128) (local $mx v128) (local $mSafe v128) (local $l v128) (local $s v128)
    (local $iv v128) (local $rowm v128) (local $ninf v128) (local $zero v128) (local $e v128)
    (local $ex v128) (local $et v128) (local $en v128) (local $er v128)
    (local $kLo v128) (local $kL2e v128) (local $kMg v128) (local $kLn2 v128) (local $kQ5 v128) (local $kQ4 v128) (local $kQ3 v128) (local $kQ2 v128) (local $kOne v128)
    ;; exp constants live in locals (V8 rematerialises v128.const at each use)
    (local.set $kLo (v128.const f32x4 -88 -88 -88 -88))
    (local.set $kL2e (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))
    (local.set $kMg (v128.const f32x4 12583039 12583039 12583039 12583039))
    (local.set $kLn2 (v128.const f32x4 -0.693147182 -0.693147182 -0.693147182 -0.693147182))
    (local.set $kQ5 (v128.const f32x4 8.325723000e-03 8.325723000e-03 8.325723000e-03 8.325723000e-03))
    (local.set $kQ4 (v128.const f32x4 4.190892726e-02 4.190892726e-02 4.190892726e-02 4.190892726e-02))
    (local.set $kQ3 (v128.const f32x4 1.666694134e-01 1.666694134e-01 1.666694134e-01 1.666694134e-01))
    (local.set $kQ2 (v128.const f32x4 4.999903738e-01 4.999903738e-01 4.999903738e-01 4.999903738e-01))
    (local.set $kOne (v128.const f32x4 1 1 1 1))
    (local.set $ninf (v128.const f32x4 -inf -inf -inf -inf))
    (local.set $gEnd (i32.shl (local.get $nq) (i32.const 2)))
    (loop $groups   ;; g = byte offset of a group of 4 queries, 0 … 4·nq − 16
      (local.set $mOld (v128.load (i32.add (global.get $rowLse) (local.get $g))))
      (local.set $mx (local.get $mOld))
      (local.set $p (i32.add (global.get $pTile) (i32.shl (local.get $g) (i32.const 5))))
      ;; key rows of this group: 32, or on the diagonal 8·(g div 2 + 1), the rows $mmBlock computed
      (local.set $end (i32.add (local.get $p) (select
        (i32.add (i32.shl (i32.shr_u (local.get $g) (i32.const 5)) (i32.const 7)) (i32.const 128))
        (i32.const 512) (local.get $diag))))
      (if (local.get $needMask)
        (then
          ;; mask (store the masked s back) and max
          (local.set $iv (i32x4.add (i32x4.splat (i32.add (local.get $i0) (i32.shr_u (local.get $g) (i32.const 2))))
            (v128.const i32x4 0 1 2 3)))
          (local.set $rowm (v128.load (i32.add (global.get $keyMask)
            (i32.add (i32.shl (local.get $i0) (i32.const 2)) (local.get $g)))))
          (local.set $j (local.get $j0))
          (loop $maskRows
            (local.set $s (v128.bitselect (v128.load (local.get $p)) (local.get $ninf)
              (v128.and (v128.and (local.get $rowm)
                  (i32x4.splat (i32.load (i32.add (global.get $keyMask) (i32.shl (local.get $j) (i32.const 2))))))
                (i32x4.ge_s (local.get $iv) (i32x4.splat (local.get $j))))))
            (v128.store (local.get $p) (local.get $s))
            (local.set $mx (f32x4.pmax (local.get $mx) (local.get $s)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br_if $maskRows (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 16))) (local.get $end)))))
        (else
          (loop $maxRows
            (local.set $mx (f32x4.pmax (local.get $mx) (v128.load (local.get $p))))
            (br_if $maxRows (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 16))) (local.get $end))))))
      (local.set $mSafe (v128.bitselect (local.get $zero) (local.get $mx) (f32x4.eq (local.get $mx) (local.get $ninf))))
      ;; alpha = exp(m_old − m_safe) (argument ≤ 0, or −inf), $exp4 of math.wat inlined
      (local.set $ex (f32x4.pmax (f32x4.sub (local.get $mOld) (local.get $mSafe)) (local.get $kLo)))
      (local.set $et (f32x4.relaxed_madd (local.get $ex) (local.get $kL2e) (local.get $kMg)))
      (local.set $en (f32x4.sub (local.get $et) (local.get $kMg)))
      (local.set $er (f32x4.relaxed_madd (local.get $en) (local.get $kLn2) (local.get $ex)))
      (local.set $e (f32x4.mul
        (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (local.get $kQ5) (local.get $er) (local.get $kQ4)) (local.get $er) (local.get $kQ3)) (local.get $er) (local.get $kQ2)) (local.get $er) (local.get $kOne)) (local.get $er) (local.get $kOne))
        (i32x4.shl (local.get $et) (i32.const 23))))
      (v128.store (i32.add (global.get $rowValid) (local.get $g)) (local.get $e))
      (v128.store (i32.add (global.get $rowLse) (local.get $g)) (local.get $mx))
      (local.set $l (f32x4.mul (v128.load (i32.add (global.get $rowD) (local.get $g))) (local.get $e)))
      ;; p = exp(s − m_safe), l += p
      (local.set $p (i32.add (global.get $pTile) (i32.shl (local.get $g) (i32.const 5))))
      (loop $expRows
        (local.set $ex (f32x4.pmax (f32x4.sub (v128.load (local.get $p)) (local.get $mSafe)) (local.get $kLo)))
        (local.set $et (f32x4.relaxed_madd (local.get $ex) (local.get $kL2e) (local.get $kMg)))
        (local.set $en (f32x4.sub (local.get $et) (local.get $kMg)))
        (local.set $er (f32x4.relaxed_madd (local.get $en) (local.get $kLn2) (local.get $ex)))
        (local.set $e (f32x4.mul
          (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (local.get $kQ5) (local.get $er) (local.get $kQ4)) (local.get $er) (local.get $kQ3)) (local.get $er) (local.get $kQ2)) (local.get $er) (local.get $kOne)) (local.get $er) (local.get $kOne))
          (i32x4.shl (local.get $et) (i32.const 23))))
        (v128.store (local.get $p) (local.get $e))
        (local.set $l (f32x4.add (local.get $l) (local.get $e)))
        (br_if $expRows (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 16))) (local.get $end))))
      (v128.store (i32.add (global.get $rowD) (local.get $g)) (local.get $l))
      (br_if $groups (i32.lt_u (local.tee $g (i32.add (local.get $g) (i32.const 16))) (local.get $gEnd)))))

  ;; log(s) for s > 0 normal (here s = l ≥ 1 up to rounding): scalar, once per row (math.wat).
  ;; s = 2^e·f with f in [√½, √2); log f = 2·atanh(u), u = (f − 1)/(f + 1), series to u^13.
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

  ;; attentionForward(out, lse, qkv, meta, B, T, C, NH, ws, tid, nt)
  ;;   out (B,T,C), lse (B,NH,T), qkv (B,T,3C), meta (B,T) i32 0/1 or 0 (null);
  ;;   ws: nt · attention_ws_bytes(T, C/NH) bytes. HS = C/NH a multiple of 4.
  ;;   out[b,i,h·HS:] = Σ_allowed softmax_j(s_ij)·v_j, lse[b,h,i] = log Σ_allowed exp(s_ij).
  (func (export "attentionForward")
    (param $out i32) (param $lse i32) (param $qkv i32) (param $meta i32)
    (param $B i32) (param $T i32) (param $C i32) (param $NH i32)
    (param $ws i32) (param $tid i32) (param $nt i32)
    (local $HS i32) (local $HSp i32) (local $Tp i32) (local $scale f32)
    (local $units i32) (local $u i32) (local $uEnd i32) (local $b i32) (local $h i32)
    (local $rowStride i32) (local $src i32) (local $hspb i32)
    (local $i0 i32) (local $j0 i32) (local $jEnd i32)
    (local $needMask i32) (local $r i32) (local $i i32) (local $c i32)
    (local $l f32) (local $inv v128) (local $o i32) (local $dst i32) (local $hsb i32)
    (local $T8 i32) (local $nq i32) (local $diag i32) (local $pr i32)
    (if (i32.or (i32.eqz (local.get $T)) (i32.eqz (local.get $B))) (then (return)))
    (local.set $T8 (i32.and (i32.add (local.get $T) (i32.const 7)) (i32.const -8)))
    (local.set $HS (i32.div_u (local.get $C) (local.get $NH)))
    (local.set $HSp (i32.and (i32.add (local.get $HS) (i32.const 7)) (i32.const -8)))
    (local.set $Tp (i32.and (i32.add (local.get $T) (i32.const 31)) (i32.const -32)))
    (local.set $hspb (i32.shl (local.get $HSp) (i32.const 2)))
    (local.set $hsb (i32.shl (local.get $HS) (i32.const 2)))
    (local.set $scale (f32.div (f32.const 1) (f32.sqrt (f32.convert_i32_u (local.get $HS)))))
    (local.set $rowStride (i32.mul (local.get $C) (i32.const 12)))
    (call $layout (local.get $ws) (local.get $tid) (local.get $T) (local.get $HS))
    ;; units (b,h): [tid·chunk, min(B·NH, (tid+1)·chunk))
    (local.set $units (i32.mul (local.get $B) (local.get $NH)))
    (local.set $uEnd (i32.div_u (i32.add (local.get $units) (i32.sub (local.get $nt) (i32.const 1))) (local.get $nt)))
    (local.set $u (i32.mul (local.get $tid) (local.get $uEnd)))
    (local.set $uEnd (i32.add (local.get $u) (local.get $uEnd)))
    (if (i32.gt_u (local.get $uEnd) (local.get $units)) (then (local.set $uEnd (local.get $units))))
    (block $unitsDone (loop $unitLoop
      (br_if $unitsDone (i32.ge_u (local.get $u) (local.get $uEnd)))
      (local.set $b (i32.div_u (local.get $u) (local.get $NH)))
      (local.set $h (i32.rem_u (local.get $u) (local.get $NH)))
      ;; pack: qCols = scale·q → 8-row panels; kCols → 4-row panels; V cols (held in vPanels here)
      (local.set $src (i32.add (local.get $qkv) (i32.shl
        (i32.add (i32.mul (i32.mul (local.get $b) (local.get $T)) (i32.mul (local.get $C) (i32.const 3)))
                 (i32.mul (local.get $h) (local.get $HS))) (i32.const 2))))
      (call $packRows (i32.const 0) (global.get $qPanels) (local.get $src) (local.get $rowStride) (local.get $T)
        (local.get $HS) (local.get $HSp) (local.get $T8) (i32.const 8) (local.get $scale))
      (call $packRows (i32.const 0) (global.get $kPanels) (i32.add (local.get $src) (i32.shl (local.get $C) (i32.const 2)))
        (local.get $rowStride) (local.get $T) (local.get $HS) (local.get $HSp) (local.get $T8) (i32.const 4) (f32.const 1))
      (call $packCols (global.get $vPanels) (i32.add (local.get $src) (i32.shl (local.get $C) (i32.const 3)))
        (local.get $rowStride) (local.get $T) (local.get $HS) (local.get $HSp) (local.get $T8) (f32.const 1))
      (call $fillKeyMask (local.get $meta) (local.get $b) (local.get $T) (local.get $Tp))
      (local.set $i0 (i32.const 0))
      (loop $queryTiles
        ;; m = −inf, l = 0 for the tile's 32 queries
        (local.set $r (i32.const 0))
        (loop $init
          (v128.store (i32.add (global.get $rowLse) (local.get $r)) (v128.const f32x4 -inf -inf -inf -inf))
          (v128.store (i32.add (global.get $rowD) (local.get $r)) (v128.const i32x4 0 0 0 0))
          (br_if $init (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 16))) (i32.const 128))))
        ;; key tiles j0 ≤ min(i0 + 31, T − 1): tiles above the diagonal are skipped
        (local.set $jEnd (i32.add (local.get $i0) (i32.const 32)))
        (if (i32.gt_u (local.get $jEnd) (local.get $T)) (then (local.set $jEnd (local.get $T))))
        ;; nq = queries of the tile computed (T rounded up to 8 bounds the last tile)
        (local.set $nq (i32.sub (local.get $T8) (local.get $i0)))
        (if (i32.gt_u (local.get $nq) (i32.const 32)) (then (local.set $nq (i32.const 32))))
        (local.set $j0 (i32.const 0))
        (loop $keyTiles
          (local.set $diag (i32.eq (local.get $j0) (local.get $i0)))
          (if (local.get $diag)
            (then
              ;; diagonal: Sᵀ key rows 8p … 8p+7 against queries 8p … nq−1 only (upper triangle
              ;; in 8x8 blocks; the entries left out are masked below)
              (local.set $pr (i32.const 0))
              (loop $sDiag
                (call $mmBlock
                  (i32.add (global.get $kPanels) (i32.mul (i32.add (local.get $j0) (local.get $pr)) (local.get $hspb)))
                  (i32.shl (local.get $hspb) (i32.const 2))
                  (i32.add (global.get $qPanels) (i32.mul (i32.add (local.get $i0) (local.get $pr)) (local.get $hspb)))
                  (i32.shl (local.get $hspb) (i32.const 3))
                  (i32.add (global.get $pTile) (i32.mul (local.get $pr) (i32.const 144)))
                  (i32.const 16) (i32.const 512) (i32.const 1024)
                  (i32.const 8) (i32.sub (local.get $nq) (local.get $pr)) (local.get $HSp) (i32.const 0) (i32.const 0))
                (br_if $sDiag (i32.lt_u (local.tee $pr (i32.add (local.get $pr) (i32.const 8))) (local.get $nq)))))
            (else
              ;; Sᵀ (32 keys, nq queries) = K_tile · Qs_tileᵀ
              (call $mmBlock
                (i32.add (global.get $kPanels) (i32.mul (local.get $j0) (local.get $hspb)))
                (i32.shl (local.get $hspb) (i32.const 2))
                (i32.add (global.get $qPanels) (i32.mul (local.get $i0) (local.get $hspb)))
                (i32.shl (local.get $hspb) (i32.const 3))
                (global.get $pTile) (i32.const 16) (i32.const 512) (i32.const 1024) (i32.const 32) (local.get $nq) (local.get $HSp)
                (i32.const 0) (i32.const 0))))
          ;; online softmax: m, l, alpha, P over S
          (local.set $needMask (i32.or (i32.or (i32.ne (local.get $meta) (i32.const 0))
              (i32.gt_u (i32.add (local.get $j0) (i32.const 31)) (local.get $i0)))
            (i32.gt_u (i32.add (local.get $i0) (i32.const 32)) (local.get $T))))
          (call $softmaxTile (local.get $i0) (local.get $j0) (local.get $needMask) (local.get $nq) (local.get $diag))
          ;; O (nq, HSp) = alpha·O + P · V_tile (the first key tile overwrites O); on the diagonal
          ;; queries 8p … 8p+7 take keys < 8p + 8 only (the rest of their P row is 0)
          (if (local.get $diag)
            (then
              (local.set $pr (i32.const 0))
              (loop $pvDiag
                (call $mmBlock
                  (i32.add (global.get $pTile) (i32.shl (local.get $pr) (i32.const 7))) (i32.const 512)
                  (i32.add (global.get $vPanels) (i32.mul (local.get $j0) (local.get $hspb))) (i32.const 1024)
                  (i32.add (global.get $dvTile) (i32.mul (local.get $pr) (local.get $hspb)))
                  (local.get $hspb) (i32.const 16) (i32.const 32) (i32.const 8) (local.get $HSp)
                  (i32.add (local.get $pr) (i32.const 8))
                  (select (i32.const 2) (i32.const 0) (local.get $j0))
                  (i32.add (global.get $rowValid) (i32.shl (local.get $pr) (i32.const 2))))
                (br_if $pvDiag (i32.lt_u (local.tee $pr (i32.add (local.get $pr) (i32.const 8))) (local.get $nq)))))
            (else
              (call $mmBlock
                (global.get $pTile) (i32.const 512)
                (i32.add (global.get $vPanels) (i32.mul (local.get $j0) (local.get $hspb))) (i32.const 1024)
                (global.get $dvTile) (local.get $hspb) (i32.const 16) (i32.const 32) (local.get $nq) (local.get $HSp) (i32.const 32)
                (select (i32.const 2) (i32.const 0) (local.get $j0)) (global.get $rowValid))))
          (br_if $keyTiles (i32.lt_u (local.tee $j0 (i32.add (local.get $j0) (i32.const 32))) (local.get $jEnd))))
        ;; out_i = O_i / l_i, lse_i = m_i + log l_i (l_i = 0: 0 and −inf)
        (local.set $r (i32.const 0))
        (block $finDone (loop $fin
          (local.set $i (i32.add (local.get $i0) (local.get $r)))
          (br_if $finDone (i32.ge_u (local.get $i) (local.get $T)))
          (br_if $finDone (i32.ge_u (local.get $r) (i32.const 32)))
          (local.set $l (f32.load (i32.add (global.get $rowD) (i32.shl (local.get $r) (i32.const 2)))))
          (f32.store (i32.add (local.get $lse) (i32.shl
              (i32.add (i32.mul (local.get $u) (local.get $T)) (local.get $i)) (i32.const 2)))
            (if (result f32) (f32.gt (local.get $l) (f32.const 0))
              (then (f32.add (f32.load (i32.add (global.get $rowLse) (i32.shl (local.get $r) (i32.const 2))))
                             (call $log (local.get $l))))
              (else (f32.const -inf))))
          (local.set $inv (f32x4.splat (if (result f32) (f32.gt (local.get $l) (f32.const 0))
            (then (f32.div (f32.const 1) (local.get $l))) (else (f32.const 0)))))
          (local.set $o (i32.add (global.get $dvTile) (i32.mul (local.get $r) (local.get $hspb))))
          (local.set $dst (i32.add (local.get $out) (i32.shl
            (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $T)) (local.get $i)) (local.get $C))
                     (i32.mul (local.get $h) (local.get $HS))) (i32.const 2))))
          (local.set $c (i32.const 0))
          (loop $cols
            (v128.store (i32.add (local.get $dst) (local.get $c))
              (f32x4.mul (v128.load (i32.add (local.get $o) (local.get $c))) (local.get $inv)))
            (br_if $cols (i32.lt_u (local.tee $c (i32.add (local.get $c) (i32.const 16))) (local.get $hsb))))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br $fin)))
        (br_if $queryTiles (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 32))) (local.get $T))))
      (local.set $u (i32.add (local.get $u) (i32.const 1)))
      (br $unitLoop))))

  ;; probTile(i0, j0, needMask): backward P tile (BR=32 query rows × BC=32 key columns in
  ;;   4-column panels: keys 4g … 4g+3 of query i at pTile + 512g + 16i), in place over S:
  ;;   P_ij = exp(s_ij − lse_i), inverting the forward's `p = exp(s − m_safe)` …
  ;;   `lse_i = m_i + log l_i`; masked: P_ij = 0 unless
  ;;   rowValid[i] ∧ keyMask[j] ∧ j ≤ i (rows with lse = −inf have rowValid = 0 and lse read as 0).
  (func $probTile (param $i0 i32) (param $j0 i32) (param $needMask i32) (param $nq i32) (param $diag i32)
    (local $r i32) (local $c i32) (local $p i32) (local $i i32) (local $cEnd i32)
    (local $lv v128) (local $rowm v128) (local $iv v128) (local $e v128)
    (local $ex v128) (local $et v128) (local $en v128) (local $er v128)
    (local $kLo v128) (local $kL2e v128) (local $kMg v128) (local $kLn2 v128) (local $kQ5 v128) (local $kQ4 v128) (local $kQ3 v128) (local $kQ2 v128) (local $kOne v128)
    (local.set $kLo (v128.const f32x4 -88 -88 -88 -88))
    (local.set $kL2e (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))
    (local.set $kMg (v128.const f32x4 12583039 12583039 12583039 12583039))
    (local.set $kLn2 (v128.const f32x4 -0.693147182 -0.693147182 -0.693147182 -0.693147182))
    (local.set $kQ5 (v128.const f32x4 8.325723000e-03 8.325723000e-03 8.325723000e-03 8.325723000e-03))
    (local.set $kQ4 (v128.const f32x4 4.190892726e-02 4.190892726e-02 4.190892726e-02 4.190892726e-02))
    (local.set $kQ3 (v128.const f32x4 1.666694134e-01 1.666694134e-01 1.666694134e-01 1.666694134e-01))
    (local.set $kQ2 (v128.const f32x4 4.999903738e-01 4.999903738e-01 4.999903738e-01 4.999903738e-01))
    (local.set $kOne (v128.const f32x4 1 1 1 1))
    (local.set $p (global.get $pTile))
    (loop $rows
      (local.set $i (i32.add (local.get $i0) (local.get $r)))
      (local.set $lv (v128.load32_splat (i32.add (global.get $rowLse) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $rowm (v128.load32_splat (i32.add (global.get $rowValid) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $iv (i32x4.splat (local.get $i)))
      ;; key columns: 32, or on the diagonal 8·(r div 8 + 1) (those $mmBlock computed)
      (local.set $cEnd (select (i32.add (i32.shl (i32.shr_u (local.get $r) (i32.const 3)) (i32.const 5)) (i32.const 32))
        (i32.const 128) (local.get $diag)))
      (local.set $c (i32.const 0))
      (loop $cols
        ;; e = exp(s − lse), $exp4 of math.wat inlined (argument ≤ 0 up to rounding where allowed)
        (local.set $ex (f32x4.pmax (f32x4.sub (v128.load (i32.add (local.get $p) (i32.shl (local.get $c) (i32.const 5)))) (local.get $lv)) (local.get $kLo)))
        (local.set $et (f32x4.relaxed_madd (local.get $ex) (local.get $kL2e) (local.get $kMg)))
        (local.set $en (f32x4.sub (local.get $et) (local.get $kMg)))
        (local.set $er (f32x4.relaxed_madd (local.get $en) (local.get $kLn2) (local.get $ex)))
        (local.set $e (f32x4.mul
          (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (f32x4.relaxed_madd (local.get $kQ5) (local.get $er) (local.get $kQ4)) (local.get $er) (local.get $kQ3)) (local.get $er) (local.get $kQ2)) (local.get $er) (local.get $kOne)) (local.get $er) (local.get $kOne))
          (i32x4.shl (local.get $et) (i32.const 23))))
        (if (local.get $needMask)
          (then (local.set $e (v128.and (local.get $e)
            (v128.and (v128.and (local.get $rowm)
                (v128.load (i32.add (global.get $keyMask)
                  (i32.add (i32.shl (local.get $j0) (i32.const 2)) (local.get $c)))))
              (i32x4.le_s
                (i32x4.add (i32x4.splat (i32.add (local.get $j0) (i32.shr_u (local.get $c) (i32.const 2))))
                  (v128.const i32x4 0 1 2 3))
                (local.get $iv)))))))
        (v128.store (i32.add (local.get $p) (i32.shl (local.get $c) (i32.const 5))) (local.get $e))
        (br_if $cols (i32.lt_u (local.tee $c (i32.add (local.get $c) (i32.const 16))) (local.get $cEnd))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br_if $rows (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $nq)))))

  ;; dsTile(i0): dS = P ⊙ (dP − D_i) in place over dP (dsTile, (32,32) rows = queries, 4-column
  ;;   panels like P), inverting the forward's `out_i = O_i / l_i` (= Σ_j P_ij·v_j) through the
  ;;   softmax, D_i = Σ_c dout_ic·out_ic; also writes dSᵀ (32 keys, 32 queries)
  ;;   at dstTile (4-column panels: queries 4g … 4g+3 of key j at dstTile + 512g + 16j) by 4x4
  ;;   shuffle transposes.
  (func $dsTile (param $i0 i32) (param $nq i32) (param $diag i32)
    (local $rb i32) (local $c i32) (local $p i32) (local $q i32) (local $t i32) (local $cEnd i32)
    (local $dv v128) (local $d v128)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $lo01 v128) (local $hi01 v128) (local $lo23 v128) (local $hi23 v128)
    (loop $rowBlocks   ;; rb = first of 4 query rows
      (local.set $dv (v128.load (i32.add (global.get $rowD) (i32.shl (i32.add (local.get $i0) (local.get $rb)) (i32.const 2)))))
      (local.set $cEnd (select (i32.add (i32.shl (i32.shr_u (local.get $rb) (i32.const 3)) (i32.const 5)) (i32.const 32))
        (i32.const 128) (local.get $diag)))
      (local.set $c (i32.const 0))
      (loop $colBlocks   ;; c = byte offset of 4 key columns
        (local.set $p (i32.add (i32.add (global.get $pTile) (i32.shl (local.get $rb) (i32.const 4))) (i32.shl (local.get $c) (i32.const 5))))
        (local.set $q (i32.add (i32.add (global.get $dsTile) (i32.shl (local.get $rb) (i32.const 4))) (i32.shl (local.get $c) (i32.const 5))))
        (local.set $d (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $dv) (local.get $dv)))
        (local.set $r0 (f32x4.mul (v128.load (local.get $p)) (f32x4.sub (v128.load (local.get $q)) (local.get $d))))
        (local.set $d (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $dv) (local.get $dv)))
        (local.set $r1 (f32x4.mul (v128.load offset=16 (local.get $p)) (f32x4.sub (v128.load offset=16 (local.get $q)) (local.get $d))))
        (local.set $d (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $dv) (local.get $dv)))
        (local.set $r2 (f32x4.mul (v128.load offset=32 (local.get $p)) (f32x4.sub (v128.load offset=32 (local.get $q)) (local.get $d))))
        (local.set $d (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $dv) (local.get $dv)))
        (local.set $r3 (f32x4.mul (v128.load offset=48 (local.get $p)) (f32x4.sub (v128.load offset=48 (local.get $q)) (local.get $d))))
        (v128.store (local.get $q) (local.get $r0))
        (v128.store offset=16 (local.get $q) (local.get $r1))
        (v128.store offset=32 (local.get $q) (local.get $r2))
        (v128.store offset=48 (local.get $q) (local.get $r3))
        ;; transpose: dSᵀ[c/4 + k][rb … rb+3]
        (local.set $t (i32.add (i32.add (global.get $dstTile) (i32.shl (local.get $rb) (i32.const 7))) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $lo01 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
        (local.set $hi01 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
        (local.set $lo23 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
        (local.set $hi23 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
        (v128.store (local.get $t)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $lo01) (local.get $lo23)))
        (v128.store offset=16 (local.get $t)
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $lo01) (local.get $lo23)))
        (v128.store offset=32 (local.get $t)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $hi01) (local.get $hi23)))
        (v128.store offset=48 (local.get $t)
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $hi01) (local.get $hi23)))
        (br_if $colBlocks (i32.lt_u (local.tee $c (i32.add (local.get $c) (i32.const 16))) (local.get $cEnd))))
      (br_if $rowBlocks (i32.lt_u (local.tee $rb (i32.add (local.get $rb) (i32.const 4))) (local.get $nq)))))

  ;; addRows(dst, dstStride, src, n, HS, HSp, scale): dst[r][c] += scale·src[r·HSp + c], r < n, c < HS
  ;;   (dst row stride in bytes; src (n, HSp) packed).
  (func $addRows (param $dst i32) (param $dstStride i32) (param $src i32) (param $n i32)
                 (param $HS i32) (param $HSp i32) (param $scale f32)
    (local $r i32) (local $c i32) (local $hsb i32) (local $sv v128)
    (if (i32.eqz (local.get $n)) (then (return)))
    (local.set $hsb (i32.shl (local.get $HS) (i32.const 2)))
    (local.set $sv (f32x4.splat (local.get $scale)))
    (loop $rows
      (local.set $c (i32.const 0))
      (loop $cols
        (v128.store (i32.add (local.get $dst) (local.get $c))
          (f32x4.add (v128.load (i32.add (local.get $dst) (local.get $c)))
            (f32x4.mul (v128.load (i32.add (local.get $src) (local.get $c))) (local.get $sv))))
        (br_if $cols (i32.lt_u (local.tee $c (i32.add (local.get $c) (i32.const 16))) (local.get $hsb))))
      (local.set $dst (i32.add (local.get $dst) (local.get $dstStride)))
      (local.set $src (i32.add (local.get $src) (i32.shl (local.get $HSp) (i32.const 2))))
      (br_if $rows (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $n)))))

  ;; attentionBackward(dqkv, dout, out, lse, qkv, meta, B, T, C, NH, ws, tid, nt)
  ;;   dqkv (B,T,3C) +=, dout (B,T,C), out (B,T,C) and lse (B,NH,T) from the forward, qkv (B,T,3C),
  ;;   meta (B,T) i32 or 0; ws: nt · attention_ws_bytes(T, C/NH) bytes. HS = C/NH a multiple of 4.
  ;;   Inverts the forward's `O = alpha·O + P·V_tile`, `out_i = O_i / l_i` with P recomputed as
  ;;   exp(s_ij − lse_i):  dv_j += Σ_i P_ij·dout_i,  dS_ij = P_ij·(dout_i·v_j − D_i),
  ;;   dq_i += scale·Σ_j dS_ij·k_j,  dk_j += scale·Σ_i dS_ij·q_i.
  (func (export "attentionBackward")
    (param $dqkv i32) (param $dout i32) (param $out i32) (param $lse i32) (param $qkv i32) (param $meta i32)
    (param $B i32) (param $T i32) (param $C i32) (param $NH i32)
    (param $ws i32) (param $tid i32) (param $nt i32)
    (local $HS i32) (local $HSp i32) (local $Tp i32) (local $scale f32)
    (local $units i32) (local $u i32) (local $uEnd i32) (local $b i32) (local $h i32)
    (local $rowStride i32) (local $src i32) (local $dsrc i32) (local $hspb i32) (local $hsb i32)
    (local $i0 i32) (local $j0 i32)
    (local $needMask i32) (local $mode i32) (local $i i32) (local $c i32) (local $n i32)
    (local $lv f32) (local $acc v128) (local $po i32) (local $pd i32) (local $dstRow i32)
    (local $T8 i32) (local $nq i32) (local $diag i32) (local $pr i32)
    (if (i32.or (i32.eqz (local.get $T)) (i32.eqz (local.get $B))) (then (return)))
    (local.set $T8 (i32.and (i32.add (local.get $T) (i32.const 7)) (i32.const -8)))
    (local.set $HS (i32.div_u (local.get $C) (local.get $NH)))
    (local.set $HSp (i32.and (i32.add (local.get $HS) (i32.const 7)) (i32.const -8)))
    (local.set $Tp (i32.and (i32.add (local.get $T) (i32.const 31)) (i32.const -32)))
    (local.set $hspb (i32.shl (local.get $HSp) (i32.const 2)))
    (local.set $hsb (i32.shl (local.get $HS) (i32.const 2)))
    (local.set $scale (f32.div (f32.const 1) (f32.sqrt (f32.convert_i32_u (local.get $HS)))))
    (local.set $rowStride (i32.mul (local.get $C) (i32.const 12)))
    (call $layout (local.get $ws) (local.get $tid) (local.get $T) (local.get $HS))
    (local.set $units (i32.mul (local.get $B) (local.get $NH)))
    (local.set $uEnd (i32.div_u (i32.add (local.get $units) (i32.sub (local.get $nt) (i32.const 1))) (local.get $nt)))
    (local.set $u (i32.mul (local.get $tid) (local.get $uEnd)))
    (local.set $uEnd (i32.add (local.get $u) (local.get $uEnd)))
    (if (i32.gt_u (local.get $uEnd) (local.get $units)) (then (local.set $uEnd (local.get $units))))
    (block $unitsDone (loop $unitLoop
      (br_if $unitsDone (i32.ge_u (local.get $u) (local.get $uEnd)))
      (local.set $b (i32.div_u (local.get $u) (local.get $NH)))
      (local.set $h (i32.rem_u (local.get $u) (local.get $NH)))
      ;; pack: qCols = scale·q, kCols, doCols and their row panels; V cols (held in dqAcc) → V panels
      (local.set $src (i32.add (local.get $qkv) (i32.shl
        (i32.add (i32.mul (i32.mul (local.get $b) (local.get $T)) (i32.mul (local.get $C) (i32.const 3)))
                 (i32.mul (local.get $h) (local.get $HS))) (i32.const 2))))
      (local.set $dsrc (i32.shl
        (i32.add (i32.mul (i32.mul (local.get $b) (local.get $T)) (local.get $C))
                 (i32.mul (local.get $h) (local.get $HS))) (i32.const 2)))
      (call $packRows (global.get $qCols) (global.get $qPanels) (local.get $src) (local.get $rowStride) (local.get $T)
        (local.get $HS) (local.get $HSp) (local.get $T8) (i32.const 4) (local.get $scale))
      (call $packRows (global.get $kCols) (global.get $kPanels) (i32.add (local.get $src) (i32.shl (local.get $C) (i32.const 2)))
        (local.get $rowStride) (local.get $T) (local.get $HS) (local.get $HSp) (local.get $T8) (i32.const 8) (f32.const 1))
      (call $packRows (i32.const 0) (global.get $vPanels) (i32.add (local.get $src) (i32.shl (local.get $C) (i32.const 3)))
        (local.get $rowStride) (local.get $T) (local.get $HS) (local.get $HSp) (local.get $T8) (i32.const 8) (f32.const 1))
      (call $packRows (global.get $doCols) (global.get $doPanels) (i32.add (local.get $dout) (local.get $dsrc))
        (i32.shl (local.get $C) (i32.const 2)) (local.get $T) (local.get $HS) (local.get $HSp) (local.get $T8) (i32.const 4) (f32.const 1))
      (call $fillKeyMask (local.get $meta) (local.get $b) (local.get $T) (local.get $Tp))
      ;; per query row: D_i = Σ_c dout_ic·out_ic, lse_i (0 where invalid), rowValid_i (dQ needs no
      ;; zeroing: key tile 0 writes every query row of it first, with mode 0)
      (local.set $i (i32.const 0))
      (loop $rowsInit
        (local.set $lv (f32.const -inf))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (if (i32.lt_u (local.get $i) (local.get $T))
          (then
            (local.set $lv (f32.load (i32.add (local.get $lse) (i32.shl
              (i32.add (i32.mul (local.get $u) (local.get $T)) (local.get $i)) (i32.const 2)))))
            (local.set $po (i32.add (local.get $out) (i32.add (local.get $dsrc)
              (i32.shl (i32.mul (local.get $i) (local.get $C)) (i32.const 2)))))
            (local.set $pd (i32.add (local.get $dout) (i32.add (local.get $dsrc)
              (i32.shl (i32.mul (local.get $i) (local.get $C)) (i32.const 2)))))
            (local.set $c (i32.const 0))
            (loop $dot
              (local.set $acc (f32x4.relaxed_madd (v128.load (i32.add (local.get $po) (local.get $c)))
                (v128.load (i32.add (local.get $pd) (local.get $c))) (local.get $acc)))
              (br_if $dot (i32.lt_u (local.tee $c (i32.add (local.get $c) (i32.const 16))) (local.get $hsb))))))
        (f32.store (i32.add (global.get $rowD) (i32.shl (local.get $i) (i32.const 2)))
          (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                   (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
        (local.set $n (i32.and (i32.load (i32.add (global.get $keyMask) (i32.shl (local.get $i) (i32.const 2))))
          (i32.sub (i32.const 0) (f32.ne (local.get $lv) (f32.const -inf)))))
        (i32.store (i32.add (global.get $rowValid) (i32.shl (local.get $i) (i32.const 2))) (local.get $n))
        (f32.store (i32.add (global.get $rowLse) (i32.shl (local.get $i) (i32.const 2)))
          (select (local.get $lv) (f32.const 0) (local.get $n)))
        (br_if $rowsInit (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $T8))))
      ;; key tiles outer, query tiles i0 ≥ j0 inner (tiles above the diagonal are skipped); the
      ;; first query tile is the diagonal one, where everything runs per 8-row strip over the 8x8
      ;; blocks on or below the diagonal only (the entries left out are 0 in P and dS)
      (local.set $j0 (i32.const 0))
      (loop $keyTiles
        (local.set $i0 (local.get $j0))
        (local.set $mode (i32.const 0))
        (loop $queryTiles
          ;; nq = queries of the tile computed (T rounded up to 8 bounds the last tile)
          (local.set $nq (i32.sub (local.get $T8) (local.get $i0)))
          (if (i32.gt_u (local.get $nq) (i32.const 32)) (then (local.set $nq (i32.const 32))))
          (local.set $diag (i32.eq (local.get $i0) (local.get $j0)))
          (local.set $needMask (i32.or (i32.or (i32.ne (local.get $meta) (i32.const 0))
              (i32.gt_u (i32.add (local.get $j0) (i32.const 31)) (local.get $i0)))
            (i32.gt_u (i32.add (local.get $i0) (i32.const 32)) (local.get $T))))
          (if (local.get $diag)
            (then
              ;; S, dP of queries 8p … 8p+7 against keys < 8p + 8
              (local.set $pr (i32.const 0))
              (loop $sDiag
                (call $mmBlock
                  (i32.add (global.get $qPanels) (i32.mul (i32.add (local.get $i0) (local.get $pr)) (local.get $hspb)))
                  (i32.shl (local.get $hspb) (i32.const 2))
                  (i32.add (global.get $kPanels) (i32.mul (local.get $j0) (local.get $hspb)))
                  (i32.shl (local.get $hspb) (i32.const 3))
                  (i32.add (global.get $pTile) (i32.shl (local.get $pr) (i32.const 4)))
                  (i32.const 16) (i32.const 512) (i32.const 1024)
                  (i32.const 8) (i32.add (local.get $pr) (i32.const 8)) (local.get $HSp) (i32.const 0) (i32.const 0))
                (call $mmBlock
                  (i32.add (global.get $doPanels) (i32.mul (i32.add (local.get $i0) (local.get $pr)) (local.get $hspb)))
                  (i32.shl (local.get $hspb) (i32.const 2))
                  (i32.add (global.get $vPanels) (i32.mul (local.get $j0) (local.get $hspb)))
                  (i32.shl (local.get $hspb) (i32.const 3))
                  (i32.add (global.get $dsTile) (i32.shl (local.get $pr) (i32.const 4)))
                  (i32.const 16) (i32.const 512) (i32.const 1024)
                  (i32.const 8) (i32.add (local.get $pr) (i32.const 8)) (local.get $HSp) (i32.const 0) (i32.const 0))
                (br_if $sDiag (i32.lt_u (local.tee $pr (i32.add (local.get $pr) (i32.const 8))) (local.get $nq)))))
            (else
              ;; S (nq queries, 32 keys) = Qs_tile · K_tileᵀ, then P in place
              (call $mmBlock
                (i32.add (global.get $qPanels) (i32.mul (local.get $i0) (local.get $hspb)))
                (i32.shl (local.get $hspb) (i32.const 2))
                (i32.add (global.get $kPanels) (i32.mul (local.get $j0) (local.get $hspb)))
                (i32.shl (local.get $hspb) (i32.const 3))
                (global.get $pTile) (i32.const 16) (i32.const 512) (i32.const 1024) (local.get $nq) (i32.const 32) (local.get $HSp)
                (i32.const 0) (i32.const 0))
              ;; dP (nq queries, 32 keys) = dO_tile · V_tileᵀ into dsTile
              (call $mmBlock
                (i32.add (global.get $doPanels) (i32.mul (local.get $i0) (local.get $hspb)))
                (i32.shl (local.get $hspb) (i32.const 2))
                (i32.add (global.get $vPanels) (i32.mul (local.get $j0) (local.get $hspb)))
                (i32.shl (local.get $hspb) (i32.const 3))
                (global.get $dsTile) (i32.const 16) (i32.const 512) (i32.const 1024) (local.get $nq) (i32.const 32) (local.get $HSp)
                (i32.const 0) (i32.const 0))))
          (call $probTile (local.get $i0) (local.get $j0) (local.get $needMask) (local.get $nq) (local.get $diag))
          ;; dS = P ⊙ (dP − D) (dP = dO·Vᵀ computed above into dsTile), and dSᵀ
          (call $dsTile (local.get $i0) (local.get $nq) (local.get $diag))
          (if (local.get $diag)
            (then
              ;; dV, dK of keys 8p … 8p+7 from queries ≥ 8p (the first query tile: they start at 0);
              ;; dQ of queries 8p … 8p+7 from keys < 8p + 8
              (local.set $pr (i32.const 0))
              (loop $gDiag
                (call $mmBlock
                  (i32.add (global.get $pTile) (i32.mul (local.get $pr) (i32.const 144))) (i32.const 512)
                  (i32.add (global.get $doCols) (i32.add (i32.mul (local.get $i0) (local.get $hspb)) (i32.shl (local.get $pr) (i32.const 5))))
                  (i32.const 1024)
                  (i32.add (global.get $dvTile) (i32.mul (local.get $pr) (local.get $hspb)))
                  (local.get $hspb) (i32.const 16) (i32.const 32) (i32.const 8) (local.get $HSp)
                  (i32.sub (local.get $nq) (local.get $pr)) (i32.const 0) (i32.const 0))
                (call $mmBlock
                  (i32.add (global.get $dsTile) (i32.mul (local.get $pr) (i32.const 144))) (i32.const 512)
                  (i32.add (global.get $qCols) (i32.add (i32.mul (local.get $i0) (local.get $hspb)) (i32.shl (local.get $pr) (i32.const 5))))
                  (i32.const 1024)
                  (i32.add (global.get $dkTile) (i32.mul (local.get $pr) (local.get $hspb)))
                  (local.get $hspb) (i32.const 16) (i32.const 32) (i32.const 8) (local.get $HSp)
                  (i32.sub (local.get $nq) (local.get $pr)) (i32.const 0) (i32.const 0))
                (call $mmBlock
                  (i32.add (global.get $dstTile) (i32.shl (local.get $pr) (i32.const 7))) (i32.const 512)
                  (i32.add (global.get $kCols) (i32.mul (local.get $j0) (local.get $hspb))) (i32.const 1024)
                  (i32.add (global.get $dqAcc) (i32.mul (i32.add (local.get $i0) (local.get $pr)) (local.get $hspb)))
                  (local.get $hspb) (i32.const 16) (i32.const 32) (i32.const 8) (local.get $HSp)
                  (i32.add (local.get $pr) (i32.const 8)) (select (i32.const 1) (i32.const 0) (local.get $j0)) (i32.const 0))
                (br_if $gDiag (i32.lt_u (local.tee $pr (i32.add (local.get $pr) (i32.const 8))) (local.get $nq)))))
            (else
              ;; dV += Pᵀ·dO_tile, dK += dSᵀ·Qs_tile (32 keys, HSp), k over the nq queries
              (call $mmBlock
                (global.get $pTile) (i32.const 512)
                (i32.add (global.get $doCols) (i32.mul (local.get $i0) (local.get $hspb))) (i32.const 1024)
                (global.get $dvTile) (local.get $hspb) (i32.const 16) (i32.const 32) (i32.const 32) (local.get $HSp) (local.get $nq)
                (local.get $mode) (i32.const 0))
              (call $mmBlock
                (global.get $dsTile) (i32.const 512)
                (i32.add (global.get $qCols) (i32.mul (local.get $i0) (local.get $hspb))) (i32.const 1024)
                (global.get $dkTile) (local.get $hspb) (i32.const 16) (i32.const 32) (i32.const 32) (local.get $HSp) (local.get $nq)
                (local.get $mode) (i32.const 0))
              ;; dQ_tile (nq queries, HSp) += dS·K_tile (= for key tile 0)
              (call $mmBlock
                (global.get $dstTile) (i32.const 512)
                (i32.add (global.get $kCols) (i32.mul (local.get $j0) (local.get $hspb))) (i32.const 1024)
                (i32.add (global.get $dqAcc) (i32.mul (local.get $i0) (local.get $hspb))) (local.get $hspb) (i32.const 16)
                (i32.const 32) (local.get $nq) (local.get $HSp) (i32.const 32)
                (select (i32.const 1) (i32.const 0) (local.get $j0)) (i32.const 0))))
          (local.set $mode (i32.const 1))
          (br_if $queryTiles (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (i32.const 32))) (local.get $T))))
        ;; dqkv k and v rows of the key tile += dK, dV
        (local.set $n (i32.sub (local.get $T) (local.get $j0)))
        (if (i32.gt_u (local.get $n) (i32.const 32)) (then (local.set $n (i32.const 32))))
        (local.set $dstRow (i32.add (i32.add (local.get $dqkv) (i32.sub (local.get $src) (local.get $qkv)))
          (i32.mul (local.get $j0) (local.get $rowStride))))
        (call $addRows (i32.add (local.get $dstRow) (i32.shl (local.get $C) (i32.const 2))) (local.get $rowStride)
          (global.get $dkTile) (local.get $n) (local.get $HS) (local.get $HSp) (f32.const 1))
        (call $addRows (i32.add (local.get $dstRow) (i32.shl (local.get $C) (i32.const 3))) (local.get $rowStride)
          (global.get $dvTile) (local.get $n) (local.get $HS) (local.get $HSp) (f32.const 1))
        (br_if $keyTiles (i32.lt_u (local.tee $j0 (i32.add (local.get $j0) (i32.const 32))) (local.get $T))))
      ;; dqkv q rows += scale·dQ
      (call $addRows (i32.add (local.get $dqkv) (i32.sub (local.get $src) (local.get $qkv))) (local.get $rowStride)
        (global.get $dqAcc) (local.get $T) (local.get $HS) (local.get $HSp) (local.get $scale))
      (local.set $u (i32.add (local.get $u) (i32.const 1)))
      (br $unitLoop))))
)
