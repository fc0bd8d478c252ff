"""``key=value`` overrides from a command line: values are Python literals (``depth=4``, ``betas=(0.9,0.95)``,
``two_pass=False``); a value that is not a literal stays a string (``mask_strategy=random``)."""
from __future__ import annotations

import argparse
import ast


def parse_overrides(pairs: list[str] | None) -> dict:
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"override {pair!r} is not key=value")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out
