"""Compiler report of the Triton scan kernels for sm_90a, without a GPU (benchmarks/ROOFLINE.md).

Cross-compiles ``scan_fwd_kernel`` / ``scan_bwd_kernel`` (bidirectional, bf16 activations, d_state 16) or the seq
forward ``scan_seq_fwd_kernel`` (``--kernel seq``: pass 2 of direction 1, the combining and gating one) or the seq
backward ``scan_seq_bwd_kernel`` (``--kernel seqbwd``: both directions, G steps a group) or its two-launch form
(``seqhist``: every step's state; ``seqbwdhist``: the adjoint reading them), or the bidirectional
conv's kernels (``--kernel convfwd``: the tile forward; ``convbwd``: the tile backward's first part;
``convseqbwd``: the backward a thread a channel, ``--block-e 32``) for a launch configuration, runs Triton's bundled ``ptxas -v`` for registers and spills, and counts what costs time in
the PTX (warp shuffles, barriers, exp2) and layout conversions in the TTGIR. Usage::

    python benchmarks/triton_compile_report.py --kernel fwd --block-e 4 --chunk 32 --num-warps 4
    python benchmarks/triton_compile_report.py --kernel seq --block-e 64 --chunk 32
    python benchmarks/triton_compile_report.py --kernel seqbwd --block-e 32 --chunk 32 --const G=8
    python benchmarks/triton_compile_report.py --kernel convseqbwd --block-e 32

The kernel files import only triton, so the report also runs where torch is missing: an environment with
another Triton, e.g. the GPU machine's (``python3.11 -m venv /tmp/t36 && /tmp/t36/bin/pip install
triton==3.6.0``, then ``PYTHONPATH=. /tmp/t36/bin/python benchmarks/triton_compile_report.py ...`` from the
repository root).
"""
from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource


def _kernels(stem: str) -> types.ModuleType:
    """``ssamba_lab.ops.<stem>``. Without torch, ``ssamba_lab.ops`` (whose ``__init__`` imports the torch
    backends) is stood in for by a bare package of its directory: only the kernel files are imported."""
    try:
        return importlib.import_module(f"ssamba_lab.ops.{stem}")
    except ModuleNotFoundError as err:
        if err.name != "torch":
            raise
    ops = types.ModuleType("ssamba_lab.ops")
    ops.__path__ = [str(Path(__file__).resolve().parents[1] / "ssamba_lab" / "ops")]
    sys.modules["ssamba_lab.ops"] = ops
    return importlib.import_module(f"ssamba_lab.ops.{stem}")


_conv, _chunked = _kernels("triton_conv_kernels"), _kernels("triton_scan_kernels")
_seq_bwd, _seq = _kernels("triton_scan_seq_bwd_kernels"), _kernels("triton_scan_seq_kernels")

_BF16_PTRS = {"u0_ptr", "u1_ptr", "dt0_ptr", "dt1_ptr", "B0_ptr", "B1_ptr", "C0_ptr", "C1_ptr", "z_ptr", "o_ptr",
              "g_ptr", "gu_ptr", "gdt_ptr", "gz_ptr", "u_ptr", "dt_ptr", "B_ptr", "C_ptr", "xr_ptr", "xr1_ptr", "o1_ptr",
              "x_ptr", "gx_ptr"}


def compile_report(kernel: str, block_e: int, chunk: int, num_warps: int, unroll: int = 4,
                   extra: dict | None = None, sass_out: Path | None = None, maxnreg: int = 0,
                   f32_states: bool = False) -> dict:
    fn = {"fwd": _chunked.scan_fwd_kernel, "bwd": _chunked.scan_bwd_kernel, "seq": _seq.scan_seq_fwd_kernel,
          "seqbwd": _seq_bwd.scan_seq_bwd_kernel, "convfwd": _conv.conv_bidir_fwd_kernel,
          "convbwd": _conv.conv_bidir_bwd_pre_kernel, "convseqbwd": _conv.conv_bidir_bwd_seq_kernel,
          "seqhist": _seq_bwd.scan_seq_hist_kernel, "seqbwdhist": _seq_bwd.scan_seq_bwd_hist_kernel}[kernel]
    consts = dict(BE=block_e, NP=16, T=chunk, BIDIR=True, HAS_D=True, HAS_Z=True, HAS_BIAS=True, SOFTPLUS=True,
                  STORE_STATES=False, U=unroll, NS=16, REVERSE=True, PASS=2, COMBINE=True, GATE=True, FAST=True,
                  VEC=4, F32=False, OFF64=False, DT_R=0, VEC_X=0, G=8, NDIR=2, AHEAD=4, BOTH=False,
                  SHFL=False, CPT=1, HW=1, HV=False, STORE_HIST=False)
    consts |= extra or {}
    # unit strides, as Triton specialises them at launch for the mixer's layouts
    if kernel in ("seq", "seqbwd", "seqhist", "seqbwdhist"):
        consts |= {a: 1 for a in ("sB_n", "sC_n")}  # the channel strides are not specialised (see the kernel)
    if kernel.startswith("conv"):  # channels contiguous (the mixer's x and gx); tiles of 64 / 32 positions
        consts |= {"sx_e": 1, "sgx_e": 1, "K": 4, "BT": 64 if kernel == "convfwd" else 32, "ONLY": -1}
    names = fn.arg_names
    # the seq backward's dz terms are float32
    bf16 = _BF16_PTRS - {"gz_ptr"} if kernel.startswith("seqbwd") else _BF16_PTRS
    if not f32_states:  # every step's state in bf16, as ``seq_bwd_hist_bf16`` (the default) keeps it
        bf16 = bf16 | {"hs_ptr", "hs1_ptr"}
    sig = {a: ("constexpr" if a in consts else ("*bf16" if a in bf16 else "*fp32") if a.endswith("_ptr")
               else "i32") for a in names}
    src = ASTSource(fn=fn, signature=sig,
                    constexprs={(names.index(a),): v for a, v in consts.items() if a in names})
    options = dict(num_warps=num_warps) | ({"maxnreg": maxnreg} if maxnreg else {})
    compiled = triton.compile(src, target=GPUTarget("cuda", 90, 32), options=options)
    ptx, ttgir = compiled.asm["ptx"], compiled.asm["ttgir"]
    ptxas = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "ptxas"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "k.ptx").write_text(ptx)
        log = subprocess.run([str(ptxas), "-arch=sm_90a", "-v", f"{tmp}/k.ptx", "-o", f"{tmp}/k.cubin"],
                             capture_output=True, text=True, check=True).stderr
        sass = subprocess.run([str(ptxas.parent / "cuobjdump"), "--dump-sass", f"{tmp}/k.cubin"],
                              capture_output=True, text=True, check=True).stdout
    if sass_out is not None:
        sass_out.write_text(sass)
    regs = re.search(r"Used (\d+) registers", log)
    spills = re.search(r"(\d+) bytes spill stores", log)
    return dict(kernel=kernel, block_e=block_e, chunk=chunk, num_warps=num_warps,
                registers=int(regs.group(1)) if regs else None, spill_store_bytes=int(spills.group(1)) if spills else None,
                ptx_lines=ptx.count("\n"), shuffles=ptx.count("shfl.sync"), barriers=ptx.count("bar.sync"),
                exp2=ptx.count("ex2.approx"), convert_layouts=ttgir.count("convert_layout"),
                **_loop_histogram(sass))


def _loop_histogram(sass: str) -> dict:
    """SASS instructions in the kernel's largest loop body (the scan's steps), by opcode class: the issue count
    that one loop trip costs a warp. A loop is a backward branch; its body runs from the target to the branch."""
    ins = {}  # address -> opcode (predicate stripped)
    back = []  # (target, address) of backward branches
    for m in re.finditer(r"/\*([0-9a-f]{4,})\*/\s+(?:@!?U?P\w+\s+)?([A-Z0-9_.]+)([^;]*);", sass):
        addr, op = int(m.group(1), 16), m.group(2)
        ins[addr] = op.split(".")[0]
        tgt = re.match(r"\s*0x([0-9a-f]+)", m.group(3)) if ins[addr] == "BRA" else None
        if tgt and int(tgt.group(1), 16) < addr:
            back.append((int(tgt.group(1), 16), addr))
    lo, hi = max(back, key=lambda b: b[1] - b[0], default=(0, -1))
    ops = [op for a, op in ins.items() if lo <= a <= hi]
    classes = {"loads": ("LDG", "LDS", "LDL", "LD"), "stores": ("STG", "STS", "STL", "ST"), "mufu": ("MUFU",),
               "fp32": ("FFMA", "FMUL", "FADD", "FSETP", "FSEL", "FMNMX"), "convert": ("PRMT", "F2F", "I2F", "F2I"),
               "int": ("IMAD", "IADD3", "LEA", "ISETP", "SEL", "MOV", "SHF", "LOP3", "IMNMX", "VIADDMNMX")}
    hist = {k: sum(op in v for op in ops) for k, v in classes.items()}
    return dict(loop_sass=len(ops), **{f"loop_{k}": v for k, v in hist.items()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernel", choices=["fwd", "bwd", "seq", "seqbwd", "seqhist", "seqbwdhist", "convfwd", "convbwd",
                                           "convseqbwd"],
                    default="fwd")
    ap.add_argument("--block-e", type=int, default=4)
    ap.add_argument("--chunk", type=int, default=32)
    ap.add_argument("--num-warps", type=int, default=4)
    ap.add_argument("--unroll", type=int, default=None,
                    help="steps a loop trip, the kernel's U (seq: default 4; seqhist, convseqbwd: 1, as launched)")
    ap.add_argument("--const", nargs="*", default=[], metavar="NAME=INT", help="override constexprs (PF=0 ...)")
    ap.add_argument("--sass", type=Path, default=None, help="write the SASS here")
    ap.add_argument("--maxnreg", type=int, default=0,
                    help="register cap a thread, as the launcher's maxnreg (the adjoint's: 168); 0: none")
    ap.add_argument("--f32-states", action="store_true",
                    help="seqhist / seqbwdhist: every step's state in float32 (seq_bwd_hist_bf16=False)")
    args = ap.parse_args()
    if args.kernel in ("seq", "seqbwd", "convseqbwd"):
        args.num_warps = args.block_e // 32  # a thread per channel
    if args.unroll is None:
        args.unroll = 1 if args.kernel in ("seqhist", "convseqbwd") else 4
    extra = {k: int(v) for k, v in (c.split("=") for c in args.const)}
    print(compile_report(args.kernel, args.block_e, args.chunk, args.num_warps, args.unroll, extra, args.sass,
                         args.maxnreg, args.f32_states))


if __name__ == "__main__":
    main()
