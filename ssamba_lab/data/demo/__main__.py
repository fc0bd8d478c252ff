"""``python -m ssamba_lab.data.demo [--root data/demo] [--seed 0] [--tiny] [--overwrite]``."""
from __future__ import annotations

import argparse
import dataclasses
import sys

from .build import build_demo_corpus
from .config import DemoConfig
from .speech import SpeechUnavailable


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--root", default="data/demo")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tiny", action="store_true", help="the minimal test-sized corpus")
    p.add_argument("--overwrite", action="store_true")
    args = p.parse_args(argv)
    config = DemoConfig.tiny(args.seed) if args.tiny else dataclasses.replace(DemoConfig(), seed=args.seed)
    try:
        stamp = build_demo_corpus(args.root, config=config, overwrite=args.overwrite, verbose=True)
    except SpeechUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"demo corpus in {args.root}: {stamp['total_megabytes']} MB, built in {stamp['build_seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
