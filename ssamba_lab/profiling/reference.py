"""The H200 measurements of SSAMBA_FACTS section 8 (batch 4, inference), to compare a sweep against."""
from __future__ import annotations

# (tokens, label, dtype, ms, MiB); labels as ProfilePoint.label
FACTS_H200_INFERENCE = [
    (512, "ssamba-tiny", "fp32", 23.9, 31), (512, "ssamba-tiny", "bf16", 25.7, 17),
    (512, "ssast-tiny/sdpa", "fp32", 2.9, 18), (512, "ssast-tiny/sdpa", "bf16", 6.7, 11),
    (22016, "ssamba-tiny", "fp32", 143, 1326), (22016, "ssamba-tiny", "bf16", 99, 725),
    (22016, "ssast-tiny/sdpa", "fp32", 548, 710), (22016, "ssast-tiny/sdpa", "bf16", 48, 455),
    (22016, "ssast-tiny/explicit", "fp32", 799, 44828), (22016, "ssast-tiny/explicit", "bf16", 620, 55696),
    (65536, "ssamba-tiny", "fp32", 421, 3922), (65536, "ssamba-tiny", "bf16", 235, 2156),
    (65536, "ssast-tiny/sdpa", "fp32", 4740, 2112), (65536, "ssast-tiny/sdpa", "bf16", 370, 1344),
    (22016, "ssamba-base", "fp32", 775, 5207), (22016, "ssamba-base", "bf16", 385, 2865),
    (22016, "ssast-base/sdpa", "fp32", 2377, 2838), (22016, "ssast-base/sdpa", "bf16", 199, 1806),
]
# Training step, batch 64 x 512 tokens, bf16 autocast, Adam: label -> ms
FACTS_H200_TRAIN_MS = {"ssamba-tiny": 110, "ssast-tiny/sdpa": 26, "ssamba-base": 372, "ssast-base/sdpa": 62}


def compare_with_facts(df):
    """Measured vs SSAMBA_FACTS section 8, one row per published point (NaN where not measured).

    ``mib`` is our total peak (weights, input, cuBLAS workspace included); ``work_mib`` the peak above what was
    held before the forward. The facts measured the encoder blocks only, so their MiB sits nearer ``work_mib``.
    """
    import pandas as pd

    ref = pd.DataFrame(FACTS_H200_INFERENCE, columns=["tokens", "label", "dtype", "facts_ms", "facts_mib"])
    ref["kind"] = "inference"
    train = pd.DataFrame([(512, k, "bf16", v, float("nan")) for k, v in FACTS_H200_TRAIN_MS.items()],
                         columns=["tokens", "label", "dtype", "facts_ms", "facts_mib"])
    train["kind"] = "train_step"
    ref = pd.concat([ref, train], ignore_index=True)
    keys = ["kind", "tokens", "label", "dtype"]
    mine = df[(df["batch_size"] == 4) | (df["kind"] == "train_step")]
    mine = mine.drop_duplicates(subset=keys, keep="last")[keys + ["status", "latency_ms_median", "peak_mib",
                                                                   "working_mib"]]
    out = ref.merge(mine, on=keys, how="left").rename(
        columns={"latency_ms_median": "ms", "peak_mib": "mib", "working_mib": "work_mib"})
    out["ms_vs_facts"] = out["ms"] / out["facts_ms"]
    out["mib_vs_facts"] = out["mib"] / out["facts_mib"]
    out["work_vs_facts"] = out["work_mib"] / out["facts_mib"]
    return out[keys + ["facts_ms", "ms", "ms_vs_facts", "facts_mib", "mib", "mib_vs_facts", "work_mib",
                       "work_vs_facts", "status"]]


def committed_results(name: str = "efficiency_gpu.csv"):
    """Path of a committed sweep result under the repository's ``benchmarks/results`` (editable installs)."""
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "benchmarks" / "results" / name
