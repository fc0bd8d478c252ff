"""Per-run metric log: one JSON line per record in ``metrics.jsonl`` plus TensorBoard scalars.

Records are ``{"kind": "train" | "eval" | ..., "step": int, "epoch": int, <name>: float, ...}``. Callbacks
(e.g. a notebook's live plot) receive every record as it is written. Only rank 0 writes.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

Callback = Callable[[dict], None]


class RunLog:
    def __init__(self, run_dir: str | Path | None, *, enabled: bool = True, tensorboard: bool = True,
                 callbacks: list[Callback] | None = None):
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.enabled = enabled and self.run_dir is not None
        self.callbacks = list(callbacks or [])
        self.records: list[dict] = []
        self._tb = None
        if self.enabled:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if tensorboard:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(log_dir=str(self.run_dir / "tensorboard"))

    @property
    def path(self) -> Path | None:
        return self.run_dir / "metrics.jsonl" if self.run_dir is not None else None

    def log(self, kind: str, *, step: int, epoch: int, **values: float) -> dict:
        record = {"kind": kind, "step": step, "epoch": epoch, "time": round(time.time(), 3),
                  **{k: float(v) for k, v in values.items()}}
        self.records.append(record)
        if self.enabled:
            with self.path.open("a") as f:
                f.write(json.dumps(record) + "\n")
            if self._tb is not None:
                for k, v in values.items():
                    self._tb.add_scalar(f"{kind}/{k}", float(v), step)
        for cb in self.callbacks:
            cb(record)
        return record

    def truncate_after(self, step: int) -> None:
        """On resume: drop records logged after the checkpoint's step (they belong to the lost tail)."""
        if not (self.enabled and self.path.is_file()):
            return
        kept = [line for line in self.path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
        self.path.write_text("".join(line + "\n" for line in kept))
        self.records = [json.loads(line) for line in kept]
        if self._tb is not None:  # TensorBoard too: a writer opened with purge_step hides the lost tail's events
            from torch.utils.tensorboard import SummaryWriter

            self._tb.close()
            self._tb = SummaryWriter(log_dir=str(self.run_dir / "tensorboard"), purge_step=step + 1)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def read_metrics(path: str | Path) -> list[dict]:
    """The records of a ``metrics.jsonl`` (or of the run directory holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line]
