"""One --split rule for every command: a split name under the dataset root, or the path of the
split's query file (its other files beside it); a wrong name lists the splits found."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from magic_submit.cli import app
from magic_submit.dataset import DatasetLayout, locate_split, split_file, split_name
from magic_submit.errors import MagicError, UsageError

runner = CliRunner()


def invoke(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [*map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_names_and_paths(sample_data: Path) -> None:
    assert split_file("test") is None and split_name("test") == "test"
    assert split_name(str(sample_data / "test.json")) == "test"
    layout, query = locate_split(str(sample_data / "test.json"), None)
    assert query == sample_data / "test.json" and layout.find_images(
        str(sample_data / "test.json")) == sample_data / "images_test"
    layout, query = locate_split("valid", sample_data)
    assert query == sample_data / "valid.json"
    with pytest.raises(UsageError, match="give the dataset root with --data"):
        locate_split("valid", None)
    assert DatasetLayout(sample_data).splits_found() == ["test", "train", "valid"]


def test_a_split_in_a_folder_of_its_own(sample_data: Path, tmp_path: Path) -> None:
    """A second test release in a folder of its own: the query file's path is enough."""
    release = tmp_path / "release2"
    release.mkdir()
    shutil.copy(sample_data / "test.json", release / "test.json")
    shutil.copytree(sample_data / "images_test", release / "images_test")
    layout, _ = locate_split(str(release / "test.json"), None)
    assert layout.require_images(str(release / "test.json")) == release / "images_test"
    with pytest.raises(MagicError, match="no mask folder for split 'test'"):
        layout.require_masks(str(release / "test.json"))


@pytest.mark.parametrize("split", ["test", "PATH"])
def test_score_takes_a_name_or_a_path(split: str, sample_data: Path) -> None:
    value = sample_data / "test.json" if split == "PATH" else split
    code, out, err = invoke("score", sample_data / "submission", "--reference", sample_data,
                            "--split", value, "--json")
    assert code == 0, err
    assert json.loads(out)["number_segmentation_instances"] == 20


@pytest.mark.parametrize("command", [
    lambda d, t: ["score", d / "submission", "--reference", d, "--split", "tset"],
    lambda d, t: ["report", d / "submission", "--reference", d, "--split", "tset", "-o", t / "r"],
    lambda d, t: ["leaderboard", d / "submission", "--reference", d, "--split", "tset"],
    lambda d, t: ["pack", "--data", d, "--split", "tset", "--cvqa", d / "test_cvqa.json",
               "-o", t / "never.zip"],
    lambda d, t: ["validate-submission", d / "submission", "--data", d, "--split", "tset"],
    lambda d, t: ["run-baseline", "vqa", "--data", d, "--output", t / "run",
               "--method", "prior", "--predict-split", "tset"],
], ids=["score", "report", "leaderboard", "pack", "validate-submission", "run-baseline vqa"])
def test_a_wrong_name_lists_the_splits_found(command, sample_data: Path, tmp_path: Path) -> None:
    code, _, err = invoke(*command(sample_data, tmp_path))
    assert code in (1, 2) and "split 'tset'" in err, err
    assert "splits found in" in err and "test, train, valid" in err
    assert "point --data" not in err and "Traceback" not in err
