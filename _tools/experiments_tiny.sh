#!/usr/bin/env bash
# The documented tiny-scale run of EXPERIMENTS.md: tiny RoPE models with and without meta-tokens,
# fine-tuned on List Recall and Parity at ≤ 128 tokens, evaluated at ≤ 128 / ≤ 256 / ≤ 512
# (and beyond), the meta model also with --zero-pos-at-meta. Usage: bash _tools/experiments_tiny.sh [RUN_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-runs/exp-tiny}
deno() { npx deno "$@"; }
deno task pretrain --pos rope --out "$R/meta"
deno task pretrain --pos rope --meta=false --out "$R/base"
for model in meta base; do
  for task in list_recall parity; do
    deno task finetune --checkpoint "$R/$model/checkpoint" --task "$task" --phases 1 --max-length 128 \
      --n 2000 --steps 100 --out "$R/$model-$task"
    deno task eval --checkpoint "$R/$model-$task/checkpoint" --task "$task" --phases 1,2,3 --n 30 \
      --out "$R/$model-$task/eval"
    if [ "$model" = meta ]; then
      deno task eval --checkpoint "$R/$model-$task/checkpoint" --task "$task" --phases 1,2,3 --n 30 \
        --zero-pos-at-meta --out "$R/$model-$task/eval-no-pos"
    fi
  done
done
