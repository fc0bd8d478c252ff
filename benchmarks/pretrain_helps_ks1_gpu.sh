#!/usr/bin/env bash
# Issue 4's pretraining-helps experiment on one GPU: four model sizes / pretraining lengths in parallel (small
# models leave a GPU mostly idle), each pretraining on the demo pool, then fine-tuning ks1 from the pretrained
# checkpoint and from scratch (5 seeds, fine-tuning lr chosen per arm on validation).
# Usage: bash benchmarks/pretrain_helps_ks1_gpu.sh OUT_DIR [DATA_ROOT]
set -uo pipefail
out=${1:?usage: pretrain_helps_ks1_gpu.sh OUT_DIR [DATA_ROOT]}
data=${2:-data/demo}
mkdir -p "$out"
common=(--data-root "$data" --out "$out" --seeds 0 1 2 3 4 --no-linear-probe --pretrain-batch 32
        --pretrain-warmup 200 --pretrain-eval-every 250 --finetune-steps 300 --finetune-batch 16 --threads 2)
run() {  # label, then extra args
  local label=$1; shift
  timeout "${PH_TIMEOUT:-570}" python benchmarks/pretrain_helps_ks1.py "${common[@]}" --label "$label" \
    --work-dir "runs/pretrain_helps_ks1_gpu/$label" "$@" > "$out/$label.log" 2>&1
  echo "$label exit $?" >> "$out/exit_codes.txt"
}
run d2w64_8k  --depth 2  --width 64  --pretrain-steps 8000 --pretrain-lr 1e-3 --finetune-lr 1e-3 3e-3 &
run d4w192_4k --depth 4  --width 192 --pretrain-steps 4000 --pretrain-lr 5e-4 --finetune-lr 1e-3 3e-3 &
run d8w192_3k --depth 8  --width 192 --pretrain-steps 3000 --pretrain-lr 5e-4 --finetune-lr 3e-4 1e-3 &
run d12w192_2k --depth 12 --width 192 --pretrain-steps 2000 --pretrain-lr 5e-4 --finetune-lr 3e-4 1e-3 &
wait
cat "$out/exit_codes.txt"
