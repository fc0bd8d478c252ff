"""Reading a released ``.pth`` checkpoint: a (possibly nested) DataParallel state dict with ``module.`` keys."""
from __future__ import annotations

from pathlib import Path

import torch

from ..checkpoint import CheckpointError

DP_PREFIX = "module."


def read_released_state(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a released checkpoint on the CPU and strip the DataParallel ``module.`` prefix.

    Returns ``{key: tensor}`` with keys like ``v.layers.0.mixer.in_proj.weight``. Raises naming the file when
    it is not a state dict of tensors or when some keys lack the prefix (a half-unwrapped file).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)  # tensors only: no pickled code runs
    except Exception as exc:  # junk / truncated files: struct.error, RuntimeError, EOFError, KeyError, ...
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint (corrupt or truncated?): "
                              f"{type(exc).__name__}: {exc}") from exc
    for wrapper in ("state_dict", "model"):  # some re-uploads nest the state dict one level down
        if isinstance(obj, dict) and wrapper in obj and isinstance(obj[wrapper], dict):
            obj = obj[wrapper]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: not a state dict of tensors")
    prefixed = [k.startswith(DP_PREFIX) for k in obj]
    if any(prefixed) and not all(prefixed):
        raise CheckpointError(f"{path}: only some keys carry the DataParallel prefix {DP_PREFIX!r}, e.g. "
                              f"{[k for k, p in zip(obj, prefixed) if not p][:4]}")
    return {k[len(DP_PREFIX):] if k.startswith(DP_PREFIX) else k: v for k, v in obj.items()}


def unused_head_keys(state: dict[str, torch.Tensor]) -> list[str]:
    """The ImageNet classifier(s) left in ``v`` by the Vim / DeiT templates (``v.head``, ``v.head_dist``): the
    released models never call them, so they are the only keys a loader may drop."""
    return sorted(k for k in state if k.startswith(("v.head.", "v.head_dist.")))
