"""Unit tests of ssamba_lab.profiling: shapes, OOM handling, sweep guards, the row schema and the ratio table.

Fake builders stand in for the encoders so the tests exercise the measurement logic in milliseconds.
"""
from __future__ import annotations

import math
import time

import pandas as pd
import pytest
import torch
from torch import nn

from ssamba_lab.profiling import (ROW_COLUMNS, MeasureConfig, PeakMemory, ProfilePoint, ProfileRow, SweepConfig,
                                  build_for_point, compare_with_facts, config_for, explicit_attention_bytes,
                                  input_shape_for, is_oom, plan_points, profile_point, ratio_table, rows_to_frame,
                                  run_sweep)
from ssamba_lab.profiling import measure as measure_mod
from ssamba_lab.profiling.lengths import InputShape
from ssamba_lab.profiling.timing import time_runs

FAST = MeasureConfig(device="cpu", warmup=1, repeats=3, min_repeats=1, budget_s=5.0)


class _Tiny(nn.Module):
    """[b, frames, bins] -> [b, frames, 8]; optionally raises, or allocates ``extra_bytes`` inside forward."""

    def __init__(self, *, bins: int = 4, exc: BaseException | None = None, extra_bytes: int = 0):
        super().__init__()
        self.lin = nn.Linear(bins, 8)
        self.exc, self.extra_bytes = exc, extra_bytes

    def forward(self, x):
        if self.exc is not None:
            raise self.exc
        if self.extra_bytes:
            scratch = torch.ones(self.extra_bytes // 4)  # [n] touched, so it is resident
            x = x + scratch[:1]  # [b, frames, bins]
        return self.lin(x)  # [b, frames, 8]


def _builder(model_factory, calls=None):
    def build(point: ProfilePoint):
        if calls is not None:
            calls.append(point)
        return model_factory(point), InputShape(frames=6, bins=4, grid=(1, 6), num_patches=6, seq_len=7)
    return build


# ---- lengths ---------------------------------------------------------------------------------------------------
def test_tokens_to_frames_follow_the_patch_geometry():
    ssamba, shape = config_for("ssamba-tiny", 512)
    assert (shape.frames, shape.grid, shape.num_patches, shape.seq_len) == (1024, (8, 64), 512, 513)
    assert ssamba.input_tdim == 1024 and ssamba.grid == shape.grid  # position table fits: no resampling
    ssast, shape = config_for("ssast-tiny", 22016, attn_impl="explicit")
    assert (shape.frames, shape.num_patches, shape.seq_len) == (2 * 22016, 22016, 22018)
    assert ssast.attn_impl == "explicit"
    shape = input_shape_for(config_for("ssam-tiny", 1)[0], 65536)  # 5 rows of 16 bins over 80, 4-frame columns
    assert shape.grid == (5, 13108) and shape.num_patches >= 65536 and shape.frames == 4 * 13108


def test_built_encoder_sees_the_planned_sequence_length():
    point = ProfilePoint(model="ssast-tiny", tokens=40, attn_impl="sdpa", batch_size=1)
    model, shape = build_for_point(point)
    with torch.inference_mode():
        out = model(torch.randn(1, shape.frames, shape.bins))  # [1, P + N, D]
    assert out.shape == (1, shape.seq_len, 192)


def test_attn_impl_is_refused_for_mamba():
    with pytest.raises(AssertionError, match="transformers"):
        config_for("ssamba-tiny", 512, attn_impl="sdpa")


# ---- one point -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("exc", [torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 44 GiB"),
                                 RuntimeError("CUDA error: out of memory"),
                                 RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried 9 TB")])
def test_out_of_memory_becomes_a_row(exc):
    point = ProfilePoint(model="ssast-tiny", tokens=512, attn_impl="explicit")
    row = profile_point(point, measure=FAST, builder=_builder(lambda p: _Tiny(exc=exc)))
    assert is_oom(exc)
    assert row.status == "oom" and math.isnan(row.latency_ms_median) and row.n_repeats == 0
    assert type(exc).__name__ in row.note and row.label == "ssast-tiny/explicit"


def test_other_failures_become_error_rows():
    row = profile_point(ProfilePoint(model="ssamba-tiny", tokens=64), measure=FAST,
                        builder=_builder(lambda p: _Tiny(exc=ValueError("bad layout"))))
    assert row.status == "error" and row.note == "ValueError: bad layout"
    assert not is_oom(ValueError("out of memory"))  # only RuntimeErrors carry extension OOMs


def test_ok_row_schema_and_measures():
    point = ProfilePoint(model="ssamba-tiny", tokens=6, batch_size=2)
    row = profile_point(point, measure=FAST, builder=_builder(lambda p: _Tiny(extra_bytes=64 * 2 ** 20)))
    assert row.status == "ok" and 1 <= row.n_repeats <= FAST.repeats
    assert row.latency_ms_min <= row.latency_ms_median <= row.latency_ms_max
    assert row.samples_per_s == pytest.approx(2 / (row.latency_ms_median / 1e3))
    assert row.memory_measure == "cpu_rss_sampled" and row.working_mib > 48  # the 64 MiB scratch was seen
    assert row.peak_mib >= row.working_mib + row.weights_mib and row.params_m == pytest.approx(40 / 1e6)
    assert row.device == "cpu" and row.torch_version == torch.__version__
    df = rows_to_frame([row])
    assert tuple(df.columns) == ROW_COLUMNS and len(df) == 1


def test_train_step_updates_the_weights():
    model = _Tiny()
    before = model.lin.weight.detach().clone()
    point = ProfilePoint(model="ssast-tiny", tokens=6, kind="train_step", attn_impl="sdpa", batch_size=3)
    row = profile_point(point, measure=FAST, builder=_builder(lambda p: model))
    assert row.status == "ok" and row.kind == "train_step"
    assert not torch.equal(before, model.lin.weight.detach()), "Adam never stepped"
    assert model.training


def test_repeats_stop_at_min_repeats_once_the_budget_is_spent():
    slow = MeasureConfig(device="cpu", warmup=1, repeats=10, min_repeats=2, budget_s=0.01)
    assert len(time_runs(lambda: time.sleep(0.02), torch.device("cpu"), slow)) == 2
    roomy = MeasureConfig(device="cpu", warmup=1, repeats=4, min_repeats=2, budget_s=60)
    assert len(time_runs(lambda: None, torch.device("cpu"), roomy)) == 4


def test_peak_memory_meter_sees_a_cpu_allocation():
    with PeakMemory("cpu") as m:
        a = torch.ones(32 * 2 ** 20 // 4)  # [n]: 32 MiB
        # held until the sampler has read the RSS twice since (a short-lived peak between samples is missed by
        # design; on a busy machine the sampling thread may not run for a while)
        seen, deadline = m.samples, time.monotonic() + 10
        while m.samples < seen + 2 and time.monotonic() < deadline:
            time.sleep(0.001)
        del a
    assert 28 * 2 ** 20 < m.working_bytes < 64 * 2 ** 20


# ---- sweep -----------------------------------------------------------------------------------------------------
def test_plan_is_cheapest_first_with_variants_extras_and_training():
    cfg = SweepConfig(sizes=("tiny",), lengths=(512, 2048), dtypes=("fp32", "bf16"), extra_sizes=("base",),
                      extra_lengths=(512,), train_models=("ssamba-tiny", "ssast-tiny"))
    points = plan_points(cfg)
    # 3 families x 2 lengths x 2 dtypes, SSAST twice (attention); base at 512 only; 1 + 2 training points
    assert len(points) == 2 * 2 * 4 + 2 * 4 + 3
    assert len(set(points)) == len(points)
    assert {p.attn_impl for p in points if p.family == "ssast"} == {"explicit", "sdpa"}
    assert {p.tokens for p in points if p.size == "base"} == {512}
    train = [p for p in points if p.kind == "train_step"]
    assert len(train) == 3 and all(p.batch_size == 64 and p.tokens == 512 and p.dtype == "bf16" for p in train)
    tiny_ssamba = [p.tokens for p in points if p.model == "ssamba-tiny" and p.kind == "inference"]
    assert tiny_ssamba == sorted(tiny_ssamba)
    first_base = min(i for i, p in enumerate(points) if p.size == "base")
    assert all(p.tokens == 512 for p in points[:first_base])  # every tiny 512 point runs before any base one


def test_sweep_records_oom_then_predicts_it_for_longer_inputs():
    calls = []

    def factory(point):
        return _Tiny(exc=torch.OutOfMemoryError("CUDA out of memory") if point.tokens >= 64 else None)

    points = [ProfilePoint(model="ssast-tiny", tokens=t, attn_impl="sdpa") for t in (32, 64, 128)]
    rows = run_sweep(points, measure=FAST, builder=_builder(factory, calls), log=None)
    assert [r.status for r in rows] == ["ok", "oom", "oom_predicted"]
    assert [p.tokens for p in calls] == [32, 64]  # the 128-token point was never built
    assert "64 tokens" in rows[2].note


def test_explicit_attention_that_cannot_fit_is_predicted_not_run():
    point = ProfilePoint(model="ssast-tiny", tokens=22016, attn_impl="explicit", batch_size=4)
    assert explicit_attention_bytes(point) == 4 * 3 * 22018 ** 2 * 4
    huge = ProfilePoint(model="ssast-base", tokens=2 ** 22, attn_impl="explicit")  # ~2 PB of scores
    calls = []
    rows = run_sweep([huge], measure=FAST, builder=_builder(lambda p: _Tiny(), calls), log=None)
    assert rows[0].status == "oom_predicted" and calls == [] and "GiB" in rows[0].note


def test_deadline_skips_points_and_keeps_going():
    points = [ProfilePoint(model="ssast-tiny", tokens=t, attn_impl="sdpa") for t in (32, 64)]
    rows = run_sweep(points, measure=FAST, deadline_s=0.0, builder=_builder(lambda p: _Tiny()), log=None)
    assert [r.status for r in rows] == ["skipped_time", "skipped_time"]


def test_failed_scan_backend_falls_back_and_stays_there(monkeypatch):
    monkeypatch.setattr(measure_mod, "resolve_backend", lambda device, name=None: name or "fancy")

    class _Mixerish(_Tiny):
        def __init__(self, backend):
            super().__init__(exc=None if backend == "torch" else TypeError("unsupported ScalarType BFloat16"))

        def set_scan_backend(self, name):
            return self

    rows = []
    points = [ProfilePoint(model="ssamba-tiny", tokens=t, dtype="bf16") for t in (32, 64)]
    run_sweep(points, measure=FAST, builder=_builder(lambda p: _Mixerish(p.scan_backend)), log=None,
              on_row=rows.append, fallback_backend="torch")
    assert [(r.tokens, r.status, r.scan_backend, r.label) for r in rows] == [
        (32, "error", "fancy", "ssamba-tiny"), (32, "ok", "torch", "ssamba-tiny@torch"),
        (64, "ok", "torch", "ssamba-tiny@torch")]


# ---- tables ----------------------------------------------------------------------------------------------------
def _row(label, tokens, dtype, status="ok", ms=float("nan"), mib=float("nan")):
    model, _, attn = label.partition("/")
    return ProfileRow(kind="inference", label=label, model=model, family=model.split("-")[0], size="tiny",
                      attn_impl=attn, dtype=dtype, batch_size=4, tokens=tokens, num_patches=tokens,
                      seq_len=tokens + 1, frames=2 * tokens, status=status, latency_ms_median=ms, peak_mib=mib)


def test_ratio_table_against_each_attention_and_oom():
    df = rows_to_frame([
        _row("ssamba-tiny", 22016, "fp32", ms=100.0, mib=1000.0),
        _row("ssast-tiny/explicit", 22016, "fp32", ms=1000.0, mib=20000.0),
        _row("ssast-tiny/sdpa", 22016, "fp32", ms=50.0, mib=500.0),
        _row("ssamba-tiny", 65536, "fp32", ms=300.0, mib=3000.0),
        _row("ssast-tiny/explicit", 65536, "fp32", status="oom"),
        _row("ssamba-tiny", 512, "bf16", status="oom"),  # a failed numerator gives no row
    ])
    t = ratio_table(df).set_index(["tokens", "versus"])
    assert len(t) == 3
    assert t.loc[(22016, "explicit"), "faster_pct"] == pytest.approx(90.0)
    assert t.loc[(22016, "explicit"), "less_memory_pct"] == pytest.approx(95.0)
    assert t.loc[(22016, "sdpa"), "time_ratio"] == pytest.approx(2.0)
    assert t.loc[(22016, "sdpa"), "faster_pct"] == pytest.approx(-100.0)
    assert t.loc[(65536, "explicit"), "den_status"] == "oom" and math.isnan(t.loc[(65536, "explicit"), "time_ratio"])


def test_compare_with_facts_lines_up_published_points():
    row = _row("ssamba-tiny", 22016, "fp32", ms=286.0, mib=2652.0)
    row.working_mib = 663.0
    df = rows_to_frame([row])
    out = compare_with_facts(df).set_index(["kind", "tokens", "label", "dtype"])
    assert out.loc[("inference", 22016, "ssamba-tiny", "fp32"), "ms_vs_facts"] == pytest.approx(2.0)
    assert out.loc[("inference", 22016, "ssamba-tiny", "fp32"), "mib_vs_facts"] == pytest.approx(2.0)
    assert out.loc[("inference", 22016, "ssamba-tiny", "fp32"), "work_vs_facts"] == pytest.approx(0.5)
    assert out["ms"].notna().sum() == 1
    assert isinstance(out, pd.DataFrame)


def test_deadline_extrapolates_from_the_curve_before_starting_a_long_point():
    class _Slow(_Tiny):
        def forward(self, x):
            time.sleep(0.02)
            return super().forward(x)

    points = [ProfilePoint(model="ssast-tiny", tokens=t, attn_impl="sdpa") for t in (32, 3200)]
    rows = run_sweep(points, measure=FAST, deadline_s=60.0, builder=_builder(lambda p: _Slow()), log=None)
    # 3200/32 = 100x longer, attention is quadratic: >= 0.02 s * 1e4 * 2 runs = 400 s > 60 s left
    assert [r.status for r in rows] == ["ok", "skipped_time"] and "predicted" in rows[1].note
