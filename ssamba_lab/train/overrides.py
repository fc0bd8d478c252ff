"""``key=value`` overrides from a command line: values are Python literals (``depth=4``, ``betas=(0.9,0.95)``,
``two_pass=False``; true / false in any case are booleans too); a value that is not a literal stays a string
(``mask_strategy=random``)."""
from __future__ import annotations

import argparse
import ast


def parse_override(pair: str) -> tuple[str, object]:
    """``"depth=4"`` -> ``("depth", 4)``. Also an argparse ``type=``: a malformed pair becomes a usage error."""
    key, sep, value = pair.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"override {pair!r} is not key=value")
    if value.lower() in ("true", "false"):  # shells and habits write true / false; a string would be truthy
        return key, value.lower() == "true"
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def parse_overrides(pairs: list[str] | None) -> dict:
    return dict(parse_override(pair) for pair in pairs or [])
