"""Efficiency profiling: latency and peak memory of the encoders against input length, and training throughput.

``profile_point(ProfilePoint(...))`` measures one point; ``run_sweep(plan_points(SweepConfig(...)))`` a grid,
cheapest first, with OOM recorded as a row. ``rows_to_frame`` makes the tidy table; ``ratio_table`` the
SSAMBA/SSAST ratios; ``efficiency_figure`` the plots (plotly, imported lazily).
"""
from .config import DTYPES, MeasureConfig, ProfilePoint
from .environment import Environment, environment, resolve_device
from .figures import efficiency_figure
from .lengths import InputShape, config_for, input_shape_for
from .measure import build_for_point, is_oom, profile_point
from .memory import PeakMemory
from .ratios import PAPER_CLAIM, ratio_table
from .reference import FACTS_H200_INFERENCE, FACTS_H200_TRAIN_MS, committed_results, compare_with_facts
from .rows import ROW_COLUMNS, STATUSES, ProfileRow, markdown_table, rows_to_frame
from .sweep import PAPER_LENGTHS, SweepConfig, cost_key, explicit_attention_bytes, plan_points, run_sweep

__all__ = [
    "DTYPES", "MeasureConfig", "ProfilePoint", "Environment", "environment", "resolve_device", "efficiency_figure",
    "InputShape", "config_for", "input_shape_for", "build_for_point", "is_oom", "profile_point", "PeakMemory",
    "PAPER_CLAIM", "ratio_table", "FACTS_H200_INFERENCE", "FACTS_H200_TRAIN_MS", "compare_with_facts",
    "committed_results",
    "ROW_COLUMNS", "STATUSES", "ProfileRow", "rows_to_frame", "markdown_table", "PAPER_LENGTHS", "SweepConfig", "cost_key",
    "explicit_attention_bytes", "plan_points", "run_sweep",
]
