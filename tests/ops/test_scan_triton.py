"""Parity of the Triton scan, bidirectional conv and fused mixer with the float64 sequential reference.

On a machine without CUDA the kernels run through Triton's interpreter (``TRITON_INTERPRET=1``, set below before
the kernels are imported), so CI checks them on CPU at small sizes; with CUDA they run compiled on the GPU.

Tolerances (relative error ``||x - ref|| / ||ref||`` against float64 on the same rounded inputs):
fp32 inputs 1e-5 (float32 arithmetic; measured 1e-7 to 3e-7), bf16 inputs 2e-2 for outputs and gradients (bf16
storage of inputs, outputs and gradients; the bidirectional output, like the unfused path, rounds y_fwd to bf16
once; measured 2e-3 to 5e-3 for the bf16 tensors, ~1e-7 for the float32 parameters' gradients).
"""
from __future__ import annotations

import os

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # must precede the first import of the kernels

pytest.importorskip("triton")

import torch.nn.functional as F  # noqa: E402

from ssamba_lab.ops import scan_triton as st  # noqa: E402
from ssamba_lab.ops.conv import causal_conv1d_torch  # noqa: E402
from ssamba_lab.ops.scan_ref import selective_scan_ref  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
TOL = {torch.float32: 1e-5, torch.bfloat16: 2e-2}


def _rel(a: torch.Tensor, ref: torch.Tensor) -> float:
    assert torch.isfinite(a).all(), "non-finite values"
    return ((a.double() - ref.double()).norm() / ref.double().norm().clamp_min(1e-30)).item()


# (forward kernel, segments, steps a loop trip, fast softplus, vector B / C loads, float32 B / C copy, backward
# kernel, butterfly sums in the seq backward, steps the seq forward loads ahead, seq backward in two launches);
# fast softplus, vector loads, the float32 copy and the butterfly change compiled CUDA code only (inline PTX), so
# their variants run on a GPU only
_FORWARDS = [("chunked", 0, 1, False, False, False, "chunked", False, 1, False),
             ("seq", 1, 4, False, False, False, "seq", False, 1, False),
             ("seq", 3, 1, False, False, False, "seq", False, 4, True)]
_FORWARD_IDS = ["chunked", "seq-unroll4", "seq-3segments-ahead4-hist"]
if torch.cuda.is_available():
    _FORWARDS += [("seq", 3, 1, True, True, False, "seq", True, 2, False),
                  ("seq", 3, 1, True, True, False, "seq", True, 4, True),
                  ("seq", 1, 2, True, False, True, "seq", False, 1, False),
                  ("seq", 1, 1, True, True, False, "chunked", False, 1, False)]
    _FORWARD_IDS += ["seq-3segments-fast-vec-bfly-ahead2", "seq-3segments-fast-vec-bfly-hist", "seq-unroll2-fast-bcf32",
                     "seq-fast-vec-chunked-bwd"]


@pytest.fixture(params=_FORWARDS, ids=_FORWARD_IDS)
def small_chunks(request):
    """Chunks of 8 steps so that short test sequences cross several chunk boundaries (carry in both directions),
    with each forward kernel: the chunked one, the seq one on the whole sequence, and the seq one split into 3
    sequence segments (two passes; the last segment is short, so the ragged end meets a segment boundary) loading
    4 steps ahead (so the queue runs past segment ends and both ends of the sequence); the chunked forward with
    the chunked backward, the seq ones with the seq backward in groups of 4 steps (two groups a chunk) or, for the
    3-segment one, in two launches (``seq_bwd_hist``); on CUDA also the seq forward with fast softplus and vector
    B / C loads 2 or 4 steps ahead (with the butterfly sums in the backward, in one launch or two), with its
    float32 B / C copy, and feeding the chunked backward."""
    forward, segments, unroll, fast, vec, bc_f32, backward, bfly, ahead, hist = request.param
    prev = st.set_launch_config(st.TritonScanConfig(chunk=8, fwd=st.ScanLaunchConfig(block_e=4),
                                                    bwd=st.ScanLaunchConfig(block_e=4), forward=forward,
                                                    segments=segments, seq_block_e=32, seq_unroll=unroll,
                                                    seq_fast_math=fast, seq_vec_bc=vec, seq_bc_f32=bc_f32,
                                                    backward=backward, seq_bwd_group=4, seq_bwd_butterfly=bfly,
                                                    seq_train_chunk=0, seq_ahead=ahead, seq_bwd_hist=hist))
    yield
    st.set_launch_config(prev)


def _inputs(ndir: int, b: int, e: int, n: int, l: int, dtype, *, gen: torch.Generator):
    """Random scan inputs (fresh per test); activations in ``dtype``, parameters in float32."""
    def r(*shape, scale=1.0, dt=dtype):
        return (torch.randn(*shape, generator=gen) * scale).to(DEVICE, dt).requires_grad_()
    lead = (ndir,) if ndir > 1 else ()
    A = (-torch.rand(*lead, e, n, generator=gen) * 2 - 0.1).to(DEVICE).requires_grad_()
    return dict(u=r(*lead, b, e, l), delta=r(*lead, b, e, l, scale=0.5), A=A, B=r(*lead, b, n, l),
                C=r(*lead, b, n, l), D=r(*lead, e, dt=torch.float32), z=r(b, e, l),
                delta_bias=r(*lead, e, scale=0.3, dt=torch.float32))


def _ref_bidirectional(u, delta, A, B, C, D, z, delta_bias):
    """float64 reference built the unfused way: backward direction = scan of the flipped sequence, flipped back."""
    f = selective_scan_ref(u[0], delta[0], A[0], B[0], C[0], D[0], None, delta_bias[0], True)
    rb = selective_scan_ref(u[1].flip(-1), delta[1].flip(-1), A[1], B[1].flip(-1), C[1].flip(-1), D[1], None,
                            delta_bias[1], True).flip(-1)
    return (f + rb) / 2 * F.silu(z)


def _check_grads(out, ref_fn, ins: dict, tol: float, *, gen: torch.Generator):
    names = list(ins)
    g = torch.randn(out.shape, generator=gen).to(DEVICE, out.dtype)
    grads = torch.autograd.grad(out, [ins[k] for k in names], g)
    ins64 = {k: v.detach().double().requires_grad_() for k, v in ins.items()}
    ref = ref_fn(**ins64)
    assert _rel(out, ref) < tol, f"forward rel error {_rel(out, ref):.2e}"
    ref_grads = torch.autograd.grad(ref, [ins64[k] for k in names], g.double())
    for k, a, r in zip(names, grads, ref_grads):
        assert a.shape == r.shape, f"grad {k}: shape {tuple(a.shape)} != {tuple(r.shape)}"
        assert _rel(a, r) < tol, f"grad {k}: rel error {_rel(a, r):.2e}"


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_bidirectional_scan_matches_flipped_reference(dtype, small_chunks):
    gen = torch.Generator().manual_seed(1)
    ins = _inputs(2, 2, 6, 5, 29, dtype, gen=gen)  # state 5: padded to 8 inside; 29 steps: a ragged last chunk
    out = st.bidirectional_selective_scan_triton(**ins, delta_softplus=True)
    assert out.shape == (2, 6, 29) and out.dtype == dtype
    _check_grads(out, _ref_bidirectional, ins, TOL[dtype], gen=gen)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_scan_matches_reference(dtype, small_chunks):
    gen = torch.Generator().manual_seed(2)
    ins = _inputs(1, 2, 6, 4, 21, dtype, gen=gen)
    out = st.selective_scan_triton(**ins, delta_softplus=True)
    _check_grads(out, lambda **k: selective_scan_ref(**k, delta_softplus=True), ins, TOL[dtype], gen=gen)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_bidirectional_scan_state16_token_major(dtype, small_chunks):
    """d_state 16 with B, C views into one token-major ``[b, l, 2n]`` buffer, the fused mixer's layout: rows
    aligned to 16 bytes, so on CUDA the seq forward's vector-load variants read them as vectors."""
    gen = torch.Generator().manual_seed(7)
    ins = _inputs(2, 2, 6, 16, 37, dtype, gen=gen)
    bc = torch.randn(2, 2, 37, 32, generator=gen).to(DEVICE, dtype)  # [2, b, l, 2n]
    ins["B"] = bc[..., :16].transpose(-1, -2).requires_grad_()  # [2, b, n, l], a view (a leaf: bc needs no grad)
    ins["C"] = bc[..., 16:].transpose(-1, -2).requires_grad_()
    out = st.bidirectional_selective_scan_triton(**ins, delta_softplus=True)
    _check_grads(out, _ref_bidirectional, ins, TOL[dtype], gen=gen)


def test_scan_without_optional_inputs(small_chunks):
    """No D, no gate, no delta bias, no softplus: the optional paths of the kernel."""
    gen = torch.Generator().manual_seed(3)
    ins = _inputs(1, 1, 5, 3, 19, torch.float32, gen=gen)
    ins = {k: ins[k] for k in ("u", "A", "B", "C")} | {"delta": ins["delta"].detach().abs().requires_grad_()}
    out = st.selective_scan_triton(**ins)
    _check_grads(out, selective_scan_ref, ins, TOL[torch.float32], gen=gen)


def test_split_hook_equals_stacked(small_chunks):
    """The backend hook (per-direction tensors) computes what the stacked entry point computes."""
    gen = torch.Generator().manual_seed(4)
    p = {k: v.detach() for k, v in _inputs(2, 2, 4, 3, 17, torch.float32, gen=gen).items()}
    stacked = st.bidirectional_selective_scan_triton(**p, delta_softplus=True)
    split = st.bidirectional_selective_scan_split_triton(
        p["u"][0], p["u"][1], p["z"], p["delta"][0], p["B"][0], p["C"][0], p["A"][0], p["D"][0], p["delta_bias"][0],
        p["delta"][1], p["B"][1], p["C"][1], p["A"][1], p["D"][1], p["delta_bias"][1])
    torch.testing.assert_close(split, stacked, rtol=0, atol=0)


@pytest.mark.parametrize("tokens", [48, 30, 7])
def test_dir_linear_split_k_equals_bmm(tokens):
    """The training path's projections (token groups sharing the weight: a split-K weight gradient) compute what
    one bmm computes, values and gradients, also on a strided view (x_proj's dt_in columns)."""
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(2, tokens, 20, generator=gen, dtype=torch.float64)[..., 3:13].requires_grad_()  # [2, T, 10]
    w = torch.randn(2, 7, 10, generator=gen, dtype=torch.float64).requires_grad_()
    g = torch.randn(2, tokens, 7, generator=gen, dtype=torch.float64)
    ref = torch.bmm(x, w.transpose(1, 2))
    out = st._dir_linear(x, w, split=True)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref)
    for a, b in zip(torch.autograd.grad(out, [x, w], g), torch.autograd.grad(ref, [x, w], g)):
        torch.testing.assert_close(a, b)


def test_parse_config_fields_for_the_benchmarks_set_option():
    fields = st.parse_config_fields(["backward=chunked", "seq_unroll=2", "seq_fuse_dt=False"])
    assert fields == {"backward": "chunked", "seq_unroll": 2, "seq_fuse_dt": False}
    assert st.TritonScanConfig(**fields).backward == "chunked"
    with pytest.raises(AssertionError, match="seq_unrol"):
        st.parse_config_fields(["seq_unrol=2"])
    with pytest.raises(AssertionError, match="VALUE must be an int"):
        st.parse_config_fields(["seq_unroll=two"])
    with pytest.raises(AssertionError, match="backward must be"):
        st.TritonScanConfig(**st.parse_config_fields(["backward=fast"]))


def test_config_switches_must_be_booleans():
    with pytest.raises(AssertionError, match="seq_bwd_ysum must be True or False, got 'False'"):
        st.TritonScanConfig(seq_bwd_ysum="False")
    assert st.TritonScanConfig(seq_bwd_ysum=False).seq_bwd_ysum is False


def test_seq_backward_is_the_one_tested(monkeypatch):
    """Under the seq configuration the gradients come from the seq backward (so the parity tests above test it),
    and under backward="chunked" from the chunked kernel."""
    calls = []
    real = st._seq_backward
    monkeypatch.setattr(st, "_seq_backward", lambda *a, **k: calls.append(1) or real(*a, **k))
    gen = torch.Generator().manual_seed(9)
    ins = _inputs(2, 1, 4, 3, 11, torch.float32, gen=gen)
    for backward, expected in (("seq", 1), ("chunked", 0)):
        calls.clear()
        prev = st.set_launch_config(st.TritonScanConfig(chunk=8, backward=backward, seq_bwd_group=4))
        try:
            st.bidirectional_selective_scan_triton(**ins, delta_softplus=True).sum().backward()
        finally:
            st.set_launch_config(prev)
        assert len(calls) == expected, f"backward={backward!r}: the seq backward ran {len(calls)} times"


def _same(a: torch.Tensor, c: torch.Tensor) -> bool:
    """Two launch variants' results agree. On the CPU, bit for bit (the interpreter runs every variant's arithmetic
    in the same order). On CUDA the channel sums (dB, dC, dA, the conv's weight) are atomic adds in whatever order
    the programs finish, and each compiled variant may contract multiply-adds differently (r68: equal to print
    precision, not bit for bit), so a bound relative to the norm: a misplaced state or step is an O(1) error."""
    if a.device.type == "cpu":
        return torch.equal(a, c)
    tol = 1e-5 if a.dtype == torch.float32 else 1e-2  # bf16 results: one rounding of a slightly different sum
    a64, c64 = a.double(), c.double()
    return bool((a64 - c64).norm() <= tol * a64.norm() + 1e-30)


def _spy_launches(monkeypatch, name: str, record) -> None:
    """Wrap kernel ``name`` of scan_triton so that each launch first calls ``record(grid, args, kwargs)``."""
    real = getattr(st, name)

    class Spy:
        def __getitem__(self, grid):
            return lambda *a, **k: record(grid, a, k) or real[grid](*a, **k)
    monkeypatch.setattr(st, name, Spy())


def _bidirectional_grads_match(config, dtypes, sizes: tuple, seed: int) -> None:
    """Under ``config``, the bidirectional scan's gradients match the float64 reference for each dtype (inputs
    ``_inputs(*sizes)``, drawn afresh from ``seed`` per dtype)."""
    prev = st.set_launch_config(config)
    try:
        for dtype in dtypes:
            gen = torch.Generator().manual_seed(seed)
            ins = _inputs(*sizes, dtype, gen=gen)
            out = st.bidirectional_selective_scan_triton(**ins, delta_softplus=True)
            _check_grads(out, _ref_bidirectional, ins, TOL[dtype], gen=gen)
    finally:
        st.set_launch_config(prev)


@pytest.mark.parametrize("hist, limit_mb, pf, train_chunk, expected", [
    (True, 4096, True, 0, "two"), (True, 4096, False, 0, "two"), (True, 4096, True, 4, "two"),
    (True, 0, True, 0, "one"), (False, 4096, True, 0, "one")])
def test_seq_backward_in_two_launches_when_its_buffer_fits(monkeypatch, hist, limit_mb, pf, train_chunk, expected):
    """``seq_bwd_hist`` runs the state recompute and the adjoint as two launches (every step's state in a buffer)
    when that buffer fits in ``seq_bwd_hist_mb``, else the one-launch backward; both give the reference's
    gradients (the small_chunks parity tests run each at more sizes), with the adjoint's loads one step ahead
    or not (``seq_bwd_hist_pf``), and from chunk states stored every 4 steps (``seq_train_chunk``)."""
    seen = []
    for name in ("scan_seq_bwd_kernel", "scan_seq_hist_kernel", "scan_seq_bwd_hist_kernel"):
        _spy_launches(monkeypatch, name, lambda grid, a, k, name=name: seen.append(name))
    config = st.TritonScanConfig(chunk=8, seq_bwd_group=4, seq_bwd_hist=hist, seq_bwd_hist_mb=limit_mb,
                                 seq_bwd_hist_pf=pf, seq_train_chunk=train_chunk)
    _bidirectional_grads_match(config, (torch.float32,), (2, 2, 5, 3, 13), 13)
    want = {"two": ["scan_seq_hist_kernel", "scan_seq_bwd_hist_kernel"], "one": ["scan_seq_bwd_kernel"]}[expected]
    assert seen == want, seen


def test_seq_backward_bf16_states(monkeypatch):
    """With ``seq_bwd_hist_bf16`` and bf16 inputs the two-launch backward stores its states in bf16 (half the
    buffer) and its gradients stay within the bf16 tolerance of the float64 reference; float32 inputs keep
    float32 states."""
    dtypes = []
    # a[18]: the states buffer
    _spy_launches(monkeypatch, "scan_seq_hist_kernel", lambda grid, a, k: dtypes.append(a[18].dtype))
    _bidirectional_grads_match(st.TritonScanConfig(chunk=8, seq_bwd_hist=True, seq_bwd_hist_bf16=True),
                               (torch.bfloat16, torch.float32), (2, 2, 6, 16, 19), 17)
    assert dtypes == [torch.bfloat16, torch.float32], dtypes


def test_seq_backward_state_kernel_variants(monkeypatch):
    """Three variants of the two-launch backward's state kernel, each alone and all three, give the defaults'
    gradients (bit for bit on the CPU, ``_same``), in float32 and (on CUDA, the vector path) bf16:
    - ``seq_bwd_hist_vec`` lays the states out ``[.., l, n / 8, BE, 8]`` (8 states of a channel side by side; on
      CUDA with bf16 states written and read by vector accesses) instead of ``[.., l, n, BE]``, and the buffer
      holds the same values at the moved places (fails if a state is written or read at the other layout's place);
    - ``seq_hist_unroll=2`` runs the state kernel two steps a loop trip (an odd length: the last trip is half
      padding);
    - ``seq_hist_channels_per_thread=2`` gives its threads a channel of each of two blocks (3 blocks: the second
      program has no second block)."""
    seen = []
    _spy_launches(monkeypatch, "scan_seq_hist_kernel",
                  lambda grid, a, k: seen.append((a[18], k["HW"], k["HV"], k["U"], k["CPT"], grid[0])))
    ndir, b, e, n, length = 2, 1, 72, 16, 11  # 72 channels: 3 blocks of 32, the last one 3/4 masked
    plain = dict(seq_bwd_hist_vec=False, seq_hist_unroll=1)  # the layout and loop before r68 (now not the defaults)
    variants = [plain, plain | dict(seq_bwd_hist_vec=True), plain | dict(seq_hist_unroll=2),
                plain | dict(seq_hist_channels_per_thread=2),
                dict(seq_bwd_hist_vec=True, seq_hist_unroll=2, seq_hist_channels_per_thread=2)]
    dtypes = (torch.float32, torch.bfloat16) if DEVICE == "cuda" else (torch.float32,)
    for dtype in dtypes:
        grads, bufs = [], []
        for fields in variants:
            seen.clear()
            gen = torch.Generator().manual_seed(29)
            ins = _inputs(ndir, b, e, n, length, dtype, gen=gen)
            prev = st.set_launch_config(st.TritonScanConfig(chunk=8, seq_block_e=32, seq_bwd_hist=True, **fields))
            try:
                out = st.bidirectional_selective_scan_triton(**ins, delta_softplus=True)
                grads.append(torch.autograd.grad(out, list(ins.values()), torch.randn(out.shape, generator=gen)
                                                 .to(DEVICE, out.dtype)))
            finally:
                st.set_launch_config(prev)
            (hs, hw, hv, u, cpt, programs), = seen
            # side by side: on CUDA only in bf16 (by vector accesses; float32 states keep the plain layout)
            vec = fields.get("seq_bwd_hist_vec", False) and (DEVICE == "cpu" or dtype == torch.bfloat16)
            assert (hw, hv) == ((8, DEVICE == "cuda") if vec else (1, False)), (fields, hw, hv)
            assert u == fields.get("seq_hist_unroll", 1), u
            assert (cpt, programs) == ((2, 2) if fields.get("seq_hist_channels_per_thread") == 2 else (1, 3))
            if vec:  # [ndir, b, n_e, l, n / 8, BE, 8] -> [ndir, b, n_e, l, n, BE]
                hs = hs.view(ndir, b, 3, length, n // 8, 32, 8).transpose(-1, -2).reshape(ndir, b, 3, length, n, 32)
            bufs.append(hs.view(ndir, b, 3, length, n, 32))
        for fields, g, hs in zip(variants[1:], grads[1:], bufs[1:]):
            assert _same(hs, bufs[0]), (
                f"{dtype}, {fields}: the stored states differ (or are not where the layout puts them)")
            for name, a, c in zip(ins, grads[0], g):
                assert _same(a, c), f"{dtype}, {fields}: grad {name} differs"


def test_forward_stored_states_change_nothing(monkeypatch):
    """``seq_fwd_hist``: the training forward stores every step's state into the two-launch backward's buffer
    (side by side, as ``seq_bwd_hist_vec``), so that no state kernel runs. The buffer must hold what the state
    kernel writes, value by value, and the gradients must be the state kernel's (``_same``): with sequence
    segments (pass 2 folds the earlier segments' summaries), a ragged length (the last chunk part padding) and 2
    blocks of channels (the last 3/4 masked). Fails if the forward stores the state after the step instead of
    before it, or at the other direction's place."""
    hist_runs, fwd_hist = [], []

    def record_fwd(grid, a, k):  # the whole buffer, of which a[35] is a direction's part
        if k["STORE_HIST"]:
            vec = DEVICE == "cuda" and a[35].dtype == torch.bfloat16  # CUDA: float32 states keep [.., n, BE]
            assert (k["HW"], k["HV"]) == ((8, True) if vec else (1, False) if DEVICE == "cuda" else (8, False)), (
                k["HW"], k["HV"])
            fwd_hist.append(a[35]._base)
    _spy_launches(monkeypatch, "scan_seq_hist_kernel", lambda grid, a, k: hist_runs.append(a[18]))
    _spy_launches(monkeypatch, "scan_seq_fwd_kernel", record_fwd)
    ndir, b, e, n, length = 2, 1, 40, 16, 19  # 5 chunks of 4 in 3 segments, the last chunk 3/4 in the sequence
    dtypes = (torch.float32, torch.bfloat16) if DEVICE == "cuda" else (torch.float32,)
    for dtype in dtypes:
        grads, bufs = [], []
        for fields in (dict(seq_bwd_hist_vec=True), dict(seq_fwd_hist=True)):
            hist_runs.clear()
            fwd_hist.clear()
            gen = torch.Generator().manual_seed(31)
            ins = _inputs(ndir, b, e, n, length, dtype, gen=gen)
            prev = st.set_launch_config(st.TritonScanConfig(chunk=4, seq_block_e=32, segments=3, seq_bwd_hist=True,
                                                            **fields))
            try:
                out = st.bidirectional_selective_scan_triton(**ins, delta_softplus=True)
                grads.append(torch.autograd.grad(out, list(ins.values()),
                                                 torch.randn(out.shape, generator=gen).to(DEVICE, out.dtype)))
            finally:
                st.set_launch_config(prev)
            if fields.get("seq_fwd_hist"):  # pass 2 of both directions in one launch (3 segments)
                assert hist_runs == [] and len(fwd_hist) == 1, (len(hist_runs), len(fwd_hist))
                bufs.append(fwd_hist[0])
            else:
                assert len(hist_runs) == 1 and fwd_hist == [], (len(hist_runs), len(fwd_hist))
                bufs.append(hist_runs[0])
        assert _same(bufs[0], bufs[1]), f"{dtype}: the forward stored other states than the state kernel"
        for name, a, c in zip(ins, *grads):
            assert _same(a, c), f"{dtype}: grad {name} differs"


_VECTOR_PATH_SCRIPT = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("report", "benchmarks/triton_compile_report.py")
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)
hv = dict(HW=8, HV=1)
adj = dict(PF=1, BFLY=1, YS=1)
rows = {name: report.compile_report(kernel, 32, 32, 1, 1, consts, maxnreg=maxnreg) for name, kernel, consts, maxnreg in [
    ("hist", "seqhist", {}, 0), ("hist_vec", "seqhist", hv, 0),
    ("hist_vec_u2_cpt2", "seqhist", hv | dict(U=2, CPT=2), 0),
    ("adj", "seqbwdhist", adj, 168), ("adj_vec", "seqbwdhist", adj | hv, 168)]}
print(json.dumps(rows))
"""


def test_state_buffer_vector_path_compiles_for_sm90():
    """The side-by-side states' CUDA path (``seq_bwd_hist_vec`` with bf16 states: inline PTX that packs and stores
    8 states with one ``st.global.v4``, and loads them with one ``ld.global.nc.v4``) cannot run in the interpreter,
    so this compiles it for sm_90a with Triton's ptxas (no GPU needed; ``benchmarks/triton_compile_report.py``, in
    a subprocess without the interpreter) and checks the compiled loops: no spills, the state kernel's step stores
    its 16 states with 2 instructions instead of 16 (4 a step with two channels a thread, 8 a trip of two steps),
    and the adjoint's step loads them with 2 instead of 16."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    run = subprocess.run([sys.executable, "-c", _VECTOR_PATH_SCRIPT], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).resolve().parents[2], timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = json.loads(run.stdout.strip().splitlines()[-1])
    assert all(r["spill_store_bytes"] == 0 for r in rows.values()), {k: r["spill_store_bytes"] for k, r in rows.items()}
    stores = {k: rows[k]["loop_stores"] for k in ("hist", "hist_vec", "hist_vec_u2_cpt2")}
    assert stores == {"hist": 16, "hist_vec": 2, "hist_vec_u2_cpt2": 8}, stores
    loads = rows["adj"]["loop_loads"] - rows["adj_vec"]["loop_loads"]
    assert loads == 14, f"the adjoint's step: {loads} loads fewer with the states side by side, not 16 - 2"


@pytest.mark.parametrize("ysum", [True, False])
def test_seq_backward_dz_from_the_forwards_output(monkeypatch, ysum):
    """With ``seq_bwd_ysum`` the forward's gate kernel keeps ``(y_0 + y_1) / 2`` and the two-launch adjoint writes
    dz from it (YS), in z's dtype, instead of recomputing each direction's output; off, each direction writes its
    float32 term. Both give the reference's gradients in float32 and bf16."""
    seen = []
    _spy_launches(monkeypatch, "scan_seq_bwd_hist_kernel", lambda grid, a, k: seen.append(k["YS"]))
    _bidirectional_grads_match(st.TritonScanConfig(chunk=8, segments=3, seq_bwd_hist=True, seq_bwd_ysum=ysum),
                               (torch.float32, torch.bfloat16), (2, 2, 5, 4, 21), 23)
    assert seen == [ysum, ysum], seen


@pytest.mark.parametrize("group", [2, 4])
def test_seq_train_chunk_sets_the_stored_states(monkeypatch, group):
    """With ``seq_train_chunk`` the training forward stores a state every that many steps and the backward
    restarts from them (gradients still match the float64 reference); inference keeps ``chunk``. With groups of
    the chunk's length the backward skips its first recompute (the chunk state is the group state)."""
    seen = []
    real_fwd, real_bwd = st._seq_forward, st._seq_backward
    monkeypatch.setattr(st, "_seq_forward", lambda *a, **k: seen.append(("fwd", a[9], a[11])) or real_fwd(*a, **k))
    monkeypatch.setattr(st, "_seq_backward",
                        lambda *a, **k: seen.append(("bwd", a[16], a[8].shape[2])) or real_bwd(*a, **k))
    _spy_launches(monkeypatch, "scan_seq_bwd_kernel", lambda grid, a, k: seen.append(("kernel", k["T"], k["G"])))
    gen = torch.Generator().manual_seed(11)
    ins = _inputs(2, 2, 5, 3, 21, torch.float32, gen=gen)
    prev = st.set_launch_config(st.TritonScanConfig(chunk=8, seq_train_chunk=4, seq_bwd_group=group,
                                                    seq_block_e=32, seq_bwd_hist=False))  # the one-launch kernel
    try:
        out = st.bidirectional_selective_scan_triton(**ins, delta_softplus=True)  # [b, e, l]
        _check_grads(out, lambda **k: _ref_bidirectional(**k), ins, TOL[torch.float32], gen=gen)
        st.bidirectional_selective_scan_triton(**{k: v.detach() for k, v in ins.items()}, delta_softplus=True)
    finally:
        st.set_launch_config(prev)
    # (forward, chunk, states stored), (backward, chunk, chunks in the stored states: cdiv(21, 4)), inference
    assert seen == [("fwd", 4, True), ("bwd", 4, 6), ("kernel", 4, group), ("fwd", 8, False)], seen


def test_seq_infer_chunk_sets_the_segments(monkeypatch):
    """With ``seq_infer_chunk`` inference segments the sequence in chunks of that size (here 3 segments of 4
    steps and a short one), with the same output as whole-sequence chunks; training keeps ``chunk``."""
    seen = []
    real_fwd = st._seq_forward
    monkeypatch.setattr(st, "_seq_forward", lambda *a, **k: seen.append((a[9], a[10], a[11])) or real_fwd(*a, **k))
    gen = torch.Generator().manual_seed(12)
    ins = {k: v.detach() for k, v in _inputs(2, 2, 5, 3, 14, torch.float32, gen=gen).items()}
    outs = []
    for infer_chunk in (0, 4):
        prev = st.set_launch_config(st.TritonScanConfig(chunk=16, seq_infer_chunk=infer_chunk, segments=4,
                                                        seq_block_e=32))
        try:
            outs.append(st.bidirectional_selective_scan_triton(**ins, delta_softplus=True))  # [b, e, l]
            if infer_chunk:
                st.bidirectional_selective_scan_triton(**{k: v.requires_grad_() if v.is_floating_point() else v
                                                          for k, v in ins.items()}, delta_softplus=True)
        finally:
            st.set_launch_config(prev)
    assert seen == [(16, 1, False), (4, 4, False), (16, 1, True)], seen  # (chunk, nchunks, states stored)
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-5, atol=1e-6)
    ref = _ref_bidirectional(**{k: v.double() for k, v in ins.items()})
    assert _rel(outs[1], ref) < TOL[torch.float32]


@pytest.mark.parametrize("gate", [True, False], ids=["gated", "no-z"])
def test_passes_of_both_directions_in_one_launch(monkeypatch, gate):
    """With sequence segments, pass 1 and pass 2 of both directions can each be one launch (``seq_pass1_both``,
    ``seq_pass2_both``; pass 2 then combines in ``gate_average_kernel``), with the outputs and gradients of one
    launch per direction (the chunk states stored for the backward included)."""
    launches = []
    _spy_launches(monkeypatch, "scan_seq_fwd_kernel",
                  lambda grid, a, k: launches.append((k["PASS"], k["BOTH"], grid[2])))
    _spy_launches(monkeypatch, "gate_average_kernel", lambda grid, a, k: launches.append(("avg", k["GATE"])))
    gen = torch.Generator().manual_seed(13)
    ins = _inputs(2, 2, 6, 4, 21, torch.float32, gen=gen)
    if not gate:
        ins["z"] = None
    g = torch.randn(2, 6, 21, generator=gen).to(DEVICE)  # the output's gradient [b, e, l]
    leaves = [v for v in ins.values() if v is not None]
    outs = []
    for both1, both2 in ((False, False), (True, False), (False, True), (True, True)):
        prev = st.set_launch_config(st.TritonScanConfig(chunk=8, segments=3, seq_block_e=32, seq_bwd_group=4,
                                                        seq_pass1_both=both1, seq_pass2_both=both2, seq_ahead=2))
        try:
            launches.clear()
            out = st.bidirectional_selective_scan_triton(**ins, delta_softplus=True)  # [b, e, l]
            # (pass, BOTH, programs on the grid's segment axis): 3 segments of 8 steps (the last one short)
            want = [(1, True, 4)] if both1 else [(1, False, 2)] * 2
            want += [(2, True, 6), ("avg", gate)] if both2 else [(2, False, 3)] * 2
            assert launches == want, (both1, both2, launches)
            outs.append((out, *torch.autograd.grad(out, leaves, g)))
        finally:
            st.set_launch_config(prev)
    for other in outs[1:]:
        for a, b in zip(outs[0], other):
            torch.testing.assert_close(b, a, rtol=1e-6, atol=1e-6)
    ins64 = {k: v.detach().double() if v is not None else torch.full((2, 6, 21), 40.0, dtype=torch.float64, device=DEVICE)
             for k, v in ins.items()}  # silu(40) = 40: no gate, up to the factor 40
    ref = _ref_bidirectional(**ins64) / (1.0 if gate else 40.0)
    assert _rel(outs[-1][0], ref) < TOL[torch.float32]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16] if DEVICE == "cuda" else [torch.float32])
def test_two_channels_a_thread_equal_one(monkeypatch, dtype):
    """``seq_channels_per_thread=2``: each thread of the seq forward scans a second channel 32 on, with the
    same B, C rows (on CUDA handed out by shuffles). Every channel's arithmetic is the same as with one, so
    outputs and gradients must be bit-identical: 48 channels (the second set half masked), d_state 16 with B,
    C in one token-major buffer (the vector-load layout on CUDA), 3 segments, both directions, 4 steps ahead,
    the chunk states stored for the backward; then the low-memory mixer path, whose scan computes dt_proj
    itself. (bf16 on CUDA only: the interpreter's float32 run takes most of a minute.)"""
    launches = []
    _spy_launches(monkeypatch, "scan_seq_fwd_kernel",
                  lambda grid, a, k: launches.append((grid[0], k["CPT"], k["DT_R"])))
    gen = torch.Generator().manual_seed(17)
    ins = _inputs(2, 2, 48, 16, 21, dtype, gen=gen)
    bc = torch.randn(2, 2, 21, 32, generator=gen).to(DEVICE, dtype)  # [2, b, l, 2n]
    ins["B"] = bc[..., :16].transpose(-1, -2).requires_grad_()  # [2, b, n, l]
    ins["C"] = bc[..., 16:].transpose(-1, -2).requires_grad_()
    g = torch.randn(2, 48, 21, generator=gen).to(DEVICE, dtype)
    cuda = DEVICE == "cuda"
    outs = []
    for cpt in (1, 2):
        prev = st.set_launch_config(st.TritonScanConfig(chunk=8, segments=3, seq_block_e=32, seq_bwd_group=4,
                                                        seq_ahead=4, seq_fast_math=cuda, seq_vec_bc=cuda,
                                                        seq_channels_per_thread=cpt))
        try:
            launches.clear()
            out = st.bidirectional_selective_scan_triton(**ins, delta_softplus=True)  # [b, e, l]
            assert set(launches) == {(2 // cpt, cpt, 0)}, f"programs, CPT, DT_R of each launch: {launches}"
            outs.append((out, *torch.autograd.grad(out, list(ins.values()), g)))
        finally:
            st.set_launch_config(prev)
    for name, a, b in zip(["out", *ins], *outs):
        assert torch.equal(a, b), f"{name}: two channels a thread differ from one ({(a - b).abs().max():.2e})"

    from einops import rearrange

    from ssamba_lab.models.mamba_mixer import MambaMixer

    torch.manual_seed(8)
    mixer = MambaMixer(dim=24, d_state=16, d_conv=4, expand=2, dt_rank=5).to(DEVICE)
    h = torch.randn(2, 17, 24, device=DEVICE)
    ys = []
    with torch.no_grad(), torch.autocast(DEVICE, dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
        x, z = rearrange(mixer.in_proj(h), "b l (two e) -> two b e l", two=2)
        for cpt in (1, 2):
            prev = st.set_launch_config(st.TritonScanConfig(chunk=8, segments=2, seq_block_e=32, seq_ahead=4,
                                                            seq_fast_math=cuda, seq_vec_bc=cuda,
                                                            low_memory_tokens=1, seq_channels_per_thread=cpt))
            try:
                launches.clear()
                ys.append(st.bidirectional_mixer_triton(x, z, mixer.direction_params(""),
                                                        mixer.direction_params("_b")))
                assert set(launches) == {(2 // cpt, cpt, 5)}, f"dt_proj (rank 5) fused in each: {launches}"
            finally:
                st.set_launch_config(prev)
    assert torch.equal(*ys), f"mixer with the fused dt_proj: max difference {(ys[0] - ys[1]).abs().max():.2e}"


def test_seq_ahead_auto_choice():
    """``seq_ahead=0`` loads 4 steps ahead on CUDA, 1 off CUDA; a set value wins; values other than 0, 1, 2, 4 are
    refused."""
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    prev = st.set_launch_config(st.TritonScanConfig())
    try:
        assert st._auto_ahead(cuda) == 4 and st._auto_ahead(cpu) == 1
        st.set_launch_config(st.TritonScanConfig(seq_ahead=2))
        assert st._auto_ahead(cuda) == 2 and st._auto_ahead(cpu) == 2
    finally:
        st.set_launch_config(prev)
    with pytest.raises(AssertionError, match="seq_ahead"):
        st.TritonScanConfig(seq_ahead=3)


_CONVS = [(40, False, 0, 4, torch.float32), (300, False, 0, 4, torch.float32), (40, True, 0, 4, torch.float32),
          (300, True, 16, 4, torch.float32), (37, True, 8, 3, torch.float32), (45, True, 16, 4, torch.bfloat16)]


@pytest.mark.parametrize("length, seq, steps, k, dtype", _CONVS,
                         ids=["tiles-40", "tiles-300", "seq-40", "seq-300-segments16", "seq-37-segments8-k3",
                              "seq-45-segments16-bf16"])
def test_bidirectional_conv_matches_flipped_causal_conv(length, seq, steps, k, dtype, monkeypatch):
    """The tile kernels (``conv_seq=False``; at 300 steps the backward's first part splits the sequence over
    programs, 256 steps each in tiles of 32, its second part over tiles of 64) and the backward a thread a channel
    (whole sequence a program, or segments of 16 / 8 positions with a ragged last one, where each segment's
    re-walked 3 positions a side meet its neighbours'; a 3-tap conv as 4 taps with a leading zero; bf16 x, as
    in_proj's output under autocast, with float32 weights)."""
    monkeypatch.setattr(st, "_CONFIG", st.TritonScanConfig(conv_seq=seq, conv_seq_steps=steps))
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, length, 5, generator=gen).to(DEVICE, dtype).transpose(1, 2).requires_grad_()  # [b, e, l]
    w = torch.randn(2, 5, k, generator=gen).to(DEVICE).requires_grad_()
    bias = torch.randn(2, 5, generator=gen).to(DEVICE).requires_grad_()

    def ref(x, w, bias):
        fwd = causal_conv1d_torch(x, w[0], bias[0])
        bwd = causal_conv1d_torch(x.flip(-1), w[1], bias[1]).flip(-1)
        return torch.stack([fwd, bwd])  # [2, b, e, l]

    out = st.bidirectional_conv1d_triton(x, w, bias)
    assert out.shape == (2, 2, 5, length) and out.dtype == dtype
    _check_grads(out, ref, dict(x=x, w=w, bias=bias), TOL[dtype], gen=gen)


@pytest.mark.parametrize("seq", [True, False], ids=["seq", "tiles"])
def test_conv_with_two_consumers_adds_their_gradients_in_its_backward(seq, monkeypatch):
    """The mixer's conv returns its output twice, ``[2, b, e, l]`` for the scan and ``[2, b*l, e]`` for x_proj (one
    buffer): the backward gets each consumer's gradient and adds them itself (the seq kernel as it loads them,
    TWO), giving what one output with the summed gradient gives."""
    monkeypatch.setattr(st, "_CONFIG", st.TritonScanConfig(conv_seq=seq))
    two = []
    _spy_launches(monkeypatch, "conv_bidir_bwd_seq_kernel", lambda grid, a, k: two.append(k["TWO"]))
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(2, 5, 23, generator=gen).to(DEVICE).requires_grad_()  # [b, e, l]
    w = torch.randn(2, 5, 4, generator=gen).to(DEVICE).requires_grad_()
    bias = torch.randn(2, 5, generator=gen).to(DEVICE).requires_grad_()
    g1 = torch.randn(2, 2, 5, 23, generator=gen).to(DEVICE)  # [2, b, e, l]
    g2 = torch.randn(2, 2 * 23, 5, generator=gen).to(DEVICE)  # [2, b*l, e]
    u, u_tok = st._ConvFn.apply(x, w, bias, True)
    assert u_tok.data_ptr() == u.data_ptr() and torch.equal(u_tok, u.transpose(2, 3).reshape(2, 46, 5))
    got = torch.autograd.grad((u * g1).sum() + (u_tok * g2).sum(), (x, w, bias))
    want = torch.autograd.grad((st.bidirectional_conv1d_triton(x, w, bias)
                                * (g1 + g2.view(2, 2, 23, 5).transpose(2, 3))).sum(), (x, w, bias))
    for name, a, r in zip(("x", "w", "bias"), got, want):
        assert _rel(a, r) < 1e-6, f"grad {name}: rel error {_rel(a, r):.2e}"
    assert two == ([True, False] if seq else []), two


def test_conv_backward_steps_a_trip_change_nothing(monkeypatch):
    """``conv_seq_unroll`` runs the seq conv backward U steps a loop trip (the windows shift by renaming inside a
    trip); its gradients are one step a trip's (``_same``), for the whole sequence a program and for ragged
    segments of 8 positions (steps past a program's end change nothing)."""
    gen = torch.Generator().manual_seed(31)
    x = torch.randn(2, 5, 37, generator=gen).to(DEVICE).requires_grad_()  # [b, e, l]
    w = torch.randn(2, 5, 4, generator=gen).to(DEVICE).requires_grad_()
    bias = torch.randn(2, 5, generator=gen).to(DEVICE).requires_grad_()
    g = torch.randn(2, 2, 5, 37, generator=gen).to(DEVICE)
    unrolls = []
    _spy_launches(monkeypatch, "conv_bidir_bwd_seq_kernel", lambda grid, a, k: unrolls.append(k["U"]))
    for steps in (0, 8):
        grads = {}
        for unroll in (1, 2, 4, 8):
            monkeypatch.setattr(st, "_CONFIG", st.TritonScanConfig(conv_seq_steps=steps, conv_seq_unroll=unroll))
            grads[unroll] = torch.autograd.grad((st.bidirectional_conv1d_triton(x, w, bias) * g).sum(), (x, w, bias))
        for unroll in (2, 4, 8):
            for name, a, r in zip(("x", "w", "bias"), grads[unroll], grads[1]):
                assert _same(a, r), f"segments {steps}, {unroll} steps a trip: grad {name} differs"
    assert unrolls == [1, 2, 4, 8] * 2, unrolls


_CARRIED_SCRIPT = """
import re, sys, triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from ssamba_lab.ops.triton_conv_kernels import conv_bidir_bwd_seq_kernel as fn
names = fn.arg_names
sig = {a: "constexpr" if a in ("BE", "U") else ("*bf16" if a in ("x_ptr", "gu_ptr", "gx_ptr") else "*fp32")
       if a.endswith("_ptr") else "i32" for a in names}
src = ASTSource(fn=fn, signature=sig, constexprs={(names.index("BE"),): 32, (names.index("U"),): int(sys.argv[1])})
ttir = triton.compile(src, target=GPUTarget("cuda", 90, 32), options=dict(num_warps=1)).asm["ttir"]
loop = next(line for line in ttir.splitlines() if "scf.for" in line)
print(" ".join(re.findall(r"%([A-Za-z]\\w*?)(?:_\\d+)? = %", loop.split("iter_args(")[1].split(")")[0])))
"""


@pytest.mark.parametrize("unroll", [1, 4])
def test_conv_backward_loop_carries_its_windows(unroll):
    """The seq conv backward shifts windows of earlier gradients (``f3, f2, f1 = f2, f1, f0``) through its loop;
    Triton's compiler carries a variable only if its value changes in the body, which windows started from one
    shared zero tensor defeat (they compiled to a loop carrying f1 alone: wrong dx on the H200, r28), while the
    interpreter runs plain Python and passes. So this compiles the kernel for sm_90 (no GPU needed; in a
    subprocess, as this module runs the interpreter) and checks that every window value is carried, at one and at
    four steps a loop trip (``conv_seq_unroll``)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    run = subprocess.run([sys.executable, "-c", _CARRIED_SCRIPT, str(unroll)], capture_output=True, text=True, env=env,
                         timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    carried = set(run.stdout.split())
    windows = {"f1", "f2", "f3", "g1", "g2", "g3", "g4", "g5", "g6", "xm3", "xm2", "xm1", "x0", "xp1", "xp2", "xp3",
               *(f"q{i}" for i in range(1, 9)), *(f"gf{i}" for i in range(8)), *(f"gb{i}" for i in range(8))}
    assert windows <= carried, f"not carried through the loop: {sorted(windows - carried)}"


def _autograd_nodes(t: torch.Tensor) -> set[str]:
    """Names of every node of t's backward graph."""
    seen, names, todo = set(), set(), [t.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        names.add(type(fn).__name__)
        todo.extend(f for f, _ in fn.next_functions)
    return names


def test_mixer_backward_takes_x_dbl_apart_with_one_cat():
    """x_proj's output is split into dt_in, B and C by ``_SplitColumnsFn``, whose backward is one cat: no
    ``SliceBackward0`` (a zero fill and a copy each, then adds) in the mixer's backward graph. Its backward puts
    each block's gradient in its columns, zeros for a block that got none."""
    from ssamba_lab.models.mamba_mixer import MambaMixer

    torch.manual_seed(8)
    mixer = MambaMixer(dim=8, d_state=4, d_conv=4, expand=2).to(DEVICE)
    x, z = torch.randn(2, 2, 16, 11, device=DEVICE).unbind(0)  # [b, e, l] each
    y = st.bidirectional_mixer_triton(x, z, mixer.direction_params(""), mixer.direction_params("_b"))
    nodes = _autograd_nodes(y)
    assert "_SplitColumnsFnBackward" in nodes and "SliceBackward0" not in nodes, sorted(nodes)

    x_dbl = torch.randn(2, 5, 3 + 2 * 4, device=DEVICE, requires_grad=True)
    dt_in, B, C = st._SplitColumnsFn.apply(x_dbl, 3, 4)
    assert (dt_in.shape, B.shape, C.shape) == ((2, 5, 3), (2, 5, 4), (2, 5, 4))
    assert torch.equal(torch.cat([dt_in, B, C], -1), x_dbl)
    (g,) = torch.autograd.grad((B * 2).sum() + (C * 3).sum(), x_dbl)  # dt_in unused: autograd gives it zeros
    want = torch.cat([torch.zeros(2, 5, 3), torch.full((2, 5, 4), 2.0), torch.full((2, 5, 4), 3.0)], -1)
    assert torch.equal(g.cpu(), want)


def test_fused_mixer_matches_flip_mixer(small_chunks):
    """``bidirectional_mixer_triton`` inside a MambaMixer equals the mixer's own flip-based torch path."""
    from einops import rearrange

    from ssamba_lab.models.mamba_mixer import MambaMixer

    torch.manual_seed(6)
    mixer = MambaMixer(dim=8, d_state=4, d_conv=4, expand=2).to(DEVICE).double()
    mixer.scan_backend = "torch"
    h = torch.randn(2, 19, 8, device=DEVICE, dtype=torch.float64)
    ref = mixer(h)  # [b, l, dim]
    ref_grads = torch.autograd.grad(ref.sum(), list(mixer.parameters()))
    m32 = mixer.float()
    xz = m32.in_proj(h.float())  # [b, l, 2e]
    x, z = rearrange(xz, "b l (two e) -> two b e l", two=2)
    y = st.bidirectional_mixer_triton(x, z, m32.direction_params(""), m32.direction_params("_b"))  # [b, e, l]
    out = m32.out_proj(rearrange(y, "b e l -> b l e"))
    assert _rel(out, ref) < 1e-5, f"mixer forward rel error {_rel(out, ref):.2e}"
    grads = torch.autograd.grad(out.sum(), list(m32.parameters()))
    for (name, _), a, r in zip(m32.named_parameters(), grads, ref_grads):
        assert _rel(a, r) < 1e-4, f"grad {name}: rel error {_rel(a, r):.2e}"


def test_prepare_mixer_pads_in_front():
    """``prepare_mixer``'s x_proj rows are 0 (pad) | dt_in | B | C and dt_proj's columns 0 (pad) | W, so x_dbl's B, C
    start on a multiple of 8 columns (dt rank 5 + 2 x 4 states -> 3 zero rows); every parameter of both directions
    gets its gradient through them."""
    from ssamba_lab.models.mamba_mixer import MambaMixer

    torch.manual_seed(23)
    mixer = MambaMixer(dim=8, d_state=4, d_conv=4, expand=2, dt_rank=5)
    w = st.prepare_mixer(mixer.direction_params(""), mixer.direction_params("_b"))
    assert w.x_proj_weight.shape == (2, 16, 16) and w.dt_proj_weight.shape == (2, 16, 8) and w.rank == 5
    for d, suffix in enumerate(("", "_b")):
        x_proj, dt_proj = getattr(mixer, f"x_proj{suffix}"), getattr(mixer, f"dt_proj{suffix}")
        torch.testing.assert_close(w.x_proj_weight[d, 3:], x_proj.weight, rtol=0, atol=0)
        torch.testing.assert_close(w.dt_proj_weight[d, :, 3:], dt_proj.weight, rtol=0, atol=0)
    assert w.x_proj_weight[:, :3].abs().max() == 0 and w.dt_proj_weight[..., :3].abs().max() == 0
    fields = ("conv_weight", "conv_bias", "x_proj_weight", "dt_proj_weight", "A", "D", "dt_bias")
    loss = sum(getattr(w, f).sum() for f in fields)
    grads = torch.autograd.grad(loss, list(mixer.parameters()), allow_unused=True)  # None: in_proj, out_proj
    assert sum(g is not None for g in grads) == 14, "both directions' 7 parameters get gradients"


def test_mixer_keeps_prepared_weights_in_inference(monkeypatch):
    """Without gradients a MambaMixer builds the Triton mixer's stacked weights once and reuses them until a
    parameter changes (in place, or by a move to another storage); each result equals the path with gradients,
    which builds them every call."""
    from dataclasses import replace

    from ssamba_lab.models.mamba_mixer import MambaMixer
    from ssamba_lab.ops import backend

    prepared = []
    real = backend._load("triton")
    counted = replace(real, prepare_mixer=lambda f, b: prepared.append(1) or real.prepare_mixer(f, b))
    monkeypatch.setattr(MambaMixer, "backend_ops", lambda self, x: counted)
    torch.manual_seed(9)
    mixer = MambaMixer(dim=8, d_state=4, d_conv=4, expand=2).to(DEVICE)
    h = torch.randn(2, 19, 8, device=DEVICE)

    def with_grad():
        return mixer(h).detach()  # [b, l, dim]

    with torch.no_grad():
        y1, y2 = mixer(h), mixer(h)  # [b, l, dim] each
    assert len(prepared) == 1, "the second call reuses the weights"
    torch.testing.assert_close(y2, y1, rtol=0, atol=0)
    torch.testing.assert_close(y1, with_grad(), rtol=1e-6, atol=1e-6)
    assert len(prepared) == 1, "with gradients nothing is kept"
    with torch.no_grad():
        mixer.A_b_log.add_(1.0)  # an in-place update (an optimizer step, load_state_dict)
        mixer.x_proj.weight.mul_(3.0)
        mixer.D_b.add_(2.0)
        y3 = mixer(h)
    assert len(prepared) == 2, "an in-place update rebuilds the weights"
    assert _rel(y3, y1) > 0.1, "the update changes the output"
    torch.testing.assert_close(y3, with_grad(), rtol=1e-6, atol=1e-6)
    mixer.double()  # new storage
    with torch.no_grad():
        y4 = mixer(h.double())
    assert len(prepared) == 3, "new storage rebuilds the weights"
    torch.testing.assert_close(y4.float(), y3, rtol=1e-5, atol=1e-5)


_ONE_AT_A_TIME = [(1, False, torch.float32), (3, False, torch.float32), (3, True, torch.float32)]
_ONE_AT_A_TIME_IDS = ["seq", "seq-3segments", "seq-3segments-fused-dt-ahead2"]
if torch.cuda.is_available():  # bf16 activations: the vector loads of B, C and of dt_proj's input (CUDA only)
    _ONE_AT_A_TIME += [(3, True, torch.bfloat16)]
    _ONE_AT_A_TIME_IDS += ["seq-3segments-fused-dt-bf16-ahead2"]


@pytest.mark.parametrize("segments, fuse_dt, dtype", _ONE_AT_A_TIME, ids=_ONE_AT_A_TIME_IDS)
def test_mixer_one_direction_at_a_time_matches_flip_mixer(segments, fuse_dt, dtype, monkeypatch):
    """Inference of many tokens runs the two directions one after the other (``low_memory_tokens``), optionally
    with dt_proj inside the scan (``seq_fuse_dt``); it computes what the mixer's flip-based torch path computes."""
    from dataclasses import dataclass, replace

    from einops import rearrange

    from ssamba_lab.models.mamba_mixer import MambaMixer

    calls, fused = [], []
    one_at_a_time = st._mixer_one_direction_at_a_time
    monkeypatch.setattr(st, "_mixer_one_direction_at_a_time", lambda *a: calls.append(1) or one_at_a_time(*a))

    @dataclass(frozen=True)
    class CountedLowRankDt(st.LowRankDt):
        def __post_init__(self):
            fused.append(self.x.shape[1])

    monkeypatch.setattr(st, "LowRankDt", CountedLowRankDt)
    torch.manual_seed(8)
    n = 16 if dtype == torch.bfloat16 else 4  # the vector loads of B, C need d_state 16
    mixer = MambaMixer(dim=8, d_state=n, d_conv=4, expand=2, dt_rank=5).to(DEVICE).double()
    mixer.scan_backend = "torch"
    h = torch.randn(2, 27, 8, device=DEVICE, dtype=torch.float64)
    with torch.no_grad():
        ref = mixer(h)  # [b, l, dim]
        m32 = mixer.float()
        x, z = rearrange(m32.in_proj(h.float()).to(dtype), "b l (two e) -> two b e l", two=2)
        prev = st.set_launch_config(st.TritonScanConfig(chunk=8, forward="seq", segments=segments, seq_block_e=32,
                                                        seq_unroll=1, low_memory_tokens=2 * 27, seq_fuse_dt=fuse_dt,
                                                        seq_ahead=2 if fuse_dt else 1))  # the dt_in rows queued too
        try:
            with torch.autocast(DEVICE, dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
                y = st.bidirectional_mixer_triton(x, z, m32.direction_params(""), m32.direction_params("_b"))
                assert calls == [1], "54 tokens at low_memory_tokens=54: the one-direction-at-a-time path"
                assert fused == ([5, 5] if fuse_dt else []), "dt_proj (rank 5) fused into each direction's scan"
                st.set_launch_config(replace(st._CONFIG, low_memory_tokens=2 * 27 + 1))  # one token short
                y_both = st.bidirectional_mixer_triton(x, z, m32.direction_params(""), m32.direction_params("_b"))
                assert calls == [1], "one token short of low_memory_tokens: both directions at once"
        finally:
            st.set_launch_config(prev)
        out = m32.out_proj(rearrange(y.float(), "b e l -> b l e"))
    tol = TOL[dtype]
    assert _rel(out, ref) < tol, f"mixer forward rel error {_rel(out, ref):.2e}"
    assert _rel(y, y_both) < tol, f"one direction at a time vs both at once: rel difference {_rel(y, y_both):.2e}"


@pytest.mark.parametrize("batch,e,nchunks,expected", [
    (4, 384, 688, 33),   # ssamba-tiny, 4 x 22016 tokens (one direction at a time): 48 warps a segment
    (4, 1536, 688, 8),   # ssamba-base, 4 x 22016: 192 warps a segment
    (64, 384, 16, 2),    # ssamba-tiny training, 64 x 512 (chunks of 32): 768 warps a segment
    (64, 1536, 16, 1),   # ssamba-base training: one direction's programs already fill a wave
    (4, 384, 16, 16),    # ssamba-tiny, 4 x 512: at most one segment a chunk
])
def test_auto_segments_fill_at_most_one_wave(monkeypatch, batch, e, nchunks, expected):
    """The seq forward's automatic segment count on a 132-SM device (an H200's count, faked here): the most
    segments whose programs for one direction fit one wave of ``seq_warps_per_sm`` warps a SM."""
    class Props:
        multi_processor_count = 132

    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: Props())
    cfg = st.TritonScanConfig()
    previous = st.set_launch_config(cfg)
    try:
        nseg = st._auto_segments(batch, e, nchunks, cfg.seq_block_e, torch.device("cuda"))
    finally:
        st.set_launch_config(previous)
    assert nseg == expected, f"{nseg} segments for batch {batch}, e {e}, {nchunks} chunks"
    warps = batch * e // 32
    assert nseg == 1 or nseg == nchunks or nseg * warps <= cfg.seq_warps_per_sm * 132 < (nseg + 1) * warps
    assert st._auto_segments(batch, e, nchunks, cfg.seq_block_e, torch.device("cpu")) == 1
