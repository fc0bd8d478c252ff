"""Fixtures for the training tests: one thread, a tiny demo corpus, tiny model overrides."""
from __future__ import annotations

import pytest
import torch

from ssamba_lab.data.demo import DemoConfig, build_demo_corpus

# A 1-layer, 32-wide SSAMBA on 32-frame clips (2 x 2 patches at stride 16): seconds per step on the CI box.
TINY_MODEL = {"depth": 1, "embed_dim": 32, "drop_path": 0.0}


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    build_demo_corpus(root, config=DemoConfig.tiny(seed=3))
    return root
