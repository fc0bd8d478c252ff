#!/usr/bin/env bash
# The README's demo command: on a fresh machine, installs what it needs (scripts/setup_env.sh), generates the
# demo corpus (data/demo, deterministic from DEMO_SEED) and runs the notebook pipeline headlessly with papermill
# into runs/demo/. Later notebooks join by adding one line to STEPS: "<notebook> <papermill -p arguments>".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_env.sh

DATA_ROOT="${DEMO_DATA_ROOT:-data/demo}"
RUNS="${DEMO_RUNS:-runs/demo}"
SEED="${DEMO_SEED:-0}"
ABS_DATA="$(pwd)/$DATA_ROOT"
ABS_RUNS="$(pwd)/$RUNS"

STEPS=(
  "01_data_prep -p task ks1 -p data_root $ABS_DATA -p output_dir $ABS_RUNS/01_data_prep -p build_demo False"
  "02_pretrain -p data_root $ABS_DATA -p run_dir $ABS_RUNS/pretrain -p feature_cache $ABS_RUNS/features"
  "03_finetune -p task ks1 -p data_root $ABS_DATA -p checkpoint $ABS_RUNS/pretrain/best -p run_dir $ABS_RUNS/finetune_ks1 -p feature_cache $ABS_RUNS/features"
  "04_reconstruction -p runs_dir $ABS_RUNS/pretrain -p clips_dir $ABS_DATA"
  "05_efficiency -p small_mode True"
)

echo "[demo] generating the demo corpus in $DATA_ROOT (seed $SEED)"
python -m ssamba_lab.data.demo --root "$DATA_ROOT" --seed "$SEED"

mkdir -p "$RUNS"
for step in "${STEPS[@]}"; do
  read -r name args <<<"$step"
  echo "[demo] papermill notebooks/$name.ipynb -> $RUNS/$name.ipynb"
  start=$(date +%s)
  # shellcheck disable=SC2086
  python -m papermill "notebooks/$name.ipynb" "$RUNS/$name.ipynb" --cwd notebooks --no-progress-bar $args
  echo "[demo]   done in $(( $(date +%s) - start )) s"
done

echo "[demo] outputs:"
echo "  demo corpus:        $ABS_DATA"
for step in "${STEPS[@]}"; do
  read -r name _ <<<"$step"
  echo "  executed notebook:  $ABS_RUNS/$name.ipynb"
  if [ -d "$ABS_RUNS/$name" ]; then echo "  $name outputs: $ABS_RUNS/$name/"; fi  # not `&&`: a step without
  # an output folder must not become the script's exit status
done
