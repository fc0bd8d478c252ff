"""Argument checks shared by the config dataclasses' ``__post_init__``.

A string such as ``"False"`` is truthy and ``True`` is an ``int``, so without these a wrong type slips through
and surfaces steps later (or never); every message names the config, the field and the value.
"""
from __future__ import annotations

import numbers
from dataclasses import fields


def _kind(annotation) -> tuple[str, bool]:
    """``"int | None"`` -> ``("int", True)``; annotations are strings under ``from __future__ import annotations``."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    parts = {p.strip() for p in text.split("|")}
    return " | ".join(sorted(parts - {"None"})), "None" in parts


def check_field_types(config) -> None:
    """``bool`` fields take only True / False, ``int`` fields integers (not bools), ``float`` fields real numbers
    (not bools or strings); ``None`` where the annotation allows it. Other annotations are left alone."""
    for f in fields(config):
        v = getattr(config, f.name)
        kind, optional = _kind(f.type)
        if v is None and optional:
            continue
        where, or_none = f"{type(config).__name__}.{f.name}", " or None" if optional else ""
        if kind == "bool":
            assert isinstance(v, bool), f"{where} must be True or False{or_none}, got {v!r}"
        elif kind == "int":
            assert isinstance(v, numbers.Integral) and not isinstance(v, bool), (
                f"{where} must be an integer{or_none}, got {v!r}")
        elif kind == "float":
            assert isinstance(v, numbers.Real) and not isinstance(v, bool), f"{where} must be a number{or_none}, got {v!r}"


def check_positive(config, *names: str) -> None:
    """Each named field is > 0 (``None`` passes: optional fields mean "automatic" by it)."""
    for name in names:
        v = getattr(config, name)
        assert v is None or v > 0, f"{type(config).__name__}.{name} must be > 0, got {v!r}"


def check_non_negative(config, *names: str) -> None:
    """Each named field is >= 0 (``None`` passes)."""
    for name in names:
        v = getattr(config, name)
        assert v is None or v >= 0, f"{type(config).__name__}.{name} must be >= 0, got {v!r}"


def check_device(config, name: str = "device", *, auto: bool = True) -> None:
    """Anything ``torch.device`` takes (``"cpu"``, ``"cuda"``, ``"cuda:1"``), or ``"auto"`` where ``auto``."""
    v = getattr(config, name)
    if auto and v == "auto":
        return
    import torch

    try:
        torch.device(v)
    except (RuntimeError, TypeError) as exc:
        choices = "'auto', 'cpu', 'cuda', 'cuda:N', ..." if auto else "'cpu', 'cuda', 'cuda:N', ..."
        raise ValueError(f"{type(config).__name__}.{name}={v!r} is not a device: use {choices}") from exc
