#!/usr/bin/env bash
# One device call for issue 8 (fits the 10-minute limit): GPU parity of every Triton scan variant, the seq-forward
# sweep (with the L1 prefetch / ftz exp2 options), then the issue's targets through notebook 05's harness with
# the sweep's fastest seq settings. Run from the repo root on the GPU machine, with .gpuwheels carried
# (../shared/gpu-wheels/README.md); everything lands in $OUT (or ./gpu_out).
set -uo pipefail
OUT="${OUT:-gpu_out}"; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/gpu-site .gpuwheels/*.whl \
  && export PYTHONPATH=/tmp/gpu-site:$PWD
nvidia-smi > "$OUT/nvidia_smi.txt" 2>&1
timeout 120 python3 -m pytest -q -x -p no:cacheprovider tests/ops/test_scan_triton.py -k seq \
  > "$OUT/pytest_seq.log" 2>&1; tail -n 2 "$OUT/pytest_seq.log"
timeout 260 python3 benchmarks/gpu_speed.py seqsweep --seq-only 0 2 3 --budget-s 0.2 --out-dir "$OUT" \
  > "$OUT/seqsweep.log" 2>&1; tail -n 4 "$OUT/seqsweep.log"
seq_from=(); [ -f "$OUT/gpu_speed_seqsweep.json" ] && seq_from=(--seq-from "$OUT/gpu_speed_seqsweep.json")
timeout 180 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _next "${seq_from[@]}" \
  --variants triton-seq triton-chunked mamba_ssm --repeats 10 --budget-s 1 > "$OUT/targets.log" 2>&1
tail -n 18 "$OUT/targets.log"
