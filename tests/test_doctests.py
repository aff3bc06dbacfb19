"""The runnable examples in the core modules' docstrings stay true."""

from __future__ import annotations

import doctest
import importlib
import os

import pytest

from conftest import REPO

CORE_MODULES = [
    "magic_submit.challenge", "magic_submit.naming", "magic_submit.errors", "magic_submit.masks",
    "magic_submit.submission", "magic_submit.definitions", "magic_submit.text",
    "magic_submit.formatting",
    "evaluation.facts", "evaluation.errors", "evaluation.segmentation", "evaluation.cvqa",
    "evaluation.bootstrap", "magic_submit.scoring",
    "baselines.common",
    "baselines.vqa.vlm.prompt", "baselines.vqa.vlm.parsing", "baselines.vqa.vlm.voting",
    "baselines.vqa.vlm.store", "baselines.vqa.vlm.images",
]


@pytest.mark.parametrize("name", CORE_MODULES)
def test_docstring_examples(name: str) -> None:
    cwd = os.getcwd()
    os.chdir(REPO)  # examples refer to sample_data/ relative to the repository
    try:
        result = doctest.testmod(importlib.import_module(name))
    finally:
        os.chdir(cwd)
    assert result.failed == 0
