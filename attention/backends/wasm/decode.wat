;; decode.wat — attention of a few new rows over a KV cache (generation with a cache).
;;
;;   One sequence per call. qkv (T,3C) holds the T new rows (q, k, v in column blocks of C, head h
;;   at columns h·HS … h·HS+HS−1 of each block, HS = C/NH); kc, vc (≥ past+T, C) hold the keys and
;;   values of the `past` rows before them. The kernel first appends the new keys and values
;;   (kc[past+i] = k_i, vc[past+i] = v_i), then for every new row i and head h:
;;     s_j = scale·q_i·k_j over j ≤ past + i (the causal rule: row i sits at position past + i),
;;     out_i = Σ_j softmax_j(s)·v_j,  scale = 1/√HS.
;;   REQUIREMENT: HS a multiple of 4.
;;
;; Decoding is memory bound on the weights, not here: per layer and token this reads the cache
;; once (2·S·C floats). Scores go to a row of S floats in the thread's workspace (padded with −inf
;; to a multiple of 4, so exp gives exact zeros there); out_i accumulates p_j·v_j in place.
;; Threads: heads h = tid, tid + nt, …; each thread appends and reads only its own heads' columns,
;; so the threads touch disjoint memory and the result does not depend on nt.
;; Workspace: nt · decode_ws_bytes(past + T) bytes, thread tid's slice at ws + tid·decode_ws_bytes.

(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; decode_ws_bytes(S) -> i32: bytes of one thread's score row for S keys (16-byte multiple).
  (func $decode_ws_bytes (export "decode_ws_bytes") (param $S i32) (result i32)
    (i32.shl (i32.and (i32.add (local.get $S) (i32.const 3)) (i32.const -4)) (i32.const 2)))

  ;; exp4(x) -> exp(x) lanewise for x ≤ 0 (x clamped to ≥ −88, where it underflows to exactly 0;
  ;; −inf gives 0). The $exp4 of tensor/backends/wasm/math.wat, whose header derives it.
  (func $exp4 (param $x v128) (result v128)
    (local $ex v128) (local $et v128) (local $en v128) (local $er v128)
    (local.set $ex (f32x4.pmax (local.get $x) (v128.const f32x4 -88 -88 -88 -88)))
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

  ;; hsum(v) -> v0 + v1 + v2 + v3
  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; attentionCachedForward(out, kc, vc, qkv, T, past, C, NH, ws, tid, nt)
  ;;   out (T,C), kc/vc (≥ past+T, C) (rows past … past+T−1 written), qkv (T,3C); see header.
  (func (export "attentionCachedForward")
    (param $out i32) (param $kc i32) (param $vc i32) (param $qkv i32)
    (param $T i32) (param $past i32) (param $C i32) (param $NH i32)
    (param $ws i32) (param $tid i32) (param $nt i32)
    (local $HS i32) (local $hsb i32) (local $rowB i32) (local $scale f32) (local $h i32)
    (local $i i32) (local $j i32) (local $x i32) (local $S i32) (local $end i32) (local $s i32)
    (local $src i32) (local $dst i32) (local $q i32) (local $k i32) (local $o i32)
    (local $acc v128) (local $mx f32) (local $sc f32) (local $mv v128) (local $l v128) (local $e v128)
    (local $pv v128) (local $inv v128)
    (local.set $HS (i32.div_u (local.get $C) (local.get $NH)))
    (local.set $hsb (i32.shl (local.get $HS) (i32.const 2)))
    (local.set $rowB (i32.shl (local.get $C) (i32.const 2)))
    (local.set $scale (f32.div (f32.const 1) (f32.sqrt (f32.convert_i32_u (local.get $HS)))))
    (local.set $s (i32.add (local.get $ws)
      (i32.mul (local.get $tid) (call $decode_ws_bytes (i32.add (local.get $past) (local.get $T))))))
    (local.set $h (local.get $tid))
    (block $headsDone (loop $heads
      (br_if $headsDone (i32.ge_u (local.get $h) (local.get $NH)))
      ;; append: kc[past+i, h·HS:] = qkv[i, C + h·HS:], vc[past+i, h·HS:] = qkv[i, 2C + h·HS:]
      (local.set $i (i32.const 0))
      (block $appendDone (loop $append
        (br_if $appendDone (i32.ge_u (local.get $i) (local.get $T)))
        (local.set $src (i32.add (local.get $qkv) (i32.shl
          (i32.add (i32.mul (local.get $i) (i32.mul (local.get $C) (i32.const 3)))
            (i32.add (local.get $C) (i32.mul (local.get $h) (local.get $HS)))) (i32.const 2))))
        (local.set $dst (i32.shl
          (i32.add (i32.mul (i32.add (local.get $past) (local.get $i)) (local.get $C))
            (i32.mul (local.get $h) (local.get $HS))) (i32.const 2)))
        (local.set $x (i32.const 0))
        (loop $copy
          (v128.store (i32.add (i32.add (local.get $kc) (local.get $dst)) (local.get $x))
            (v128.load (i32.add (local.get $src) (local.get $x))))
          (v128.store (i32.add (i32.add (local.get $vc) (local.get $dst)) (local.get $x))
            (v128.load (i32.add (i32.add (local.get $src) (local.get $rowB)) (local.get $x))))
          (br_if $copy (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 16))) (local.get $hsb))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $append)))
      ;; queries
      (local.set $i (i32.const 0))
      (block $queriesDone (loop $queries
        (br_if $queriesDone (i32.ge_u (local.get $i) (local.get $T)))
        (local.set $S (i32.add (i32.add (local.get $past) (local.get $i)) (i32.const 1)))
        (local.set $q (i32.add (local.get $qkv) (i32.shl
          (i32.add (i32.mul (local.get $i) (i32.mul (local.get $C) (i32.const 3)))
            (i32.mul (local.get $h) (local.get $HS))) (i32.const 2))))
        ;; s_j = scale·q·k_j, and their max
        (local.set $mx (f32.const -inf))
        (local.set $k (i32.add (local.get $kc) (i32.shl (i32.mul (local.get $h) (local.get $HS)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (loop $scores
          (local.set $acc (v128.const f32x4 0 0 0 0))
          (local.set $x (i32.const 0))
          (loop $dot
            (local.set $acc (f32x4.relaxed_madd (v128.load (i32.add (local.get $q) (local.get $x)))
              (v128.load (i32.add (local.get $k) (local.get $x))) (local.get $acc)))
            (br_if $dot (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 16))) (local.get $hsb))))
          (local.set $sc (f32.mul (call $hsum (local.get $acc)) (local.get $scale)))
          (f32.store (i32.add (local.get $s) (i32.shl (local.get $j) (i32.const 2))) (local.get $sc))
          (local.set $mx (f32.max (local.get $mx) (local.get $sc)))
          (local.set $k (i32.add (local.get $k) (local.get $rowB)))
          (br_if $scores (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (local.get $S))))
        ;; pad the row to a multiple of 4 with −inf (exp gives 0 there)
        (local.set $end (call $decode_ws_bytes (local.get $S)))
        (block $padDone (loop $pad
          (br_if $padDone (i32.ge_u (i32.shl (local.get $j) (i32.const 2)) (local.get $end)))
          (f32.store (i32.add (local.get $s) (i32.shl (local.get $j) (i32.const 2))) (f32.const -inf))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $pad)))
        ;; p_j = exp(s_j − max), l = Σ p_j
        (local.set $mv (f32x4.splat (local.get $mx)))
        (local.set $l (v128.const f32x4 0 0 0 0))
        (local.set $x (i32.const 0))
        (loop $exps
          (local.set $e (call $exp4 (f32x4.sub (v128.load (i32.add (local.get $s) (local.get $x))) (local.get $mv))))
          (v128.store (i32.add (local.get $s) (local.get $x)) (local.get $e))
          (local.set $l (f32x4.add (local.get $l) (local.get $e)))
          (br_if $exps (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 16))) (local.get $end))))
        ;; out_i = (Σ_j p_j·v_j) / l
        (local.set $o (i32.add (local.get $out) (i32.shl
          (i32.add (i32.mul (local.get $i) (local.get $C)) (i32.mul (local.get $h) (local.get $HS))) (i32.const 2))))
        (local.set $x (i32.const 0))
        (loop $zero
          (v128.store (i32.add (local.get $o) (local.get $x)) (v128.const f32x4 0 0 0 0))
          (br_if $zero (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 16))) (local.get $hsb))))
        (local.set $k (i32.add (local.get $vc) (i32.shl (i32.mul (local.get $h) (local.get $HS)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (loop $values
          (local.set $pv (v128.load32_splat (i32.add (local.get $s) (i32.shl (local.get $j) (i32.const 2)))))
          (local.set $x (i32.const 0))
          (loop $axpy
            (v128.store (i32.add (local.get $o) (local.get $x))
              (f32x4.relaxed_madd (local.get $pv) (v128.load (i32.add (local.get $k) (local.get $x)))
                (v128.load (i32.add (local.get $o) (local.get $x)))))
            (br_if $axpy (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 16))) (local.get $hsb))))
          (local.set $k (i32.add (local.get $k) (local.get $rowB)))
          (br_if $values (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (local.get $S))))
        (local.set $inv (f32x4.splat (f32.div (f32.const 1) (call $hsum (local.get $l)))))
        (local.set $x (i32.const 0))
        (loop $normalise
          (v128.store (i32.add (local.get $o) (local.get $x))
            (f32x4.mul (v128.load (i32.add (local.get $o) (local.get $x))) (local.get $inv)))
          (br_if $normalise (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 16))) (local.get $hsb))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $queries)))
      (local.set $h (i32.add (local.get $h) (local.get $nt)))
      (br $heads)))))
