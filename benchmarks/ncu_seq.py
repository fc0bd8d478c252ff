"""One bidirectional seq-forward scan (or, with ``--backward``, forward and backward) at a chosen size and launch
configuration, for Nsight Compute.

Runs the scan twice (the first compiles); profile the second with, for example::

    ncu --clock-control none --kernel-name regex:scan_seq_fwd --launch-skip 4 --launch-count 4 \
        --section SpeedOfLight --section Occupancy --section WarpStateStats --section SourceCounters \
        python3 benchmarks/ncu_seq.py --batch 4 --tokens 22016 --set seq_bc_f32=True

(With the sequence split, 2 launches a call: pass 1, then pass 2, each of both directions; 4 with
``--set seq_pass1_both=False seq_pass2_both=False``.) The seq backward
(one launch a call, both directions)::

    ncu --clock-control none --kernel-name regex:scan_seq_bwd --launch-skip 1 --launch-count 1 \
        --section SpeedOfLight --section Occupancy --section WarpStateStats --section SourceCounters \
        --section MemoryWorkloadAnalysis python3 benchmarks/ncu_seq.py --batch 64 --tokens 512 --backward
"""
from __future__ import annotations

import argparse
from dataclasses import replace

import torch
from gpu_speed import ScanCase, _fwd_bwd, scan_inputs, triton_bidirectional  # benchmarks/ is on sys.path as the script folder

from ssamba_lab.ops import scan_triton as st


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=22016)
    ap.add_argument("--d-inner", type=int, default=384)
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                    help="TritonScanConfig fields over its defaults (ints, True / False or names), e.g. seq_unroll=2")
    ap.add_argument("--backward", action="store_true", help="also the backward (u, delta, B, C, z get gradients)")
    args = ap.parse_args()
    fields = st.parse_config_fields(args.set)
    st.set_launch_config(replace(st.TritonScanConfig(), forward="seq", **fields))
    p = scan_inputs(ScanCase(batch=args.batch, tokens=args.tokens, d_inner=args.d_inner))
    if args.backward:
        step = _fwd_bwd(triton_bidirectional, p)
        for _ in range(2):
            step()
    else:
        with torch.no_grad():
            for _ in range(2):
                triton_bidirectional(p)
    torch.cuda.synchronize()


if __name__ == "__main__":
    main()
