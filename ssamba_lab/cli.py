"""``ssamba-lab <command> ...``: the package's entry points behind one console script.

    ssamba-lab pretrain --data-root data/demo --run-dir runs/pretrain --model-override depth=2 ...
    ssamba-lab finetune --task ks1 --checkpoint runs/pretrain/best ...
    torchrun --nproc-per-node 2 -m ssamba_lab.train.finetune ...     (multi-GPU: the module entry points)
"""
from __future__ import annotations

import sys

COMMANDS = {
    "pretrain": ("ssamba_lab.train.pretrain", "masked-patch pretraining (joint or reconstruction objective)"),
    "finetune": ("ssamba_lab.train.finetune", "fine-tuning / linear probing on a task of the registry"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        lines = [f"  {name:10s} {help_}" for name, (_, help_) in COMMANDS.items()]
        print("usage: ssamba-lab <command> [--help]\n\ncommands:\n" + "\n".join(lines))
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    from importlib import import_module

    return import_module(COMMANDS[argv[0]][0]).main(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
