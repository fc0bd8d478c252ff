#!/usr/bin/env bash
# Device calls for issue 8, each inside the 10-minute limit; run from the repo root on the GPU machine with
# .gpuwheels carried (../shared/gpu-wheels/README.md). Everything lands in $OUT (or ./gpu_out).
# The stages, as run on 2026-12-02 (benchmarks/results/GPU_SEQ_2026-12-02.md):
#   sweep:  GPU parity of every Triton scan variant, then the full seq-forward sweep (gpu_speed.py seqsweep)
#   quick:  the short sweep, issue 8's targets with its best settings, Nsight Compute on the seq forward
#   final:  GPU parity of the fast / vector variants, the short sweep, the targets, the models part (CUDA graphs)
#   lowmem: GPU parity of the one-direction-at-a-time path, the targets with the defaults
#   fused:  GPU parity of the fused dt_proj, tiny inference with and without it
# and the later ones (benchmarks/results/GPU_SEQ_BWD_2026-12-02.md):
#   bwd:    the seq backward: its sweep (with gradient parity against the chunked backward at full size), the
#           training targets, then GPU parity of the compiled-only variants
#   train:  after the two-part conv backward and the split-K projections: where the step time goes
#           (gpu_profile_steps.py), every target, GPU parity of the conv, mixer and seq-backward variants
#   close:  the final code: every target (eager), the inference targets as CUDA-graph replays (both models), the
#           training profile, whole-model backend parity, GPU pytest of the scan, graph and parity tests
# not run yet (for the next session):
#   ncubwd: Nsight Compute on the seq backward at 64 x 512 tokens (stalls, occupancy, L1 / L2 traffic of the scratch)
# and the session of 2026-12-02 evening:
#   probe:  ncubwd, then where the inference time goes (gpu_profile_steps.py, 512 and 22016 tokens)
#   graphs: after dt_proj's rank padding and GraphedTrainStep: GPU pytest of the graph, parity and mixer tests,
#           the training targets (eager), every target as CUDA-graph replays (both models), the seq backward
#           at other chunk sizes (gpu_speed.py bwdsweep --bwd-grid chunks)
#   train16: training with chunks of 16 and groups of 4 (the new default): GPU pytest of it, the training step
#           graphed with the previous setting (same call), every target eager and graphed, the chunk sweep at
#           e = 1536
#   tune:   the seq forward's segments at 4 x 512 (inference, graphed) and its warps per SM in training (graphed),
#           against the defaults in the same call (TUNE_INF, TUNE_TRAIN: other settings, none to skip; r14 ran
#           TUNE_INF="default seq_infer_chunk=16 seq_infer_chunk=8" TUNE_TRAIN=none, its files still tagged _r13;
#           TUNE_TAG sets the tag now)
# and the session of 2026-12-02 night:
#   fwd512: after the seq forward's fold loads each segment summary one fold ahead: GPU pytest of the segment
#           paths, Nsight Compute on the seq forward at 4 x 512 tokens (default chunk, then seq_infer_chunk=16),
#           then the tune stage's inference rows (TUNE_INF)
# and the session of 2026-12-03:
#   ahead:  the seq forward loading AHEAD steps ahead (seq_ahead): GPU pytest of the scan tests that use it,
#           Nsight Compute on the seq forward at 4 x 512 with the defaults, then the tune stage (run with
#           TUNE_INF="seq_ahead=1 seq_ahead=2 seq_ahead=4" TUNE_TRAIN="default seq_ahead=2")
#   kept:   seq_ahead 4 the default and the mixers' prepared weights kept in inference: GPU pytest of the tests
#           they touch, every target graphed (defaults), base inference and both trainings with seq_ahead=1, where
#           the 512-token inference time goes now (gpu_profile_steps.py)
#   both:   pass 1 of both directions in one launch, segment summaries state-major: GPU pytest (whole-model
#           parity first), every target eager and graphed (defaults), graphed tiny inference without the one-launch
#           pass 1 and with seq_infer_chunk=16, whole-model backend parity (never run: replaced by pair, and removed)
# and the session of 2026-12-03 afternoon:
#   pair:   passes 1 and 2 of both directions each in one launch (seq_pass1_both, seq_pass2_both): GPU pytest
#           (scan, parity, graph tests), every target graphed (defaults), tiny inference and training graphed
#           with seq_pass2_both=False and with both off, the 512-token inference profile (gpu_profile_steps.py)
#           (r18's pytest reached 9 tests in its 190 s, its graphed targets stopped before the 512-token and
#           training rows, so the next calls ran pair2 and pair512)
#   pair2:  GPU pytest of the new and whole-model tests only, the graphed tiny inference and both trainings
#           (defaults), the inference targets eager (memory), Nsight Compute at 4 x 512 (defaults) (its graphed
#           inference stopped after the 22k row, its pytest inside the whole-model parity test)
#   pair512: the graphed 512-token tiny inference with the defaults and with seq_pass2_both=False, then GPU
#           pytest of the whole-model parity and graph tests
# and the session of 2026-12-03 evening:
#   addnorm: the residual add + LayerNorm as one kernel (TritonScanConfig.fused_add_norm): GPU pytest of its tests,
#           every inference target graphed (defaults), the 512-token one unfused, both trainings graphed fused and
#           unfused, then GPU pytest of the whole-model parity and graph tests (r21: the pytest stopped inside the
#           whole-model parity test at its 150 s)
#   addnorm2: tiny inference graphed fused and unfused in one call (both lengths), tiny inference eager at 22k
#           (memory), the whole-model parity and graph tests alone, where the training step's time goes (r22: the
#           default 512-token row and the profile stopped at their timeouts; the parity test failed on mamba-ssm's
#           1.007e-4 against 1e-4, before it checked Triton)
#   addnorm3: the whole-model parity test (each backend checked), the graphed 512-token tiny inference fused and
#           unfused, where the training step's time goes
# and the session of 2026-12-03 night:
#   split:  threads a channel (seq_split in the seq forward, seq_bwd_split in the seq backward): GPU pytest of the
#           split tests, tiny inference graphed (both lengths) with 1, 2 and 4 threads a channel in the forward,
#           the tiny training step graphed with 1, 2 and 4 in the backward and with 2 in both; every log and table
#           goes into one tar file (a call brings back at most 8 files) (r24: the forward split slower at both
#           lengths; the default and backward-only training rows stopped at their 60 s, before SSAMBA's row)
#   split2: GPU pytest of the seq backward's split test, the seq backward alone with 1, 2 and 4 threads a channel
#           (gpu_speed.py bwdsweep --bwd-grid split, 64 x 512 at e = 384 and 1536), the tiny training step graphed
#           with the defaults and with seq_bwd_split=2
#           (split ran at commit 45c5868, split2 at 927190b; measured slower, the split was taken out again and
#           the two stages with it: results/GPU_SPLIT_2026-12-03.md)
#   onegroup: one group a chunk in the seq backward (no first recompute): GPU pytest of its test, the seq
#           backward alone for T/G 32/8 (default), 16/16, 8/8, 32/32, 16/4 (bwdsweep --bwd-grid onegroup, 64 x 512 at
#           e = 384 and 1536), the tiny training step graphed with the defaults and with seq_train_chunk=16
#           seq_bwd_group=16; one tar file (r26: the sweep stopped at its 190 s after 32/8 and 16/16, compiling)
set -uo pipefail
# and the session of 2026-12-04, early morning (results/GPU_CONV_2026-12-04.md):
#   mixerin: conv + x_proj + dt_proj as one launch in inference (fused_mixer_in): GPU pytest of the mixer tests,
#           tiny inference graphed at 512 and 22016 tokens with and without it, where the 512-token time goes
#           (r27 at 9d4b81a: slower at both lengths, taken out again; results/GPU_CONV_2026-12-04.md)
#   convseq: the bidirectional conv a thread a channel (conv_seq): GPU pytest of the conv and mixer tests, the tiny
#           training step graphed with and without it (r28 also: tiny inference at both lengths, for the forward of
#           this shape, since taken out), then (RTAG other than r28) the base training step graphed and where the
#           tiny training step's time goes
#   final4: after the seq conv backward and prepare_mixer's single cat: GPU pytest (scan tests of the conv and mixer,
#           the compile test, whole-model parity, the CUDA-graph tests), every target graphed (both models), where
#           the tiny training step's time goes
#   onecat: x_proj padded in front (no row reorder) and prepare_mixer's single cat: the tiny training step graphed
#           with prepare_one_cat on and off, then the fused-mixer parity test with the CUDA variants
# and the session of 2026-12-04, morning:
#   hist:   the seq backward in two launches (seq_bwd_hist: every step's state, then the adjoint): the tiny training
#           step graphed with the defaults, with it (register cap 168, the default cap) and with it uncapped, where
#           that step's time goes with it, then GPU pytest of its tests and of the whole-model parity and graph tests
#           (HIST_SETS: other settings to time instead of the two with it; HIST_BASE: settings of the base training
#           step to time; HIST_K, HIST_PYTEST_S: the pytest selection and its time limit)
#   hist2:  with it the default: GPU pytest of the whole-model parity and CUDA-graph tests and of bf16 states first,
#           then the tiny training step graphed with the defaults and with bf16 states (seq_bwd_hist_bf16)
# and the session of 2026-12-04, late morning:
#   hist3:  Nsight Compute on both kernels of the two-launch seq backward (64 x 512, e = 384, bf16 states), the tiny
#           training step graphed (defaults), the base one with the defaults (one launch: its 3 GiB of bf16 states
#           are over the limit) and with seq_bwd_hist_mb=4096 (two launches), where the tiny step's time goes
#   hist4:  after the state kernel's vector loads of the chunk states and dz's halves summed straight into its dtype:
#           the tiny training step graphed (defaults), the base one with the defaults (two launches now) and with the
#           adjoint capped at HIST4_NREG registers (default 144: 14 warps a SM), where the tiny step's time goes, then
#           GPU pytest of the two-launch variants, bf16 states and whole-model parity (r37 at c2c0f90: neither change
#           measured faster, both taken out again; results/GPU_HIST_2026-12-04.md)
#   final5: every target graphed (both models, the code as committed), then GPU pytest of the seq backward's tests
#           (two launches, bf16 states, the CUDA two-launch variant of the parity tests) with a longer limit
#   ysum:   the forward keeps (y_0 + y_1) / 2 for dz (seq_bwd_ysum): the tiny training step graphed with it (the
#           default) and without, then GPU pytest of its test and of whole-model parity
# and the session of 2026-12-04, afternoon:
#   cpt:    two channels a thread in the seq forward (seq_channels_per_thread=2): GPU pytest of its test, then tiny
#           inference graphed at 22016 and 512 tokens with the defaults and CPT_SETS (commas join fields)
#           (r41 at 2c131cc + the option: slower at both lengths, taken out again; results/GPU_HIST_2026-12-04.md)
#   final6: every target graphed (both models; base training with seq_bwd_ysum for the first time), then GPU
#           pytest of whole-model backend parity with a long limit (each earlier call ran out of time inside it)
# and the session of 2026-12-04, evening:
#   waves:  the seq forward's segment count against the waves it leaves: WAVES_ROWS graphed rows, each
#           KIND:SIZE:TOKENS:LIMIT_S:SET (KIND inference or train_step; SET "default" or fields joined by commas),
#           by default tiny and base inference at 22016 tokens with the automatic count and whole-wave counts
#           (r49; r50 ran the training and 512-token rows: see results/GPU_HIST_2026-12-04.md)
#   final7: with the whole-wave segment count the default: every target graphed, then GPU pytest of the
#           segment-count rule, the seq forward's segment paths and whole-model backend parity
# and the session of 2026-12-04, night:
#   evpdl:  every-other-step states in the seq backward (seq_bwd_hist_every=2) and programmatic dependent launch
#           (pdl): graphed rows of the tiny training step and the 512-token tiny inference with each against the
#           defaults, then GPU pytest of their tests (r55, at 22e9c6d: neither faster, both taken out again with
#           this stage; results/GPU_HIST_2026-12-04.md, night section)
# and the session of 2026-12-04, late night (r63-r66): no stage; `source benchmarks/gpu_issue8_run.sh none` (a stage
#   name it does not know: the wheels and the helpers only), then any_row per row (results/GPU_HIST_2026-12-04.md)
#   cpt2:   (for the next session) two channels a thread in the seq forward (seq_channels_per_thread=2, the rows
#           handed out by shuffles; untimed when written): GPU pytest of its bit-identity test, then graphed rows of
#           tiny inference at 22016 and 512 tokens and tiny training, each with the defaults and with it (~560 s
#           in all; CPT2_ROWS: other rows, KIND:SIZE:TOKENS:LIMIT_S:SET as in waves, e.g. base in a second call)
# and the last session of 2026-12-04 (no device lent; written for the next one):
#   hvec:   the seq backward's states 8 a channel side by side (seq_bwd_hist_vec, vector stores and loads), its
#           state kernel two steps a loop trip (seq_hist_unroll=2) and two channels a thread
#           (seq_hist_channels_per_thread=2), and the seq conv backward four steps a loop trip (conv_seq_unroll=4),
#           all untimed when written: GPU pytest of their tests (bit-identical gradients, float32 and bf16; the
#           conv loop's carried windows), then graphed tiny training rows with the defaults and with the four added
#           one at a time (~530 s; HVEC_ROWS: other rows, e.g. conv_seq_unroll=8 or base in a second call)
# and the session of 2026-12-05 (no device lent; written for the next one):
#   fwdhist: the training forward stores every step's state for the backward, so no state kernel runs
#           (seq_fwd_hist, untimed when written): GPU pytest of its test (bit-identical buffer and gradients, float32
#           and bf16), then graphed training rows, tiny and base, with the defaults and with it (register cap 168
#           and, tiny, the compiler's choice); ~500 s (FWDHIST_ROWS: other rows). Graphed rows do not measure
#           memory; by arithmetic it holds 19 GB more for tiny, 77 GB for base (bf16 states, every layer's)
stage="${1:?usage: gpu_issue8_run.sh sweep|quick|final|lowmem|fused|bwd|train|close|ncubwd|probe|graphs|train16|tune|fwd512|ahead|kept|pair|pair2|pair512|addnorm|addnorm2|addnorm3|onegroup|mixerin|convseq|final4|onecat|hist|hist2|hist3|hist4|final5|ysum|cpt|final6|waves|final7|cpt2|hvec|fwdhist}"
OUT="${OUT:-gpu_out}"; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
[ -d /tmp/gpu-site/mamba_ssm ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/gpu-site .gpuwheels/*.whl
export PYTHONPATH=/tmp/gpu-site:$PWD
nvidia-smi > "$OUT/nvidia_smi.txt" 2>&1
# Nsight Compute on the seq forward at 4 x 512 tokens: ncu_fwd512 TIMEOUT_S LAUNCHES FILE [ncu_seq.py options]
# (the first LAUNCHES launches compile; the next LAUNCHES are profiled)
ncu_fwd512() {
  local limit=$1 n=$2 file=$3; shift 3
  local ncu_bin; ncu_bin="$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)"
  timeout "$limit" "$ncu_bin" --clock-control none --kernel-name regex:scan_seq_fwd --launch-skip "$n" \
    --launch-count "$n" --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats \
    --section SourceCounters --section MemoryWorkloadAnalysis \
    python3 benchmarks/ncu_seq.py --batch 4 --tokens 512 "$@" > "$file" 2>&1
  grep -E "Duration|Registers Per|Achieved Occupancy|Warp Cycles Per Issued" "$file" | head -16
}
# one graphed training-step row of gpu_targets.py into $OUT/R: train_row R SIZE LIMIT_S NAME SET ("default": no
# --set; commas separate several fields), logged as NAME_SET.log and tagged _R_NAME_SET; the tar file refreshed
train_row() {
  local R=$1 size=$2 limit=$3 name=$4 set=$5
  timeout "$limit" python3 benchmarks/gpu_targets.py --out-dir "$OUT/$R" --tag "_${R}_${name}_${set//[=,]/}" \
    --variants triton-seq --sizes "$size" --kinds train_step --cuda-graph \
    $([ "$set" = default ] || echo --set ${set//,/ }) --repeats 10 --budget-s 1 > "$OUT/$R/${name}_$set.log" 2>&1; grep "tok |" "$OUT/$R/${name}_$set.log"
  tar -C "$OUT" -czf "$OUT/$R.tgz" "$R"
}
# one graphed row of any target: any_row R KIND SIZE TOKENS LIMIT_S SET (as train_row), logged as
# KIND_SIZE_TOKENS_SET.log
any_row() {
  local R=$1 kind=$2 size=$3 tok=$4 limit=$5 set=$6
  local name="${kind}_${size}_${tok}_${set//[=,]/}"
  timeout "$limit" python3 benchmarks/gpu_targets.py --out-dir "$OUT/$R" --tag "_${R}_${name}" \
    --variants triton-seq --sizes "$size" --kinds "$kind" --tokens "$tok" --cuda-graph \
    $([ "$set" = default ] || echo --set ${set//,/ }) --repeats 20 --budget-s 1 > "$OUT/$R/$name.log" 2>&1
  echo "$set: $(grep "tok |" "$OUT/$R/$name.log" || tail -n 2 "$OUT/$R/$name.log")"; tar -C "$OUT" -czf "$OUT/$R.tgz" "$R"
}
# one graphed tiny-inference row: inf_row R TOKENS LIMIT_S SET (the cpt stage's; any_row's files since
# 2026-12-04 evening: r41 named them infTOKENS_SET)
inf_row() { any_row "$1" inference tiny "$2" "$3" "$4"; }
# every target graphed (both models, the defaults) into $OUT/R: every_target_graphed R
every_target_graphed() {
  local R=$1
  timeout 110 python3 benchmarks/gpu_targets.py --out-dir "$OUT/$R" --tag "_${R}_inf_graph" --variants triton-seq \
    --kinds inference --cuda-graph --repeats 10 --budget-s 1 > "$OUT/$R/inf_graph.log" 2>&1; grep "tok |" "$OUT/$R/inf_graph.log"
  tar -C "$OUT" -czf "$OUT/$R.tgz" "$R"
  timeout 130 python3 benchmarks/gpu_targets.py --out-dir "$OUT/$R" --tag "_${R}_train_graph" --variants triton-seq \
    --sizes tiny base --kinds train_step --cuda-graph --repeats 10 --budget-s 1 > "$OUT/$R/train_graph.log" 2>&1
  grep "tok |" "$OUT/$R/train_graph.log"; tar -C "$OUT" -czf "$OUT/$R.tgz" "$R"
}
if [ "$stage" = sweep ]; then
  timeout 200 python3 -m pytest -q -p no:cacheprovider tests/ops/test_scan_triton.py > "$OUT/pytest_triton.log" 2>&1
  tail -n 3 "$OUT/pytest_triton.log"
  timeout 330 python3 benchmarks/gpu_speed.py seqsweep --seq-only 0 3 2 --budget-s 0.15 --out-dir "$OUT" \
    > "$OUT/seqsweep.log" 2>&1; tail -n 4 "$OUT/seqsweep.log"
elif [ "$stage" = quick ]; then
  # the short sweep (fewest unrolled steps), the targets with its best settings, then Nsight Compute
  timeout 150 python3 benchmarks/gpu_speed.py seqsweep --seq-grid quick --seq-only 0 3 2 --budget-s 0.15 \
    --out-dir "$OUT" > "$OUT/seqsweep.log" 2>&1; tail -n 4 "$OUT/seqsweep.log"
  timeout 270 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r2 --seq-from "$OUT/gpu_speed_seqsweep.json" \
    --variants triton-seq mamba_ssm --repeats 10 --budget-s 1 > "$OUT/targets.log" 2>&1
  tail -n 14 "$OUT/targets.log"
  ncu_bin="$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)"
  timeout 90 "$ncu_bin" --clock-control none --kernel-name regex:scan_seq_fwd --launch-skip 4 --launch-count 4 \
    --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats --section SourceCounters \
    python3 benchmarks/ncu_seq.py --set seq_vec_bc=False seq_bc_f32=True seq_warps_per_sm=32 > "$OUT/ncu_seq.txt" 2>&1
  grep -E "Duration|Registers Per|Achieved Occupancy|Warp Cycles Per Issued|Issued Ipc" "$OUT/ncu_seq.txt" | head -20
elif [ "$stage" = final ]; then
  # GPU parity of the fast / vector / float32 variants, the short sweep, the targets, then the models part
  # (which times CUDA-graph replays at 512 tokens)
  timeout 150 python3 -m pytest -q -p no:cacheprovider tests/ops/test_scan_triton.py -k "fast or bcf32 or state16" \
    > "$OUT/pytest_triton.log" 2>&1; tail -n 2 "$OUT/pytest_triton.log"
  timeout 120 python3 benchmarks/gpu_speed.py seqsweep --seq-grid quick --seq-only 0 3 2 --budget-s 0.15 \
    --out-dir "$OUT" > "$OUT/seqsweep.log" 2>&1; tail -n 4 "$OUT/seqsweep.log"
  timeout 150 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r3 --seq-from "$OUT/gpu_speed_seqsweep.json" \
    --variants triton-seq mamba_ssm --repeats 10 --budget-s 1 > "$OUT/targets.log" 2>&1
  tail -n 14 "$OUT/targets.log"
  timeout 90 python3 benchmarks/gpu_speed.py models --sizes tiny --backends triton --budget-s 0.5 --out-dir "$OUT" \
    > "$OUT/models.log" 2>&1; tail -n 12 "$OUT/models.log"
elif [ "$stage" = lowmem ]; then
  # GPU parity of the one-direction-at-a-time inference path and the vector variants, then the targets with the
  # defaults (the seq forward, its r3 settings, low-memory inference at >= 32768 tokens)
  timeout 110 python3 -m pytest -q -p no:cacheprovider tests/ops/test_scan_triton.py \
    -k "one_direction or (state16 and fast)" > "$OUT/pytest_triton.log" 2>&1; tail -n 2 "$OUT/pytest_triton.log"
  timeout 170 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r4 --variants triton-seq --repeats 10 \
    --budget-s 1 > "$OUT/targets.log" 2>&1
  tail -n 9 "$OUT/targets.log"
elif [ "$stage" = fused ]; then
  # GPU parity of the fused dt_proj (bf16, vector loads) and the vector B / C variants, then tiny inference with
  # and without it
  timeout 100 python3 -m pytest -q -p no:cacheprovider tests/ops/test_scan_triton.py \
    -k "one_direction or (state16 and fast)" > "$OUT/pytest_triton.log" 2>&1; tail -n 2 "$OUT/pytest_triton.log"
  for fuse in True False; do
    timeout 60 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag "_r5_fuse$fuse" --variants triton-seq \
      --sizes tiny --kinds inference --set seq_fuse_dt=$fuse --repeats 10 --budget-s 1 > "$OUT/targets_fuse$fuse.log" 2>&1
    tail -n 4 "$OUT/targets_fuse$fuse.log"
  done
elif [ "$stage" = bwd ]; then
  timeout 200 python3 benchmarks/gpu_speed.py bwdsweep --seq-only 0 2 --budget-s 0.3 --out-dir "$OUT" --tag _r6 \
    > "$OUT/bwdsweep.log" 2>&1; tail -n 16 "$OUT/bwdsweep.log"
  timeout 200 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r6 --variants triton-seq mamba_ssm \
    --kinds train_step --repeats 10 --budget-s 1 > "$OUT/targets.log" 2>&1
  tail -n 7 "$OUT/targets.log"
  timeout 150 python3 -m pytest -q -p no:cacheprovider tests/ops/test_scan_triton.py \
    -k "bfly or chunked-bwd or seq_backward" > "$OUT/pytest_triton.log" 2>&1; tail -n 3 "$OUT/pytest_triton.log"
elif [ "$stage" = train ]; then
  timeout 150 python3 benchmarks/gpu_profile_steps.py --out-dir "$OUT" --tag _r8 --cases 0 1 2 3 > "$OUT/profile.log" 2>&1
  head -n 4 "$OUT/profile.log"
  timeout 240 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r8 --variants triton-seq --repeats 10 \
    --budget-s 1 > "$OUT/targets.log" 2>&1
  tail -n 9 "$OUT/targets.log"
  timeout 120 python3 -m pytest -q -p no:cacheprovider tests/ops/test_scan_triton.py \
    -k "conv or dir_linear or (fused_mixer and (bfly or chunked-bwd)) or (bidirectional_scan_matches and bfly)" \
    > "$OUT/pytest_triton.log" 2>&1; tail -n 3 "$OUT/pytest_triton.log"
elif [ "$stage" = close ]; then
  timeout 150 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r9 --variants triton-seq --repeats 10 \
    --budget-s 1 > "$OUT/targets.log" 2>&1; tail -n 7 "$OUT/targets.log"
  timeout 90 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r9_graph --variants triton-seq --sizes tiny \
    --kinds inference --cuda-graph --repeats 10 --budget-s 1 > "$OUT/targets_graph.log" 2>&1
  tail -n 4 "$OUT/targets_graph.log"
  timeout 90 python3 benchmarks/gpu_profile_steps.py --out-dir "$OUT" --tag _r9 --cases 0 1 > "$OUT/profile.log" 2>&1
  grep -E "wall|conv_bidir|scan_seq" "$OUT/gpu_profile_steps_r9.md" | head -8
  timeout 90 python3 benchmarks/gpu_backend_parity.py --out "$OUT/gpu_backend_parity_h200.json" > "$OUT/parity.log" 2>&1
  tail -n 4 "$OUT/parity.log"
  timeout 60 python3 -m pytest -q -p no:cacheprovider tests/ops/test_gpu_parity.py tests/models/test_graphed.py \
    > "$OUT/pytest_gpu_parity.log" 2>&1; tail -n 2 "$OUT/pytest_gpu_parity.log"
  timeout 200 python3 -m pytest -q -p no:cacheprovider tests/ops/test_scan_triton.py > "$OUT/pytest_triton.log" 2>&1
  tail -n 3 "$OUT/pytest_triton.log"
elif [ "$stage" = ncubwd ] || [ "$stage" = probe ]; then
  ncu_bin="$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)"
  timeout 240 "$ncu_bin" --clock-control none --kernel-name regex:scan_seq_bwd --launch-skip 1 --launch-count 1 \
    --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats \
    --section SourceCounters --section MemoryWorkloadAnalysis \
    python3 benchmarks/ncu_seq.py --batch 64 --tokens 512 --backward > "$OUT/ncu_seq_bwd.txt" 2>&1
  grep -E "Duration|Registers Per|Achieved Occupancy|Warp Cycles Per Issued|Issued Ipc|L1/TEX Hit|L2 Hit" \
    "$OUT/ncu_seq_bwd.txt" | head -20
fi
if [ "$stage" = probe ]; then
  timeout 150 python3 benchmarks/gpu_profile_steps.py --out-dir "$OUT" --tag _r10 --cases 2 3 4 > "$OUT/profile.log" 2>&1
  grep -E "^## |wall" "$OUT/gpu_profile_steps_r10.md" | head -12
fi
if [ "$stage" = graphs ]; then
  timeout 90 python3 -m pytest -q -p no:cacheprovider tests/models/test_graphed.py tests/ops/test_gpu_parity.py \
    tests/ops/test_scan_triton.py -k "graphed or parity or mixer or dir_linear" > "$OUT/pytest_gpu.log" 2>&1
  tail -n 3 "$OUT/pytest_gpu.log"
  timeout 120 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r11 --variants triton-seq --kinds train_step \
    --repeats 10 --budget-s 1 > "$OUT/targets.log" 2>&1; tail -n 4 "$OUT/targets.log"
  timeout 200 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r11_graph --variants triton-seq --cuda-graph \
    --repeats 10 --budget-s 1 > "$OUT/targets_graph.log" 2>&1; tail -n 8 "$OUT/targets_graph.log"
  timeout 100 python3 benchmarks/gpu_speed.py bwdsweep --bwd-grid chunks --seq-only 0 --no-mamba --budget-s 0.3 \
    --out-dir "$OUT" --tag _r11 > "$OUT/bwdsweep.log" 2>&1; tail -n 6 "$OUT/bwdsweep.log"
fi
if [ "$stage" = train16 ]; then
  timeout 70 python3 -m pytest -q -p no:cacheprovider tests/ops/test_scan_triton.py tests/models/test_graphed.py \
    -k "seq_train_chunk or fused_mixer or train" > "$OUT/pytest_gpu.log" 2>&1; tail -n 2 "$OUT/pytest_gpu.log"
  timeout 80 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r12_graph_T32G8 --variants triton-seq \
    --kinds train_step --cuda-graph --set seq_train_chunk=0 seq_bwd_group=8 --repeats 10 --budget-s 1 \
    > "$OUT/targets_old.log" 2>&1; tail -n 3 "$OUT/targets_old.log"
  timeout 130 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r12 --variants triton-seq --repeats 10 \
    --budget-s 1 > "$OUT/targets.log" 2>&1; tail -n 6 "$OUT/targets.log"
  timeout 100 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r12_graph --variants triton-seq --cuda-graph \
    --repeats 10 --budget-s 1 > "$OUT/targets_graph.log" 2>&1; tail -n 6 "$OUT/targets_graph.log"
  timeout 90 python3 benchmarks/gpu_speed.py bwdsweep --bwd-grid chunks --seq-only 2 --no-mamba --budget-s 0.3 \
    --out-dir "$OUT" --tag _r12 > "$OUT/bwdsweep.log" 2>&1; tail -n 5 "$OUT/bwdsweep.log"
fi
if [ "$stage" = fwd512 ]; then
  timeout 100 python3 -m pytest -q -p no:cacheprovider tests/ops/test_scan_triton.py \
    -k "3segments or seq_infer_chunk or one_direction" > "$OUT/pytest_gpu.log" 2>&1; tail -n 2 "$OUT/pytest_gpu.log"
  for set in default seq_infer_chunk=16; do
    ncu_fwd512 100 4 "$OUT/ncu_seq_fwd512_${set/=/}.txt" $([ $set = default ] || echo --set $set)
  done
  stage=tune
fi
if [ "$stage" = ahead ]; then
  timeout 150 python3 -m pytest -q -p no:cacheprovider tests/ops/test_scan_triton.py \
    -k "ahead or one_direction or 3segments" > "$OUT/pytest_gpu.log" 2>&1; tail -n 2 "$OUT/pytest_gpu.log"
  ncu_fwd512 90 4 "$OUT/ncu_seq_fwd512_default.txt"  # 4 launches a call then (pass 1 was not paired yet)
  stage=tune
fi
if [ "$stage" = kept ]; then
  timeout 200 python3 -m pytest -q -p no:cacheprovider tests/models/test_graphed.py tests/ops/test_scan_triton.py \
    -k "replays or keeps_prepared or fused_mixer or ahead or one_direction" > "$OUT/pytest_gpu.log" 2>&1
  tail -n 2 "$OUT/pytest_gpu.log"
  for set in default seq_ahead=1; do
    sizes="tiny base"; [ $set = default ] || sizes=base
    timeout 90 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag "_r17_inf_${set/=/}" --variants triton-seq \
      --sizes $sizes --kinds inference --cuda-graph $([ $set = default ] || echo --set $set) --repeats 10 \
      --budget-s 1 > "$OUT/inf_$set.log" 2>&1; grep "tok |" "$OUT/inf_$set.log"
    timeout 80 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag "_r17_train_${set/=/}" --variants triton-seq \
      --sizes tiny base --kinds train_step --cuda-graph $([ $set = default ] || echo --set $set) --repeats 10 \
      --budget-s 1 > "$OUT/train_$set.log" 2>&1; grep "tok |" "$OUT/train_$set.log"
  done
  timeout 60 python3 benchmarks/gpu_profile_steps.py --out-dir "$OUT" --tag _r17 --cases 2 > "$OUT/profile.log" 2>&1
  head -n 8 "$OUT"/gpu_profile_steps_r17.md
fi
if [ "$stage" = tune ]; then
  for set in ${TUNE_INF:-default segments=4 segments=8}; do
    [ "$set" = none ] && continue
    timeout 70 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag "${TUNE_TAG:-_r13}_inf_${set/=/}" --variants triton-seq \
      --sizes tiny --kinds inference --cuda-graph $([ $set = default ] || echo --set $set) --repeats 10 \
      --budget-s 1 > "$OUT/inf_$set.log" 2>&1; grep "512 tok" "$OUT/inf_$set.log" | tail -n 1
  done
  for set in ${TUNE_TRAIN:-default seq_warps_per_sm=12 seq_warps_per_sm=8}; do
    [ "$set" = none ] && continue
    timeout 60 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag "${TUNE_TAG:-_r13}_train_${set/=/}" --variants triton-seq \
      --sizes tiny --kinds train_step --cuda-graph $([ $set = default ] || echo --set $set) --repeats 10 \
      --budget-s 1 > "$OUT/train_$set.log" 2>&1; grep "train_step" "$OUT/train_$set.log" | tail -n 1
  done
fi
if [ "$stage" = pair ]; then
  timeout 190 python3 -m pytest -v -p no:cacheprovider tests/ops/test_scan_triton.py tests/ops/test_gpu_parity.py \
    tests/models/test_graphed.py -k "both_directions or parity or replays or keeps_prepared or fused_mixer \
    or one_direction or ahead" > "$OUT/pytest_gpu.log" 2>&1
  grep -cE "PASSED" "$OUT/pytest_gpu.log"; grep -E "FAILED|ERROR|passed|failed" "$OUT/pytest_gpu.log" | tail -n 5
  timeout 90 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r18_graph --variants triton-seq --cuda-graph \
    --repeats 10 --budget-s 1 > "$OUT/targets_graph.log" 2>&1; grep "tok |" "$OUT/targets_graph.log"
  for set in seq_pass2_both=False "seq_pass2_both=False seq_pass1_both=False"; do
    tag=$(echo "$set" | tr -d '= ')
    timeout 45 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag "_r18_inf_$tag" --variants triton-seq \
      --sizes tiny --kinds inference --cuda-graph --set $set --repeats 10 --budget-s 1 > "$OUT/inf_$tag.log" 2>&1
    grep "tok |" "$OUT/inf_$tag.log"
    timeout 50 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag "_r18_train_$tag" --variants triton-seq \
      --sizes tiny --kinds train_step --cuda-graph --set $set --repeats 10 --budget-s 1 > "$OUT/train_$tag.log" 2>&1
    grep "tok |" "$OUT/train_$tag.log"
  done
  timeout 60 python3 benchmarks/gpu_profile_steps.py --out-dir "$OUT" --tag _r18 --cases 2 > "$OUT/profile.log" 2>&1
  head -n 14 "$OUT"/gpu_profile_steps_r18.md
fi
if [ "$stage" = pair2 ]; then
  timeout 150 python3 -m pytest -v -p no:cacheprovider tests/ops/test_scan_triton.py tests/ops/test_gpu_parity.py \
    tests/models/test_graphed.py -k "both_directions or cuda_backends or replays or keeps_prepared" \
    > "$OUT/pytest_gpu.log" 2>&1
  grep -cE "PASSED" "$OUT/pytest_gpu.log"; grep -E "FAILED|ERROR|passed|failed" "$OUT/pytest_gpu.log" | tail -n 5
  timeout 50 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r19_inf_graph --variants triton-seq \
    --sizes tiny --kinds inference --cuda-graph --repeats 10 --budget-s 1 > "$OUT/inf_graph.log" 2>&1
  grep "tok |" "$OUT/inf_graph.log"
  timeout 100 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r19_train_graph --variants triton-seq \
    --sizes tiny base --kinds train_step --cuda-graph --repeats 10 --budget-s 1 > "$OUT/train_graph.log" 2>&1
  grep "tok |" "$OUT/train_graph.log"
  timeout 110 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r19_inf_eager --variants triton-seq \
    --kinds inference --repeats 10 --budget-s 1 > "$OUT/inf_eager.log" 2>&1; grep "tok |" "$OUT/inf_eager.log"
  ncu_fwd512 80 2 "$OUT/ncu_seq_fwd512_pair.txt"  # 2 launches a call: pass 1, pass 2, each of both directions
fi
if [ "$stage" = pair512 ]; then
  for set in default seq_pass2_both=False; do
    timeout 50 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag "_r20_inf512_${set/=/}" --variants triton-seq \
      --sizes tiny --kinds inference --tokens 512 --cuda-graph $([ $set = default ] || echo --set $set) \
      --repeats 20 --budget-s 1 > "$OUT/inf512_$set.log" 2>&1; grep "tok |" "$OUT/inf512_$set.log"
  done
  timeout 200 python3 -m pytest -v -p no:cacheprovider tests/ops/test_gpu_parity.py tests/models/test_graphed.py \
    -k "cuda_backends or replays" > "$OUT/pytest_gpu.log" 2>&1
  grep -cE "PASSED" "$OUT/pytest_gpu.log"; grep -E "FAILED|ERROR|passed|failed" "$OUT/pytest_gpu.log" | tail -n 5
fi
if [ "$stage" = addnorm ]; then
  timeout 60 python3 -m pytest -q -p no:cacheprovider tests/ops/test_add_norm_triton.py > "$OUT/pytest_add_norm.log" 2>&1
  tail -n 2 "$OUT/pytest_add_norm.log"
  timeout 100 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r21_inf_graph --variants triton-seq \
    --kinds inference --cuda-graph --repeats 10 --budget-s 1 > "$OUT/inf_graph.log" 2>&1; grep "tok |" "$OUT/inf_graph.log"
  timeout 50 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r21_inf512_unfused --variants triton-seq \
    --sizes tiny --kinds inference --tokens 512 --cuda-graph --set fused_add_norm=False --repeats 20 --budget-s 1 \
    > "$OUT/inf512_unfused.log" 2>&1; grep "tok |" "$OUT/inf512_unfused.log"
  for set in default fused_add_norm=False; do
    timeout 100 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag "_r21_train_${set/=/}" --variants triton-seq \
      --sizes tiny base --kinds train_step --cuda-graph $([ $set = default ] || echo --set $set) --repeats 10 \
      --budget-s 1 > "$OUT/train_$set.log" 2>&1; grep "tok |" "$OUT/train_$set.log"
  done
  timeout 150 python3 -m pytest -v -p no:cacheprovider tests/ops/test_gpu_parity.py tests/models/test_graphed.py \
    -k "cuda_backends or replays" > "$OUT/pytest_gpu.log" 2>&1
  grep -cE "PASSED" "$OUT/pytest_gpu.log"; grep -E "FAILED|ERROR|passed|failed" "$OUT/pytest_gpu.log" | tail -n 5
fi
if [ "$stage" = addnorm2 ]; then
  for set in default fused_add_norm=False; do
    timeout 70 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag "_r22_inf_graph_${set/=/}" --variants triton-seq \
      --sizes tiny --kinds inference --cuda-graph $([ $set = default ] || echo --set $set) --repeats 10 --budget-s 1 \
      > "$OUT/inf_graph_$set.log" 2>&1; grep "tok |" "$OUT/inf_graph_$set.log"
  done
  timeout 60 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag _r22_inf_eager --variants triton-seq \
    --sizes tiny --kinds inference --tokens 22016 --repeats 10 --budget-s 1 > "$OUT/inf_eager.log" 2>&1
  grep "tok |" "$OUT/inf_eager.log"
  timeout 220 python3 -m pytest -v -p no:cacheprovider tests/ops/test_gpu_parity.py tests/models/test_graphed.py \
    -k "cuda_backends or replays" > "$OUT/pytest_gpu.log" 2>&1
  grep -cE "PASSED" "$OUT/pytest_gpu.log"; grep -E "FAILED|ERROR|passed|failed" "$OUT/pytest_gpu.log" | tail -n 5
  timeout 80 python3 benchmarks/gpu_profile_steps.py --out-dir "$OUT" --tag _r22 --cases 0 > "$OUT/profile.log" 2>&1
  head -n 24 "$OUT"/gpu_profile_steps_r22.md
fi
if [ "$stage" = addnorm3 ]; then
  timeout 200 python3 -m pytest -v -rP -p no:cacheprovider tests/ops/test_gpu_parity.py -k cuda_backends \
    > "$OUT/pytest_gpu.log" 2>&1
  grep -E "ParityResult|PASSED|FAILED|passed|failed" "$OUT/pytest_gpu.log" | tail -n 6
  for set in default fused_add_norm=False; do
    timeout 50 python3 benchmarks/gpu_targets.py --out-dir "$OUT" --tag "_r23_inf512_${set/=/}" --variants triton-seq \
      --sizes tiny --kinds inference --tokens 512 --cuda-graph $([ $set = default ] || echo --set $set) \
      --repeats 20 --budget-s 1 > "$OUT/inf512_$set.log" 2>&1; grep "tok |" "$OUT/inf512_$set.log"
  done
  timeout 150 python3 benchmarks/gpu_profile_steps.py --out-dir "$OUT" --tag _r23 --cases 0 > "$OUT/profile.log" 2>&1
  head -n 24 "$OUT"/gpu_profile_steps_r23.md
fi
if [ "$stage" = onegroup ]; then
  mkdir -p "$OUT/r26"
  timeout 60 python3 -m pytest -q -p no:cacheprovider tests/ops/test_scan_triton.py -k "seq_train_chunk" \
    > "$OUT/r26/pytest.log" 2>&1; tail -n 2 "$OUT/r26/pytest.log"
  timeout 190 python3 benchmarks/gpu_speed.py bwdsweep --bwd-grid onegroup --seq-only 0 2 --no-mamba --budget-s 0.3 \
    --out-dir "$OUT/r26" --tag _r26 > "$OUT/r26/bwdsweep.log" 2>&1; grep "bwdsweep b" "$OUT/r26/bwdsweep.log"
  for set in default "seq_train_chunk=16 seq_bwd_group=16"; do
    tag="${set// /_}"; tag="${tag//=/}"
    timeout 95 python3 benchmarks/gpu_targets.py --out-dir "$OUT/r26" --tag "_r26_train_$tag" --variants triton-seq \
      --sizes tiny --kinds train_step --cuda-graph $([ "$set" = default ] || echo --set $set) --repeats 10 \
      --budget-s 1 > "$OUT/r26/train_$tag.log" 2>&1; grep -E "tok \||latency_ms" "$OUT/r26/train_$tag.log" | tail -n 2
  done
  cp "$OUT/nvidia_smi.txt" "$OUT/r26/"; tar -C "$OUT" -czf "$OUT/r26.tgz" r26 && rm -rf "$OUT/r26"
fi
if [ "$stage" = mixerin ]; then
  R="${RTAG:-r27}"; mkdir -p "$OUT/$R"
  timeout 150 python3 -m pytest -q -p no:cacheprovider tests/ops/test_scan_triton.py -k "mixer" \
    > "$OUT/$R/pytest.log" 2>&1; tail -n 2 "$OUT/$R/pytest.log"
  for tok in 512 22016; do
    for set in default fused_mixer_in=False; do
      timeout 70 python3 benchmarks/gpu_targets.py --out-dir "$OUT/$R" --tag "_${R}_inf${tok}_${set/=/}" \
        --variants triton-seq --sizes tiny --kinds inference --tokens $tok --cuda-graph \
        $([ $set = default ] || echo --set $set) --repeats 20 --budget-s 1 > "$OUT/$R/inf${tok}_$set.log" 2>&1
      grep "tok |" "$OUT/$R/inf${tok}_$set.log"
    done
  done
  timeout 90 python3 benchmarks/gpu_profile_steps.py --out-dir "$OUT/$R" --tag "_$R" --cases 2 > "$OUT/$R/profile.log" 2>&1
  sed -n '/inference b4 x 512/,/matrix product/p' "$OUT/$R"/gpu_profile_steps_$R.md | head -n 20
  cp "$OUT/nvidia_smi.txt" "$OUT/$R/"; tar -C "$OUT" -czf "$OUT/$R.tgz" "$R" && rm -rf "$OUT/$R"
fi
if [ "$stage" = convseq ]; then
  R="${RTAG:-r28}"; mkdir -p "$OUT/$R"
  timeout 150 python3 -m pytest -q -p no:cacheprovider tests/ops/test_scan_triton.py -k "conv or mixer" \
    > "$OUT/$R/pytest.log" 2>&1; tail -n 2 "$OUT/$R/pytest.log"
  if [ "$R" = r28 ]; then  # (r28 ran the forward of this shape too, at 1cfe957; its backward was wrong, see r29)
    sets="default conv_seq=False"; tokens="512 22016"
  else
    sets="default conv_seq=False"; tokens=""
  fi
  for set in $sets; do
    timeout 95 python3 benchmarks/gpu_targets.py --out-dir "$OUT/$R" --tag "_${R}_train_${set/=/}" --variants triton-seq \
      --sizes tiny --kinds train_step --cuda-graph $([ $set = default ] || echo --set $set) --repeats 10 \
      --budget-s 1 > "$OUT/$R/train_$set.log" 2>&1; grep "tok |" "$OUT/$R/train_$set.log"
  done
  for tok in $tokens; do
    for set in default conv_seq=False; do
      timeout 70 python3 benchmarks/gpu_targets.py --out-dir "$OUT/$R" --tag "_${R}_inf${tok}_${set/=/}" \
        --variants triton-seq --sizes tiny --kinds inference --tokens $tok --cuda-graph \
        $([ $set = default ] || echo --set $set) --repeats 20 --budget-s 1 > "$OUT/$R/inf${tok}_$set.log" 2>&1
      grep "tok |" "$OUT/$R/inf${tok}_$set.log"
    done
  done
  if [ "$R" != r28 ]; then
    timeout 110 python3 benchmarks/gpu_targets.py --out-dir "$OUT/$R" --tag "_${R}_train_base" --variants triton-seq \
      --sizes base --kinds train_step --cuda-graph --repeats 10 --budget-s 1 > "$OUT/$R/train_base.log" 2>&1
    grep "tok |" "$OUT/$R/train_base.log"
    timeout 90 python3 benchmarks/gpu_profile_steps.py --out-dir "$OUT/$R" --tag "_$R" --cases 0 > "$OUT/$R/profile.log" 2>&1
    head -n 20 "$OUT/$R"/gpu_profile_steps_$R.md | tail -n 14
  fi
  cp "$OUT/nvidia_smi.txt" "$OUT/$R/"; tar -C "$OUT" -czf "$OUT/$R.tgz" "$R" && rm -rf "$OUT/$R"
fi
if [ "$stage" = final4 ]; then
  R="${RTAG:-r30}"; mkdir -p "$OUT/$R"
  timeout 130 python3 -m pytest -q -p no:cacheprovider tests/ops/test_scan_triton.py tests/ops/test_gpu_parity.py \
    tests/models/test_graphed.py -k "conv or mixer or carries or cuda_backends or replays" > "$OUT/$R/pytest.log" 2>&1
  tail -n 2 "$OUT/$R/pytest.log"
  timeout 110 python3 benchmarks/gpu_targets.py --out-dir "$OUT/$R" --tag "_${R}_inf_graph" --variants triton-seq \
    --kinds inference --cuda-graph --repeats 10 --budget-s 1 > "$OUT/$R/inf_graph.log" 2>&1; grep "tok |" "$OUT/$R/inf_graph.log"
  timeout 120 python3 benchmarks/gpu_targets.py --out-dir "$OUT/$R" --tag "_${R}_train_graph" --variants triton-seq \
    --sizes tiny base --kinds train_step --cuda-graph --repeats 10 --budget-s 1 > "$OUT/$R/train_graph.log" 2>&1
  grep "tok |" "$OUT/$R/train_graph.log"
  timeout 80 python3 benchmarks/gpu_profile_steps.py --out-dir "$OUT/$R" --tag "_$R" --cases 0 > "$OUT/$R/profile.log" 2>&1
  head -n 20 "$OUT/$R"/gpu_profile_steps_$R.md | tail -n 14
  cp "$OUT/nvidia_smi.txt" "$OUT/$R/"; tar -C "$OUT" -czf "$OUT/$R.tgz" "$R" && rm -rf "$OUT/$R"
fi
if [ "$stage" = onecat ]; then
  R="${RTAG:-r31}"; mkdir -p "$OUT/$R"
  for set in default prepare_one_cat=False; do
    timeout 80 python3 benchmarks/gpu_targets.py --out-dir "$OUT/$R" --tag "_${R}_train_${set/=/}" --variants triton-seq \
      --sizes tiny --kinds train_step --cuda-graph $([ $set = default ] || echo --set $set) --repeats 10 \
      --budget-s 1 > "$OUT/$R/train_$set.log" 2>&1; grep "tok |" "$OUT/$R/train_$set.log"
  done
  cp "$OUT/nvidia_smi.txt" "$OUT/$R/"; tar -C "$OUT" -czf "$OUT/$R.tgz" "$R"
  timeout 60 python3 -m pytest -q -p no:cacheprovider tests/ops/test_scan_triton.py -k "fused_mixer_matches and vec" \
    > "$OUT/$R/pytest.log" 2>&1; tail -n 2 "$OUT/$R/pytest.log"
  tar -C "$OUT" -czf "$OUT/$R.tgz" "$R" && rm -rf "$OUT/$R"
fi
if [ "$stage" = hist ]; then
  R="${RTAG:-r32}"; mkdir -p "$OUT/$R"
  sets="${HIST_SETS:-seq_bwd_hist=True seq_bwd_hist=True,seq_bwd_hist_maxnreg=0}"
  for set in default $sets; do
    timeout 85 python3 benchmarks/gpu_targets.py --out-dir "$OUT/$R" --tag "_${R}_train_${set//[=,]/}" \
      --variants triton-seq --sizes tiny --kinds train_step --cuda-graph $([ $set = default ] || echo --set ${set//,/ }) \
      --repeats 10 --budget-s 1 > "$OUT/$R/train_$set.log" 2>&1; grep "tok |" "$OUT/$R/train_$set.log"
    cp "$OUT/nvidia_smi.txt" "$OUT/$R/"; tar -C "$OUT" -czf "$OUT/$R.tgz" "$R"
  done
  for set in ${HIST_BASE:-}; do  # the base training step (HIST_BASE: settings, "default" for none)
    timeout 110 python3 benchmarks/gpu_targets.py --out-dir "$OUT/$R" --tag "_${R}_train_base_${set//[=,]/}" \
      --variants triton-seq --sizes base --kinds train_step --cuda-graph \
      $([ $set = default ] || echo --set ${set//,/ }) --repeats 10 --budget-s 1 > "$OUT/$R/train_base_$set.log" 2>&1
    grep "tok |" "$OUT/$R/train_base_$set.log"; tar -C "$OUT" -czf "$OUT/$R.tgz" "$R"
  done
  timeout 80 python3 benchmarks/gpu_profile_steps.py --out-dir "$OUT/$R" --tag "_$R" --cases 0 --set seq_bwd_hist=True \
    > "$OUT/$R/profile.log" 2>&1; head -n 20 "$OUT/$R"/gpu_profile_steps_$R.md | tail -n 14
  tar -C "$OUT" -czf "$OUT/$R.tgz" "$R"
  timeout "${HIST_PYTEST_S:-150}" python3 -m pytest -q -p no:cacheprovider tests/ops/test_scan_triton.py \
    tests/ops/test_gpu_parity.py tests/models/test_graphed.py -k "${HIST_K:-hist or two_launches or cuda_backends or replays}" \
    > "$OUT/$R/pytest.log" 2>&1
  tail -n 4 "$OUT/$R/pytest.log"
  tar -C "$OUT" -czf "$OUT/$R.tgz" "$R" && rm -rf "$OUT/$R"
fi
if [ "$stage" = hist2 ]; then
  R="${RTAG:-r35}"; mkdir -p "$OUT/$R"; cp "$OUT/nvidia_smi.txt" "$OUT/$R/"
  timeout 200 python3 -m pytest -q -p no:cacheprovider tests/ops/test_gpu_parity.py tests/models/test_graphed.py \
    tests/ops/test_scan_triton.py -k "cuda_backends or replays or bf16_states" > "$OUT/$R/pytest.log" 2>&1
  tail -n 4 "$OUT/$R/pytest.log"; tar -C "$OUT" -czf "$OUT/$R.tgz" "$R"
  for set in default seq_bwd_hist_bf16=True; do
    timeout 80 python3 benchmarks/gpu_targets.py --out-dir "$OUT/$R" --tag "_${R}_train_${set//[=,]/}" \
      --variants triton-seq --sizes tiny --kinds train_step --cuda-graph $([ $set = default ] || echo --set $set) \
      --repeats 10 --budget-s 1 > "$OUT/$R/train_$set.log" 2>&1; grep "tok |" "$OUT/$R/train_$set.log"
    tar -C "$OUT" -czf "$OUT/$R.tgz" "$R"
  done
  rm -rf "$OUT/$R"
fi
if [ "$stage" = hist3 ]; then
  R="${RTAG:-r36}"; mkdir -p "$OUT/$R"; cp "$OUT/nvidia_smi.txt" "$OUT/$R/"
  ncu_bin="$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)"
  timeout 150 "$ncu_bin" --clock-control none --kernel-name regex:"scan_seq_(hist|bwd_hist)" --launch-skip 2 \
    --launch-count 2 --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats \
    --section SourceCounters --section MemoryWorkloadAnalysis \
    python3 benchmarks/ncu_seq.py --batch 64 --tokens 512 --backward > "$OUT/$R/ncu_seq_bwd_hist.txt" 2>&1
  grep -E "scan_seq|Duration|Registers Per|Achieved Occupancy|Warp Cycles Per Issued|Issued Ipc|DRAM Throughput|L2 Hit" \
    "$OUT/$R/ncu_seq_bwd_hist.txt" | head -24; tar -C "$OUT" -czf "$OUT/$R.tgz" "$R"
  train_row "$R" tiny 80 train default
  for set in default seq_bwd_hist_mb=4096; do train_row "$R" base 110 train_base "$set"; done
  timeout 80 python3 benchmarks/gpu_profile_steps.py --out-dir "$OUT/$R" --tag "_$R" --cases 0 \
    > "$OUT/$R/profile.log" 2>&1; head -n 20 "$OUT/$R"/gpu_profile_steps_$R.md | tail -n 14
  tar -C "$OUT" -czf "$OUT/$R.tgz" "$R" && rm -rf "$OUT/$R"
fi
if [ "$stage" = hist4 ]; then
  R="${RTAG:-r37}"; mkdir -p "$OUT/$R"; cp "$OUT/nvidia_smi.txt" "$OUT/$R/"
  train_row "$R" tiny 80 train default
  for set in default seq_bwd_hist_maxnreg=${HIST4_NREG:-144}; do train_row "$R" base 100 train_base "$set"; done
  timeout 70 python3 benchmarks/gpu_profile_steps.py --out-dir "$OUT/$R" --tag "_$R" --cases 0 \
    > "$OUT/$R/profile.log" 2>&1; head -n 20 "$OUT/$R"/gpu_profile_steps_$R.md | tail -n 14
  tar -C "$OUT" -czf "$OUT/$R.tgz" "$R"
  timeout "${HIST_PYTEST_S:-170}" python3 -m pytest -v -p no:cacheprovider tests/ops/test_gpu_parity.py \
    tests/ops/test_scan_triton.py -k "${HIST_K:-bf16_states or cuda_backends or bfly-hist}" > "$OUT/$R/pytest.log" 2>&1
  grep -cE "PASSED" "$OUT/$R/pytest.log"; grep -E "FAILED|ERROR|passed|failed" "$OUT/$R/pytest.log" | tail -n 5
  tar -C "$OUT" -czf "$OUT/$R.tgz" "$R" && rm -rf "$OUT/$R"
fi
if [ "$stage" = final5 ]; then
  R="${RTAG:-r38}"; mkdir -p "$OUT/$R"; cp "$OUT/nvidia_smi.txt" "$OUT/$R/"
  every_target_graphed "$R"
  timeout "${HIST_PYTEST_S:-280}" python3 -m pytest -v -p no:cacheprovider tests/ops/test_scan_triton.py \
    -k "${HIST_K:-bf16_states or two_launches or bfly-hist}" > "$OUT/$R/pytest.log" 2>&1
  grep -cE "PASSED" "$OUT/$R/pytest.log"; grep -E "FAILED|ERROR|passed|failed" "$OUT/$R/pytest.log" | tail -n 5
  tar -C "$OUT" -czf "$OUT/$R.tgz" "$R" && rm -rf "$OUT/$R"
fi
if [ "$stage" = ysum ]; then
  R="${RTAG:-r40}"; mkdir -p "$OUT/$R"; cp "$OUT/nvidia_smi.txt" "$OUT/$R/"
  for set in default seq_bwd_ysum=False; do train_row "$R" tiny 75 train "$set"; done
  timeout "${HIST_PYTEST_S:-150}" python3 -m pytest -v -p no:cacheprovider tests/ops/test_scan_triton.py \
    tests/ops/test_gpu_parity.py -k "dz_from or cuda_backends" > "$OUT/$R/pytest.log" 2>&1
  grep -cE "PASSED" "$OUT/$R/pytest.log"; grep -E "FAILED|ERROR|passed|failed" "$OUT/$R/pytest.log" | tail -n 5
  tar -C "$OUT" -czf "$OUT/$R.tgz" "$R" && rm -rf "$OUT/$R"
fi
if [ "$stage" = cpt ]; then
  R="${RTAG:-r41}"; mkdir -p "$OUT/$R"; cp "$OUT/nvidia_smi.txt" "$OUT/$R/"
  timeout 120 python3 -m pytest -v -p no:cacheprovider tests/ops/test_scan_triton.py -k "several_channels" \
    > "$OUT/$R/pytest.log" 2>&1; grep -E "FAILED|ERROR|passed|failed" "$OUT/$R/pytest.log" | tail -n 3
  sets="${CPT_SETS:-seq_channels_per_thread=2 seq_channels_per_thread=2,seq_warps_per_sm=8}"
  for tok in 22016 512; do
    for set in default $sets; do inf_row "$R" "$tok" 70 "$set"; done
  done
  rm -rf "$OUT/$R"
fi
if [ "$stage" = final6 ]; then
  R="${RTAG:-r42}"; mkdir -p "$OUT/$R"; cp "$OUT/nvidia_smi.txt" "$OUT/$R/"
  every_target_graphed "$R"
  timeout "${HIST_PYTEST_S:-300}" python3 -m pytest -v -rP -p no:cacheprovider tests/ops/test_gpu_parity.py \
    -k cuda_backends > "$OUT/$R/pytest.log" 2>&1
  grep -E "ParityResult|PASSED|FAILED|passed|failed" "$OUT/$R/pytest.log" | tail -n 6
  tar -C "$OUT" -czf "$OUT/$R.tgz" "$R" && rm -rf "$OUT/$R"
fi
if [ "$stage" = waves ]; then
  R="${RTAG:-r49}"; mkdir -p "$OUT/$R"; cp "$OUT/nvidia_smi.txt" "$OUT/$R/"
  rows="${WAVES_ROWS:-inference:tiny:22016:70:default inference:tiny:22016:70:segments=33 inference:tiny:22016:70:segments=66
    inference:base:22016:90:default inference:base:22016:90:segments=8 inference:base:22016:90:segments=16}"
  for row in $rows; do IFS=: read -r kind size tok limit set <<< "$row"; any_row "$R" "$kind" "$size" "$tok" "$limit" "$set"; done
  rm -rf "$OUT/$R"
fi
if [ "$stage" = cpt2 ]; then
  R="${RTAG:-r67}"; mkdir -p "$OUT/$R"; cp "$OUT/nvidia_smi.txt" "$OUT/$R/"
  timeout 120 python3 -m pytest -v -p no:cacheprovider tests/ops/test_scan_triton.py -k two_channels \
    > "$OUT/$R/pytest.log" 2>&1; grep -E "PASSED|FAILED|passed|failed" "$OUT/$R/pytest.log" | tail -n 4
  rows="${CPT2_ROWS:-inference:tiny:22016:100:default inference:tiny:22016:70:seq_channels_per_thread=2
    inference:tiny:512:50:default inference:tiny:512:50:seq_channels_per_thread=2
    train_step:tiny:512:80:default train_step:tiny:512:80:seq_channels_per_thread=2}"
  for row in $rows; do IFS=: read -r kind size tok limit set <<< "$row"; any_row "$R" "$kind" "$size" "$tok" "$limit" "$set"; done
  rm -rf "$OUT/$R"
fi
if [ "$stage" = hvec ]; then
  R="${RTAG:-r68}"; mkdir -p "$OUT/$R"; cp "$OUT/nvidia_smi.txt" "$OUT/$R/"
  timeout 150 python3 -m pytest -v -p no:cacheprovider tests/ops/test_scan_triton.py \
    -k "state_kernel_variants or steps_a_trip or carries_its_windows" \
    > "$OUT/$R/pytest.log" 2>&1; grep -E "PASSED|FAILED|passed|failed" "$OUT/$R/pytest.log" | tail -n 4
  rows="${HVEC_ROWS:-train_step:tiny:512:100:default train_step:tiny:512:70:seq_bwd_hist_vec=True
    train_step:tiny:512:70:seq_bwd_hist_vec=True,seq_hist_unroll=2
    train_step:tiny:512:70:seq_bwd_hist_vec=True,seq_hist_unroll=2,seq_hist_channels_per_thread=2
    train_step:tiny:512:70:seq_bwd_hist_vec=True,seq_hist_unroll=2,seq_hist_channels_per_thread=2,conv_seq_unroll=4}"
  for row in $rows; do IFS=: read -r kind size tok limit set <<< "$row"; any_row "$R" "$kind" "$size" "$tok" "$limit" "$set"; done
  rm -rf "$OUT/$R"
fi
if [ "$stage" = fwdhist ]; then
  R="${RTAG:-r69}"; mkdir -p "$OUT/$R"; cp "$OUT/nvidia_smi.txt" "$OUT/$R/"
  timeout 120 python3 -m pytest -v -p no:cacheprovider tests/ops/test_scan_triton.py -k "forward_stored_states" \
    > "$OUT/$R/pytest.log" 2>&1; grep -E "PASSED|FAILED|passed|failed" "$OUT/$R/pytest.log" | tail -n 4
  rows="${FWDHIST_ROWS:-train_step:tiny:512:100:default train_step:tiny:512:70:seq_fwd_hist=True
    train_step:tiny:512:70:seq_fwd_hist=True,seq_fwd_hist_maxnreg=0 train_step:base:512:100:default
    train_step:base:512:100:seq_fwd_hist=True}"
  for row in $rows; do IFS=: read -r kind size tok limit set <<< "$row"; any_row "$R" "$kind" "$size" "$tok" "$limit" "$set"; done
  rm -rf "$OUT/$R"
fi
if [ "$stage" = final7 ]; then
  R="${RTAG:-r51}"; mkdir -p "$OUT/$R"; cp "$OUT/nvidia_smi.txt" "$OUT/$R/"
  every_target_graphed "$R"
  timeout "${HIST_PYTEST_S:-280}" python3 -m pytest -v -rP -p no:cacheprovider tests/ops/test_scan_triton.py \
    tests/ops/test_gpu_parity.py -k "auto_segments or infer_chunk_sets or cuda_backends" > "$OUT/$R/pytest.log" 2>&1
  grep -E "ParityResult|PASSED|FAILED|passed|failed" "$OUT/$R/pytest.log" | tail -n 12
  tar -C "$OUT" -czf "$OUT/$R.tgz" "$R" && rm -rf "$OUT/$R"
fi
