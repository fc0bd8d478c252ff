"""Published fine-tuning results (patch-400 models) to show beside ours: SSAMBA_FACTS sections 7 and 3.

Values are percentages (accuracy for esc/ks1/ks2/sid/er, mAP for as and per-second mAP for dasl).
"""
from __future__ import annotations

TASKS = ("as", "ks1", "ks2", "esc", "sid", "er", "dasl")

# (system, size, pretrained) -> values in TASKS order; None = not published
_TABLE: dict[tuple[str, str, bool], tuple[float | None, ...]] = {
    ("SSAMBA", "tiny", True): (23.3, 94.0, 94.0, 80.1, 66.1, 56.3, 71.9),
    ("SSAMBA", "small", True): (25.6, 96.4, 96.3, 85.5, 67.9, 58.2, 75.2),
    ("SSAMBA", "base", True): (28.3, 96.9, 97.4, 89.3, 70.1, 61.5, 80.8),
    ("SSAMBA", "base", False): (20.4, 95.7, 96.1, 65.6, 53.6, 58.2, 13.0),
    ("SSAST", "base", True): (31.0, 96.0, 98.0, 88.8, 64.2, 59.6, None),
}

SOURCE = "SSAMBA paper (Shams et al.) tables as collected in SSAMBA_FACTS.md sections 3 and 7"


def published(task: str) -> list[dict]:
    """Rows ``{system, size, pretrained, value}`` for ``task`` (percent)."""
    assert task in TASKS, f"no published numbers for task {task!r}; tasks: {', '.join(TASKS)}"
    i = TASKS.index(task)
    return [{"system": s, "size": z, "pretrained": p, "value": v[i]} for (s, z, p), v in _TABLE.items()
            if v[i] is not None]


def model_size(model_name: str) -> str | None:
    """``'ssamba-tiny'`` -> ``'tiny'`` (None for names without a size)."""
    size = model_name.rsplit("-", 1)[-1]
    return size if size in ("tiny", "small", "base") else None


def published_for(task: str, model_name: str, *, pretrained: bool = True) -> float | None:
    """The published number of the same family and size (SSAMBA for ssamba-*, SSAST for ssast-*), if any."""
    system = "SSAST" if model_name.startswith("ssast") else "SSAMBA" if model_name.startswith("ssamba") else None
    size = model_size(model_name)
    for row in published(task):
        if (row["system"], row["size"], row["pretrained"]) == (system, size, pretrained):
            return row["value"]
    return None
