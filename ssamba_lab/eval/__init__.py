"""Frozen-embedding evaluation with SSAM's protocol: an MLP probe on scene embeddings, several seeds, mean and
95% interval. ``python -m ssamba_lab.eval.frozen --task esc --checkpoint ... --data-root data/demo``."""
from .metrics import accuracy, mean_average_precision
from .probe import MLPProbe, ProbeConfig, ProbeResult, train_probe
from .seeds import SeedSummary, mean_ci95, probe_over_seeds

__all__ = ["MLPProbe", "ProbeConfig", "ProbeResult", "train_probe", "SeedSummary", "mean_ci95",
           "probe_over_seeds", "accuracy", "mean_average_precision"]
