"""The tidy result table: one ProfileRow per measured point, to a pandas DataFrame / CSV."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

STATUSES = ("ok", "oom", "oom_predicted", "skipped_time", "error")


@dataclass(kw_only=True)
class ProfileRow:
    """One measured (or unmeasurable) point. Times in ms, memory in MiB; NaN where status is not 'ok'.

    ``latency_ms_*`` is the whole encoder forward on features ``[batch, frames, bins]`` (patch embedding,
    position table and the blocks) for 'inference', and one optimiser step (forward, backward, Adam) for
    'train_step'. ``peak_mib`` is the total peak including weights and input (plus Adam state when training);
    ``working_mib`` is the peak above the memory held at entry (weights, input): activations and workspaces.
    """

    kind: str
    label: str
    model: str
    family: str
    size: str
    attn_impl: str  # '' for Mamba models
    dtype: str
    batch_size: int
    tokens: int  # requested
    num_patches: int  # measured (>= tokens)
    seq_len: int  # patches + prefix tokens
    frames: int
    status: str
    latency_ms_median: float = float("nan")
    latency_ms_min: float = float("nan")
    latency_ms_max: float = float("nan")
    n_repeats: int = 0
    samples_per_s: float = float("nan")
    peak_mib: float = float("nan")
    working_mib: float = float("nan")
    weights_mib: float = float("nan")
    params_m: float = float("nan")
    memory_measure: str = ""
    device: str = ""
    device_name: str = ""
    torch_version: str = ""
    cuda_version: str = ""
    scan_backend: str = ""  # the scan backend the Mamba mixers used ('' for transformers)
    note: str = ""

    def __post_init__(self):
        assert self.status in STATUSES, f"status must be one of {STATUSES}, got {self.status!r}"


ROW_COLUMNS = tuple(f.name for f in fields(ProfileRow))


def rows_to_frame(rows):
    """List of ProfileRow -> DataFrame with the columns in ROW_COLUMNS order (empty frame keeps the columns)."""
    import pandas as pd

    return pd.DataFrame([asdict(r) for r in rows], columns=list(ROW_COLUMNS))


def markdown_table(df, *, digits: int = 4) -> str:
    """A DataFrame as a GitHub markdown table (floats to ``digits`` significant digits; no tabulate needed)."""
    def cell(v) -> str:
        if isinstance(v, float):
            return "" if v != v else f"{v:.{digits}g}"
        return str(v)

    head = "| " + " | ".join(map(str, df.columns)) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "".join("| " + " | ".join(cell(v) for v in row) + " |\n" for row in df.itertuples(index=False))
