"""``magic run-baseline seg`` end to end on sample_data, on the CPU, without network.

The smoke command is docs/baseline-seg.md's: a tiny random CLIPSeg learns the sample's lesions
well enough that ``magic score`` gives Dice M(Max) >= 0.6 on the valid split.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("transformers")

from conftest import SEG_SMOKE as SMOKE  # noqa: E402
from conftest import run_magic as magic  # noqa: E402
from magic_submit.cli import app  # noqa: E402
from magic_submit.masks import image_size, read_mask  # noqa: E402
from magic_submit.naming import mask_file_name  # noqa: E402
from magic_submit.validation import validate_submission  # noqa: E402

runner = CliRunner()


@pytest.fixture
def smoke_run(seg_smoke_run: Path) -> Path:
    return seg_smoke_run


def test_smoke_run_learns_and_its_submission_scores(smoke_run: Path, sample_data: Path) -> None:
    scored = magic("score", smoke_run / "submission.zip", "--reference", sample_data,
                   "--split", "valid", "--json")
    assert scored.returncode == 0, scored.stderr
    scores = json.loads(scored.stdout)
    assert scores["dice_meanofmax"] >= 0.6  # the loop learns and the masks line up
    metrics = json.loads((smoke_run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["valid"]["dice_meanofmax"] == pytest.approx(scores["dice_meanofmax"])
    assert metrics["valid"]["dice"] == pytest.approx(scores["dice"])
    assert len(metrics["epochs"]) == 12 and metrics["best_epoch"] >= 1
    first = metrics["epochs"][0]
    assert {"epoch", "train_loss", "valid", "select_value", "best", "seconds"} <= set(first)
    for key in ("dice", "jaccard", "dice_meanofmax", "jaccard_meanofmean",
                "number_segmentation_instances"):
        assert key in first["valid"]
    assert metrics["precision"] == "fp32" and metrics["threshold"] == 0.5
    # the figures are those of the split the best epoch was chosen on, and metrics.json says so
    assert metrics["selection"]["split"] == "valid" and metrics["selection"]["optimistic"]
    assert metrics["selection"]["chosen_on_it"] == ["best_epoch"]
    assert metrics["skipped_images"] == {"train": 0, "valid": 0} and metrics["notes"] == []
    assert (smoke_run / "train.log").read_text(encoding="utf-8").count("epoch ") >= 12
    for name in ("checkpoints/last.pt", "checkpoints/best_decoder.pt", "model/config.json"):
        assert (smoke_run / name).is_file(), name


def test_smoke_masks_are_named_and_sized_like_their_images(smoke_run: Path,
                                                          sample_data: Path) -> None:
    records = json.loads((sample_data / "valid.json").read_text(encoding="utf-8"))
    files = [f for r in records for f in r["image_ids"]]
    masks_dir = smoke_run / "submission" / "masks_preds"
    assert sorted(p.name for p in masks_dir.iterdir()) == sorted(
        mask_file_name(Path(f).stem) for f in files)
    for file_name in files:
        mask = read_mask(masks_dir / mask_file_name(Path(file_name).stem))
        assert mask.shape == image_size(sample_data / "images_valid" / file_name)
        assert mask.dtype.name == "uint8" and mask.max() <= 1 and mask.any()
    for submission in (smoke_run / "submission.zip", smoke_run / "submission"):
        report = validate_submission(submission, sample_data / "valid.json",
                                     images_dir=sample_data / "images_valid")
        assert report.valid, report.errors


def test_resume_of_a_finished_run_trains_nothing_and_gives_the_same_figures(
        smoke_run: Path, sample_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "resumed"
    shutil.copytree(smoke_run / "checkpoints", out / "checkpoints")
    result = runner.invoke(app, ["run-baseline", "seg", "--data", str(sample_data), "--output",
                                 str(out), *SMOKE, "--resume", "--json", "--quiet"])
    assert result.exit_code == 0, result.stderr
    before = json.loads((smoke_run / "metrics.json").read_text(encoding="utf-8"))
    after = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert after["resumed_after_epoch"] == 12 and after["valid"] == before["valid"]
    assert [e["train_loss"] for e in after["epochs"]] == [e["train_loss"] for e in before["epochs"]]
    assert json.loads(result.stdout)["best_epoch"] == before["best_epoch"]


def _copy_with_own_masks(sample_data: Path, target: Path) -> Path:
    """sample_data with its photos linked and its masks copied (free to damage)."""
    target.mkdir()
    for item in sample_data.iterdir():
        if item.name == "dermavqa-segmentations":
            shutil.copytree(item, target / item.name)
        else:
            (target / item.name).symlink_to(item.resolve())
    return target


def test_photos_with_rotated_masks_are_skipped_and_named(sample_data: Path,
                                                         tmp_path: Path) -> None:
    """One train and one valid photo whose masks have height and width swapped (drawn on the
    EXIF-rotated photo): the run goes on without them and says so."""
    from baselines.seg.data import load_samples, read_annotator_masks
    from magic_submit.masks import write_mask

    data = _copy_with_own_masks(sample_data, tmp_path / "data")
    rotated = []
    for split, index in (("train", 5), ("valid", 2)):
        sample = load_samples(data, split, need_masks=True)[index]
        masks = read_annotator_masks(sample)
        for annotator, path in sample.mask_paths.items():
            write_mask(path, masks[annotator].T)
        rotated.append(sample.image_id)
    out = tmp_path / "out"
    result = runner.invoke(app, ["run-baseline", "seg", "--data", str(data), "--output", str(out),
                                 "--model", "tiny-random", "--device", "cpu", "--predict-split",
                                 "valid", "--epochs", "1", "--batch-size", "8"])
    assert result.exit_code == 0, result.stderr
    for image_id in rotated:
        assert f"skipped {image_id}: annotator masks" in result.stderr
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["skipped_images"] == {"train": 1, "valid": 1}
    assert [n.split(":")[0] for n in metrics["notes"]] == [f"skipped {i}" for i in rotated]
    assert metrics["valid"]["number_segmentation_instances"] == 19  # scored without it
    assert metrics["n_predicted"] == 20  # but predicted: a submission needs every photo


def test_resume_without_a_checkpoint_says_so(sample_data: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run-baseline", "seg", "--data", str(sample_data), "--output",
                                 str(tmp_path / "fresh"), "--model", "tiny-random", "--device",
                                 "cpu", "--valid-split", "none", "--epochs", "1", "--resume"])
    assert result.exit_code == 0, result.stderr
    assert "--resume: no checkpoint" in result.stderr and "a new run starts" in result.stderr
    metrics = json.loads((tmp_path / "fresh" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["resumed_after_epoch"] == 0 and "--resume: no checkpoint" in metrics["notes"][0]


def test_torchrun_three_processes_same_command_line(smoke_run: Path, sample_data: Path,
                                                    tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "3",
         "-m", "magic_submit", "run-baseline", "seg", "--data", str(sample_data), "--output",
         str(out), "--model", "tiny-random", "--device", "cpu", "--predict-split", "valid",
         "--epochs", "2", "--batch-size", "8", "--quiet", "--json"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["world_size"] == 3 and len(metrics["epochs"]) == 2
    # 64 photos, global batches of 8 dealt 3 + 3 + 2 and the gradients averaged by DDP: the
    # steps of one process (equal losses up to float rounding), every photo once per epoch
    single = json.loads((smoke_run / "metrics.json").read_text(encoding="utf-8"))
    for ddp, one in zip(metrics["epochs"], single["epochs"]):
        assert (ddp["steps"], ddp["samples"]) == (one["steps"], one["samples"]) == (8, 64)
        assert ddp["train_loss"] == pytest.approx(one["train_loss"], rel=1e-4)
    assert json.loads(done.stdout)["submission"] == str(out / "submission.zip")


@pytest.mark.parametrize("args, code, message", [
    (["--device", "gpu"], 2, "--device"),
    (["--target", "and"], 2, "--target"),
    (["--prompt", "all"], 2, "--prompt"),
    (["--select-metric", "accuracy"], 2, "--select-metric"),
    (["--tune-threshold", "--valid-split", "none"], 2, "--valid-split"),
    (["--epochs", "0"], 2, "--epochs"),
])
def test_usage_errors_exit_2(sample_data: Path, tmp_path: Path, args: list, code: int,
                             message: str) -> None:
    result = runner.invoke(app, ["run-baseline", "seg", "--data", str(sample_data), "--output",
                                 str(tmp_path), *args])
    assert result.exit_code == code and message in result.output + result.stderr


def test_input_errors_exit_1_with_the_culprit(sample_data: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run-baseline", "seg", "--data", str(tmp_path / "nowhere"),
                                 "--output", str(tmp_path / "out"), "--device", "cpu"])
    assert result.exit_code == 1 and "no query file for split 'train'" in result.stderr
    result = runner.invoke(app, ["run-baseline", "seg", "--data", str(sample_data), "--output",
                                 str(tmp_path / "out"), "--device", "cpu", "--model",
                                 str(tmp_path / "no-model")])
    assert result.exit_code == 1 and "model folder not found" in result.stderr
    result = runner.invoke(app, ["run-baseline", "seg", "--data", str(sample_data), "--output",
                                 str(tmp_path / "out"), "--device", "cpu", "--predict-split",
                                 "nosuch"])
    assert result.exit_code == 1 and "nosuch" in result.stderr
    assert not (tmp_path / "out" / "submission.zip").exists()


def test_without_validation_split_predicts_the_test_split(sample_data: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run-baseline", "seg", "--data", str(sample_data), "--output",
                                 str(tmp_path), "--model", "tiny-random", "--device", "cpu",
                                 "--valid-split", "none", "--epochs", "1", "--quiet"])
    assert result.exit_code == 0, result.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["valid"] is None and metrics["best_epoch"] == 1 and metrics["n_predicted"] == 20
    report = validate_submission(tmp_path / "submission.zip", sample_data / "test.json",
                                 images_dir=sample_data / "images_test")
    assert report.valid, report.errors
    assert "submission:" in result.stdout


def test_tuned_threshold_majority_target_and_query_prompt(sample_data: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run-baseline", "seg", "--data", str(sample_data), "--output",
                                 str(tmp_path), "--model", "tiny-random", "--device", "cpu",
                                 "--predict-split", "valid", "--epochs", "3", "--batch-size", "8",
                                 "--tune-threshold", "--select-metric", "dice_meanofmean",
                                 "--target", "majority", "--prompt", "query", "--quiet"])
    assert result.exit_code == 0, result.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    table = metrics["threshold_scores"]
    assert len(table) == 19 and f"{metrics['threshold']:.2f}" in table

    def ranked(scores: dict) -> tuple:  # a NaN (null) figure ranks below every number
        value = scores["dice_meanofmean"]
        return (value is not None, scores["dice_meanofmean_empty_is_one"] if value is None else value)

    assert metrics["selection"]["chosen_on_it"] == ["best_epoch", "threshold"]
    assert "threshold chosen on this split: optimistic" in result.stdout.replace("\n", " ")
    best = max(ranked(v) for v in table.values())
    assert ranked(metrics["valid"]) == best and best[1] == metrics["select_value"]
    assert metrics["options"]["target"] == "majority" and metrics["options"]["prompt"] == "query"
    scored = magic("score", tmp_path / "submission.zip", "--reference", sample_data, "--split",
                   "valid", "--json")
    assert ranked(json.loads(scored.stdout))[1] == pytest.approx(best[1])


def test_missing_torch_is_an_install_hint(sample_data: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    result = runner.invoke(app, ["run-baseline", "seg", "--data", str(sample_data), "--output",
                                 str(tmp_path)])
    assert result.exit_code == 1 and "pip install 'magic-mediqa[baselines]'" in result.stderr


def test_epoch_bar_follows_the_epoch_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bar (console.progress_counter) starts with training and, after --resume, jumps to
    the first epoch trained."""
    import contextlib

    import baselines.cli.run_seg as cli
    import magic_submit.console as console

    bars: list[list] = []

    @contextlib.contextmanager
    def fake_counter(description: str, total: int, *, enabled: bool):
        bars.append([description, total, enabled, 0])
        yield lambda: bars[-1].__setitem__(3, bars[-1][3] + 1)

    monkeypatch.setattr(console, "progress_counter", fake_counter)
    monkeypatch.setattr(console, "progress_enabled", lambda quiet=False: not quiet)
    with cli._epoch_reporter(quiet=False) as reporter:
        assert bars == []  # no bar while the cache is built
        reporter.start_training(30)
        reporter.epoch({"epoch": 11})  # resumed after epoch 10
        reporter.epoch({"epoch": 12})
    assert bars == [["epochs", 30, True, 12]]


def test_photos_show_progress_while_decoding_and_encoding(sample_data: Path, tmp_path: Path) -> None:
    """run-baseline seg reports each split's photos as they are decoded and encoded."""
    import contextlib

    from baselines.seg.run import Reporter, SegOptions, run_seg

    bars: dict[str, list[int]] = {}

    @contextlib.contextmanager
    def photos(what: str, total: int):
        bars[what] = [total, 0]
        yield lambda: bars[what].__setitem__(1, bars[what][1] + 1)

    run_seg(SegOptions(data=sample_data, output=tmp_path / "run", model="tiny-random", epochs=1,
                       device="cpu", valid_split=None, predict_split="valid"),
            Reporter(photos=photos))
    n_train = len(list((sample_data / "images_train").iterdir()))
    n_valid = len(list((sample_data / "images_valid").iterdir()))
    assert bars == {"train (train): decoding and encoding": [n_train, n_train],
                    "predict (valid): decoding and encoding": [n_valid, n_valid]}
