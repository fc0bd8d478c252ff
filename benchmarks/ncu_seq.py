"""One bidirectional seq-forward scan at a chosen size and launch configuration, for Nsight Compute.

Runs the scan twice (the first compiles); profile the second with, for example::

    ncu --clock-control none --kernel-name regex:scan_seq_fwd --launch-skip 4 --launch-count 4 \
        --section SpeedOfLight --section Occupancy --section WarpStateStats --section SourceCounters \
        python3 benchmarks/ncu_seq.py --batch 4 --tokens 22016 --block-e 32 --fast --bc-f32 --warps-per-sm 16

(4 launches a call when the sequence is split: pass 1 of each direction, then pass 2 of each.)
"""
from __future__ import annotations

import argparse

import torch
from gpu_speed import ScanCase, scan_inputs, triton_bidirectional  # benchmarks/ is on sys.path as the script folder

from ssamba_lab.ops import scan_triton as st


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=22016)
    ap.add_argument("--d-inner", type=int, default=384)
    ap.add_argument("--block-e", type=int, default=32)
    ap.add_argument("--unroll", type=int, default=4)
    ap.add_argument("--warps-per-sm", type=int, default=16)
    ap.add_argument("--fast", action="store_true", help="seq_fast_math")
    ap.add_argument("--vec", action="store_true", help="seq_vec_bc")
    ap.add_argument("--bc-f32", action="store_true", help="seq_bc_f32")
    args = ap.parse_args()
    st.set_launch_config(st.TritonScanConfig(forward="seq", seq_block_e=args.block_e, seq_unroll=args.unroll,
                                             seq_warps_per_sm=args.warps_per_sm, seq_fast_math=args.fast,
                                             seq_vec_bc=args.vec, seq_bc_f32=args.bc_f32))
    p = scan_inputs(ScanCase(batch=args.batch, tokens=args.tokens, d_inner=args.d_inner))
    with torch.no_grad():
        for _ in range(2):
            triton_bidirectional(p)
    torch.cuda.synchronize()


if __name__ == "__main__":
    main()
