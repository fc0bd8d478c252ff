"""Task registry: the papers' recipes for ``as, esc, ks1, ks2, sid, er, dasl`` and the pretraining pool.

>>> from ssamba_lab.tasks import get_task, list_tasks
>>> get_task("ks1").num_classes
12
"""
from .recipe import TaskRecipe
from .registry import TASKS, get_task, list_tasks

__all__ = ["TaskRecipe", "TASKS", "get_task", "list_tasks"]
