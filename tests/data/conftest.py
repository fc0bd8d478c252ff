"""Fixtures for the data tests: a tiny demo corpus built once per session."""
from __future__ import annotations

import pytest

from ssamba_lab.data.demo import DemoConfig, build_demo_corpus


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory):
    """The test-sized demo corpus (``DemoConfig.tiny()``), every layout."""
    root = tmp_path_factory.mktemp("demo")
    stamp = build_demo_corpus(root, config=DemoConfig.tiny(seed=3))
    return root, stamp
