"""Where a measurement ran: device name, library versions, the scan backend ops would pick."""
from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass

import torch

from ..ops import resolve_backend


@dataclass(frozen=True, kw_only=True)
class Environment:
    device: str  # 'cuda' | 'cpu'
    device_name: str
    device_memory_mib: float
    torch_version: str
    cuda_version: str  # '' on CPU-only builds
    scan_backend: str  # ssamba_lab.ops.resolve_backend(device)
    mamba_ssm_version: str  # '' when not importable

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    assert dev.type != "cuda" or torch.cuda.is_available(), f"device {device!r} asked for but CUDA is unavailable"
    return dev


def _mamba_ssm_version() -> str:
    try:
        from importlib.metadata import version

        return version("mamba_ssm")
    except Exception:  # not installed
        return ""


def environment(device: torch.device) -> Environment:
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        name, mem = props.name, props.total_memory / 2 ** 20
    else:
        import psutil

        name = f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"
        mem = psutil.virtual_memory().total / 2 ** 20
    return Environment(device=device.type, device_name=name, device_memory_mib=round(mem, 1),
                       torch_version=torch.__version__, cuda_version=torch.version.cuda or "",
                       scan_backend=resolve_backend(device), mamba_ssm_version=_mamba_ssm_version())


def total_memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    import psutil

    return psutil.virtual_memory().available
