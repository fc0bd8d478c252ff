"""Summarise pretrain_helps_ks1.py logs (complete or cut off by a time limit) into one Markdown table.

    python benchmarks/summarize_pretrain_helps.py benchmarks/results/pretrain_helps_ks1_gpu/*/*.log \
        > benchmarks/results/pretrain_helps_ks1_gpu/SUMMARY.md

Per log and fine-tuning lr: test accuracy mean +- std per arm over the seeds that finished, the paired gain over
seeds where both arms finished, and the per-arm lr with the best mean validation accuracy (the script's rule;
test is never used to choose).
"""
from __future__ import annotations

import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

LINE = re.compile(r"^lr (\S+) seed (\d+) (\S+)\s*: test acc ([\d.]+)\s+\(val ([\d.]+) at step (\d+)\)")


def ms(xs: list[float]) -> str:
    if not xs:
        return "-"
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.mean(xs):.1f} +- {sd:.1f} (n={len(xs)})"


def main(paths: list[str]) -> None:
    print("| run | arm | lr | test acc | val acc | paired gain vs scratch (same lr) |")
    print("|---|---|---|---|---|---|")
    groups: dict[str, list[str]] = defaultdict(list)  # logs of one experiment split by lr (name_lr3e-3.log)
    for path in paths:
        groups[re.sub(r"(_lr[0-9.e-]+)?(_part\d+)?$", "", Path(path).stem)].append(path)
    for run, files in groups.items():
        rows = defaultdict(dict)  # (arm, lr) -> seed -> (test, val)
        lines = [ln for f in files for ln in Path(f).read_text().splitlines()]
        for line in lines:
            m = LINE.match(line)
            if m:
                lr, seed, arm, test, val = m.group(1), int(m.group(2)), m.group(3), float(m.group(4)), float(m.group(5))
                rows[(arm, lr)][seed] = (test, val)
        if not rows:
            continue
        for (arm, lr), by_seed in sorted(rows.items()):
            tests = [t for t, _ in by_seed.values()]
            vals = [v for _, v in by_seed.values()]
            gain = "-"
            if arm != "scratch" and ("scratch", lr) in rows:
                s = rows[("scratch", lr)]
                common = sorted(set(by_seed) & set(s))
                gain = ms([by_seed[k][0] - s[k][0] for k in common])
            print(f"| {run} | {arm} | {lr} | {ms(tests)} | {ms(vals)} | {gain} |")
        for arm in sorted({a for a, _ in rows}):
            lrs = [lr for a, lr in rows if a == arm]
            best = max(lrs, key=lambda lr: statistics.mean(v for _, v in rows[(arm, lr)].values()))
            tests = [t for t, _ in rows[(arm, best)].values()]
            print(f"| {run} | **{arm}, lr chosen on val** | {best} | {ms(tests)} | | |")


if __name__ == "__main__":
    main(sys.argv[1:])
