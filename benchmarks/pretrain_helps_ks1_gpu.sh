#!/usr/bin/env bash
# Issue 4's pretraining-helps experiment on one GPU (small models leave a GPU mostly idle, so arms run in parallel).
# Usage: bash benchmarks/pretrain_helps_ks1_gpu.sh PLAN OUT_DIR [DATA_ROOT]
#   PLAN=sizes:  four model sizes / pretraining lengths side by side, each pretraining on the demo pool, then
#                fine-tuning ks1 on all labels from the checkpoint and from scratch (5 seeds, lr chosen per arm on
#                validation).
#   PLAN=labels: one pretraining (depth 8, width 192, 4500 steps), then ks1 fine-tuning with all 297 labeled
#                clips and with 48 (4 per class) side by side, same seeds / lr grid / selection.
#   PLAN=small:  the confirmatory run declared after 'sizes': depth 2, width 64, 8000 pretraining steps, then
#                all-label fine-tuning at lr 1e-3 and 3e-3 side by side (5 seeds each, both arms); the per-arm lr
#                is chosen on validation by benchmarks/summarize_pretrain_helps.py.
#   PLAN=recipe: the papers' protocol, declared after 'sizes'/'labels'/'small': both arms fine-tuned with the one
#                published ks1 lr (2.5e-4, the registry recipe's), 8 x 192 model, a new pretraining (seed 1,
#                3000 steps), new fine-tuning seeds 5-9 (two processes: seeds 5-7 and 8-9).
set -uo pipefail
plan=${1:?usage: pretrain_helps_ks1_gpu.sh sizes|labels|small|recipe OUT_DIR [DATA_ROOT]}
out=${2:?usage: pretrain_helps_ks1_gpu.sh sizes|labels|small|recipe OUT_DIR [DATA_ROOT]}
data=${3:-data/demo}
mkdir -p "$out"
common=(--data-root "$data" --out "$out" --seeds 0 1 2 3 4 --no-linear-probe --pretrain-batch 32
        --pretrain-warmup 200 --pretrain-eval-every 250 --finetune-steps 300 --finetune-batch 16 --threads 2)
run() {  # label, then extra args
  local label=$1; shift
  timeout "${PH_TIMEOUT:-570}" python benchmarks/pretrain_helps_ks1.py "${common[@]}" --label "$label" \
    --work-dir "runs/pretrain_helps_ks1_gpu/$label" "$@" > "$out/$label.log" 2>&1
  echo "$label exit $?" >> "$out/exit_codes.txt"
}
case $plan in
  sizes)
    run d2w64_8k  --depth 2  --width 64  --pretrain-steps 8000 --pretrain-lr 1e-3 --finetune-lr 1e-3 3e-3 &
    run d4w192_4k --depth 4  --width 192 --pretrain-steps 4000 --pretrain-lr 5e-4 --finetune-lr 1e-3 3e-3 &
    run d8w192_3k --depth 8  --width 192 --pretrain-steps 3000 --pretrain-lr 5e-4 --finetune-lr 3e-4 1e-3 &
    run d12w192_2k --depth 12 --width 192 --pretrain-steps 2000 --pretrain-lr 5e-4 --finetune-lr 3e-4 1e-3 &
    wait ;;
  labels)
    size=(--depth 8 --width 192 --finetune-lr 3e-4 1e-3)
    run d8w192_pretrain "${size[@]}" --pretrain-steps "${PH_PRETRAIN_STEPS:-4500}" --pretrain-lr 5e-4 --pretrain-only
    ckpt=runs/pretrain_helps_ks1_gpu/d8w192_pretrain/pretrain/best
    cp runs/pretrain_helps_ks1_gpu/d8w192_pretrain/pretrain/metrics.jsonl "$out/d8w192_pretrain_metrics.jsonl"
    run d8w192_labels_all "${size[@]}" --pretrained-checkpoint "$ckpt" &
    run d8w192_labels_48 "${size[@]}" --pretrained-checkpoint "$ckpt" --train-clips 48 &
    wait ;;
  small)
    size=(--depth 2 --width 64)
    run d2w64_pretrain "${size[@]}" --pretrain-steps 8000 --pretrain-lr 1e-3 --pretrain-only
    ckpt=runs/pretrain_helps_ks1_gpu/d2w64_pretrain/pretrain/best
    cp runs/pretrain_helps_ks1_gpu/d2w64_pretrain/pretrain/metrics.jsonl "$out/d2w64_pretrain_metrics.jsonl"
    PH_TIMEOUT=${PH_FT_TIMEOUT:-570} run d2w64_lr1e-3 "${size[@]}" --pretrained-checkpoint "$ckpt" --finetune-lr 1e-3 &
    PH_TIMEOUT=${PH_FT_TIMEOUT:-570} run d2w64_lr3e-3 "${size[@]}" --pretrained-checkpoint "$ckpt" --finetune-lr 3e-3 &
    wait ;;
  recipe)
    size=(--depth 8 --width 192)
    run d8w192_recipe_pretrain "${size[@]}" --pretrain-steps 3000 --pretrain-lr 5e-4 --pretrain-seed 1 --pretrain-only
    ckpt=runs/pretrain_helps_ks1_gpu/d8w192_recipe_pretrain/pretrain/best
    cp runs/pretrain_helps_ks1_gpu/d8w192_recipe_pretrain/pretrain/metrics.jsonl "$out/d8w192_recipe_pretrain_metrics.jsonl"
    PH_TIMEOUT=${PH_FT_TIMEOUT:-570} run d8w192_recipe_part1 "${size[@]}" --pretrained-checkpoint "$ckpt" \
      --finetune-lr 2.5e-4 --seeds 5 6 7 &
    PH_TIMEOUT=${PH_FT_TIMEOUT:-570} run d8w192_recipe_part2 "${size[@]}" --pretrained-checkpoint "$ckpt" \
      --finetune-lr 2.5e-4 --seeds 8 9 &
    wait ;;
  *) echo "unknown plan $plan (sizes | labels | small | recipe)"; exit 2 ;;
esac
cat "$out/exit_codes.txt"
