"""A baseline never overwrites an earlier run by accident: --resume or --overwrite, or refuse."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from magic_submit.cli import app

runner = CliRunner()


def run(*args: object) -> tuple[int, str]:
    result = runner.invoke(app, ["run-baseline", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


def test_vqa_refuses_a_used_folder_and_overwrite_replaces_only_its_files(sample_data: Path,
                                                                         tmp_path: Path):
    out = tmp_path / "run"
    assert run("vqa", "--data", sample_data, "--output", out, "--method", "prior")[0] == 0
    (out / "metrics.json").write_text('{"marker": 1}', encoding="utf-8")
    (out / "my-notes.txt").write_text("keep me", encoding="utf-8")
    code, err = run("vqa", "--data", sample_data, "--output", out, "--method", "prior")
    assert code == 1
    assert str(out) in err and "metrics.json" in err and "--overwrite" in err
    assert json.loads((out / "metrics.json").read_text()) == {"marker": 1}  # untouched
    code, err = run("vqa", "--data", sample_data, "--output", out, "--method", "prior",
                    "--overwrite")
    assert code == 0, err
    assert "marker" not in json.loads((out / "metrics.json").read_text())
    assert (out / "my-notes.txt").read_text() == "keep me"


def test_seg_refuses_before_any_work(sample_data: Path, tmp_path: Path):
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "last.pt").write_bytes(b"hours of GPU time")
    code, err = run("seg", "--data", sample_data, "--output", out, "--model", "tiny-random",
                    "--device", "cpu")
    assert code == 1 and "checkpoints" in err and "--resume" in err
    assert sorted(p.name for p in out.iterdir()) == ["checkpoints"]  # refused before any work
    assert (out / "checkpoints" / "last.pt").read_bytes() == b"hours of GPU time"


def test_output_that_is_a_file_and_both_flags_are_errors(sample_data: Path, tmp_path: Path):
    target = tmp_path / "file"
    target.write_text("x")
    code, err = run("vqa", "--data", sample_data, "--output", target, "--method", "prior")
    assert code in (1, 2) and "file" in err
    code, err = run("seg", "--data", sample_data, "--output", tmp_path / "new", "--resume",
                    "--overwrite", "--model", "tiny-random", "--device", "cpu")
    assert code == 1 and "exclude each other" in err
