"""SSAMBA / SSAST ratios per length: the table behind the paper's "x% faster, y% less memory" claim."""
from __future__ import annotations

PAPER_CLAIM = {"tokens": 22016, "batch_size": 4, "faster_pct": 92.7, "less_memory_pct": 95.4,
               "numerator": "ssamba-tiny", "denominator": "ssast-tiny"}

_KEYS = ["tokens", "dtype", "batch_size"]


def ratio_table(df, *, numerator: str = "ssamba-tiny", denominator: str = "ssast-tiny", kind: str = "inference",
                memory: str = "peak_mib"):
    """One row per (tokens, dtype, batch, attention of the denominator) where the numerator was measured.

    ``numerator`` is a curve label (``'ssamba-tiny'``: automatic scan backend; ``'ssamba-tiny@triton'``: forced);
    ``denominator`` a transformer preset, compared with each of its attention implementations.

    ``time_ratio`` = numerator ms / denominator ms; ``faster_pct`` = 100 * (1 - time_ratio) (the paper's
    "92.7% faster" read this way); likewise ``mem_ratio`` / ``less_memory_pct`` on ``memory`` (total peak by
    default). A denominator that ran out of memory keeps its row with status 'oom' and NaN ratios.
    """
    import pandas as pd

    d = df[df["kind"] == kind]
    num = d[(d["label"] == numerator) & (d["status"] == "ok")]
    num = num.drop_duplicates(subset=_KEYS, keep="last")[_KEYS + ["latency_ms_median", memory]]
    num = num.rename(columns={"latency_ms_median": "num_ms", memory: "num_mib"})
    den = d[d["model"] == denominator]
    den = den.drop_duplicates(subset=_KEYS + ["attn_impl"], keep="last")
    den = den[_KEYS + ["attn_impl", "status", "latency_ms_median", memory]].rename(
        columns={"attn_impl": "versus", "status": "den_status", "latency_ms_median": "den_ms", memory: "den_mib"})
    out = num.merge(den, on=_KEYS, how="inner")
    out["time_ratio"] = out["num_ms"] / out["den_ms"]
    out["faster_pct"] = 100.0 * (1.0 - out["time_ratio"])
    out["mem_ratio"] = out["num_mib"] / out["den_mib"]
    out["less_memory_pct"] = 100.0 * (1.0 - out["mem_ratio"])
    cols = _KEYS + ["versus", "num_ms", "den_ms", "time_ratio", "faster_pct", "num_mib", "den_mib", "mem_ratio",
                    "less_memory_pct", "den_status"]
    return pd.DataFrame(out[cols]).sort_values(["dtype", "versus", "tokens"]).reset_index(drop=True)
