"""Convert a released SSAMBA / SSAST checkpoint into our format (``config.json`` + ``model.safetensors``).

    python -m ssamba_lab.interop.convert amba_tiny_400.pth checkpoints/ssamba-tiny-400

The result loads with :func:`ssamba_lab.load_pretrained` (and with the explorer / trainer loaders, since its
``config.json`` holds the full ``EncoderConfig``, ``official_compat`` included) and gives the same outputs.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..checkpoint import save_checkpoint
from .pretrained import load_released


def convert(src: str | Path, dst: str | Path, *, fstride: int | None = None, tstride: int | None = None,
            input_tdim: int | None = None) -> Path:
    """Released file ``src`` -> checkpoint directory ``dst`` (written atomically); returns ``dst``.

    The hints are only needed for fine-tuned files whose geometry cannot be read off the position table.
    """
    model, spec = load_released(src, fstride=fstride, tstride=tstride, input_tdim=input_tdim)
    config = spec.config
    config["source"]["file"] = Path(src).name
    return save_checkpoint(dst, state_dict=model.state_dict(), config=config)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m ssamba_lab.interop.convert", description=__doc__.split("\n\n")[0])
    p.add_argument("src", help="released .pth file (e.g. amba_tiny_400.pth, SSAST-Tiny-Patch-400.pth)")
    p.add_argument("dst", help="output checkpoint directory")
    p.add_argument("--fstride", type=int, default=None, help="fine-tuned files only: the frequency stride used")
    p.add_argument("--tstride", type=int, default=None, help="fine-tuned files only: the time stride used")
    p.add_argument("--input-tdim", type=int, default=None, help="fine-tuned files only: input frames used")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    out = convert(args.src, args.dst, fstride=args.fstride, tstride=args.tstride, input_tdim=args.input_tdim)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
