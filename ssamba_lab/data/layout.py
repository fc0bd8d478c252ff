"""Layout checks shared by the adapters: fail at once, naming the missing file or folder."""
from __future__ import annotations

import hashlib
from pathlib import Path


class LayoutError(FileNotFoundError):
    """The folder is not in the dataset's official layout; the message names what is missing."""


def require_file(root: Path, rel: str, dataset: str) -> Path:
    path = root / rel
    if not path.is_file():
        raise LayoutError(f"{dataset}: missing file {path} (is {root} the dataset's root folder?)")
    return path


def require_dir(root: Path, rel: str, dataset: str) -> Path:
    path = root / rel
    if not path.is_dir():
        raise LayoutError(f"{dataset}: missing folder {path} (is {root} the dataset's root folder?)")
    return path


def hash_fraction(key: str) -> float:
    """A stable pseudo-random number in [0, 1) for ``key`` (same on every machine and Python run)."""
    return int.from_bytes(hashlib.sha1(key.encode()).digest()[:8], "big") / 2**64


def holdout_threshold(keys, fraction: float) -> float:
    """Threshold ``t`` such that keys with ``hash_fraction(key) < t`` are ``max(1, round(fraction * n))`` of
    the ``n`` distinct keys (exact and never empty on small sets; one streaming pass, 8 bytes per key)."""
    import numpy as np

    h = np.unique(np.fromiter((hash_fraction(k) for k in keys), dtype=np.float64))
    if len(h) < 2:
        return 0.0
    k = min(len(h) - 1, max(1, round(fraction * len(h))))
    return float(h[k])
