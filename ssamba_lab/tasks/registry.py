"""The task registry: ``get_task(name, **overrides)`` and ``list_tasks()``.

Where each task is defined: ``as`` -> audioset.py, ``esc`` -> esc50.py, ``ks1``/``ks2`` -> speech_commands.py,
``sid`` -> voxceleb1.py, ``er`` -> iemocap.py, ``dasl`` -> urbansound8k.py, ``pretrain`` -> pretrain.py.
"""
from __future__ import annotations

import dataclasses

from .audioset import AS
from .esc50 import ESC
from .iemocap import ER
from .pretrain import PRETRAIN
from .recipe import TaskRecipe
from .speech_commands import KS1, KS2
from .urbansound8k import DASL
from .voxceleb1 import SID

TASKS: dict[str, TaskRecipe] = {r.name: r for r in (AS, ESC, KS1, KS2, SID, ER, DASL, PRETRAIN)}


def list_tasks(*, include_pretrain: bool = True) -> list[str]:
    """Names of the registered tasks (the seven fine-tuning tasks, then ``pretrain``)."""
    return [n for n in TASKS if include_pretrain or n != "pretrain"]


def get_task(name: str, **overrides: object) -> TaskRecipe:
    """The recipe called ``name`` with ``overrides`` applied (``get_task("esc", epochs=2, batch_size=8)``).

    Raises ``ValueError`` listing the valid names for an unknown task, or the valid fields for an unknown
    override.
    """
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}")
    valid = {f.name for f in dataclasses.fields(TaskRecipe)}
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise ValueError(f"unknown recipe field(s) {unknown} for task {name!r}; valid fields: {sorted(valid)}")
    return dataclasses.replace(TASKS[name], **overrides)
