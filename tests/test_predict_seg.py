"""``magic predict seg``: the run's own masks again, any split, TTA, ensembles, clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("transformers")

from conftest import run_magic  # noqa: E402
from magic_submit.cli import app  # noqa: E402
from magic_submit.masks import image_size, read_mask, write_mask  # noqa: E402
from magic_submit.naming import mask_file_name, probability_file_name  # noqa: E402
from magic_submit.validation import validate_submission  # noqa: E402

runner = CliRunner()


def predict(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, ["predict", "seg", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def masks_of(folder: Path) -> dict[str, np.ndarray]:
    masks_dir = folder / "submission" / "masks_preds"
    return {p.name: read_mask(p) for p in sorted(masks_dir.glob("*.tiff"))}


def assert_same_masks(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert list(a) == list(b) and a
    for name in a:
        assert np.array_equal(a[name], b[name]), name


@pytest.fixture(scope="module")
def predicted_valid(seg_smoke_run: Path, sample_data: Path,
                    tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("predict") / "valid"
    code, _, err = predict("--run", seg_smoke_run, "--data", sample_data, "--split", "valid",
                           "--output", out, "--save-probabilities", "--quiet")
    assert code == 0, err
    return out


def test_predict_writes_the_masks_of_run_baseline(seg_smoke_run: Path, predicted_valid: Path,
                                                  sample_data: Path) -> None:
    """run-baseline --predict-split valid, then predict with that run: identical masks."""
    ours = masks_of(predicted_valid)
    assert_same_masks(ours, masks_of(seg_smoke_run))
    assert len(ours) == 20 and sum(int(m.sum()) for m in ours.values()) > 0
    report = validate_submission(predicted_valid / "submission.zip", sample_data / "valid.json",
                                 images_dir=sample_data / "images_valid")
    assert report.valid, report.errors
    record = json.loads((predicted_valid / "prediction.json").read_text(encoding="utf-8"))
    run = json.loads((seg_smoke_run / "metrics.json").read_text(encoding="utf-8"))
    assert record["threshold"] == run["threshold"] and record["n_predicted"] == 20
    assert record["members"][0]["prompt"] == run["options"]["prompt"] == "query+responses"


def test_saved_probabilities_are_the_maps_at_each_photo_size(predicted_valid: Path,
                                                            sample_data: Path) -> None:
    probabilities = predicted_valid / "probabilities"
    manifest = json.loads((probabilities / "probabilities.json").read_text(encoding="utf-8"))
    assert manifest["split"] == "valid" and manifest["format"] == "png"
    masks = masks_of(predicted_valid)
    for image_id in manifest["image_ids"]:
        levels = np.asarray(Image.open(probabilities / probability_file_name(image_id, "png")))
        assert levels.dtype == np.uint8
        assert levels.shape == image_size(next((sample_data / "images_valid").glob(image_id + ".*")))
        mask = masks[mask_file_name(image_id)]
        # the mask is p > 0.5; the map is round(255 p): they agree away from the threshold
        assert not np.any(mask[levels <= 126]) and np.all(mask[levels >= 129])


def test_ensemble_of_a_run_with_itself_equals_the_run(seg_smoke_run: Path, predicted_valid: Path,
                                                      sample_data: Path, tmp_path: Path) -> None:
    code, _, err = predict("--ensemble", seg_smoke_run, "--ensemble", seg_smoke_run, "--data",
                           sample_data, "--split", "valid", "--output", tmp_path / "runs")
    assert code == 0, err
    assert_same_masks(masks_of(tmp_path / "runs"), masks_of(seg_smoke_run))
    # saved maps (their output folder or the probabilities/ folder itself): the same with
    # themselves as alone; against the run's float maps only pixels within a level of 0.5 move
    for name, members in (("twice", [predicted_valid, predicted_valid / "probabilities"]),
                          ("once", [predicted_valid])):
        args = [a for m in members for a in ("--ensemble", m)]
        code, _, err = predict(*args, "--data", sample_data, "--split", "valid", "--output",
                               tmp_path / name)
        assert code == 0, err
    assert_same_masks(masks_of(tmp_path / "twice"), masks_of(tmp_path / "once"))
    levels_dir = predicted_valid / "probabilities"
    for name, mask in masks_of(tmp_path / "once").items():
        image_id = name.removesuffix("_mask_sys.tiff")
        levels = np.asarray(Image.open(levels_dir / probability_file_name(image_id, "png")))
        moved = mask != masks_of(seg_smoke_run)[name]
        assert np.all(np.abs(levels[moved].astype(int) - 127.5) <= 1)


def test_ensemble_averages_then_thresholds_once(tmp_path: Path, sample_data: Path) -> None:
    """Two folders of maps 0.2 and 0.8 everywhere: the mean, 0.5, is above the mean threshold
    0.4 and below 0.6; either map alone would give the opposite masks."""
    records = json.loads((sample_data / "valid.json").read_text(encoding="utf-8"))
    ids = [Path(f).stem for r in records for f in r["image_ids"]]
    for name, value in (("low", 51), ("high", 204)):
        folder = tmp_path / name
        folder.mkdir()
        for image_id in ids:
            size = image_size(next((sample_data / "images_valid").glob(image_id + ".*")))
            Image.fromarray(np.full(size, value, np.uint8)).save(
                folder / probability_file_name(image_id, "png"))
        (folder / "probabilities.json").write_text(json.dumps(
            {"format": "png", "threshold": 0.5 if name == "low" else 0.3, "image_ids": ids}))
    code, _, err = predict("--ensemble", tmp_path / "low", "--ensemble", tmp_path / "high",
                           "--data", sample_data, "--split", "valid", "--output", tmp_path / "a")
    assert code == 0 and "thresholds differ (0.5, 0.3): their mean 0.4" in err
    assert all(m.all() for m in masks_of(tmp_path / "a").values())
    code, _, err = predict("--ensemble", tmp_path / "low", "--ensemble", tmp_path / "high",
                           "--data", sample_data, "--split", "valid", "--output", tmp_path / "b",
                           "--threshold", "0.6")
    assert code == 0 and not any(m.any() for m in masks_of(tmp_path / "b").values())


def test_hflip_tta_is_mirror_symmetric(seg_smoke_run: Path) -> None:
    """L(flip(x)) = flip(L(x)), bit for bit, on the run's own model."""
    import torch

    from baselines.runtime import Runtime
    from baselines.seg.inference import batch_logits
    from baselines.seg.runs import load_run_model, read_seg_run

    model, _ = load_run_model(read_seg_run(seg_smoke_run))
    cpu = Runtime(torch.device("cpu"), None)
    generator = torch.Generator().manual_seed(3)
    pixels = torch.randn((3, 3, 352, 352), generator=generator)
    conditional = torch.randn((3, model.config.projection_dim), generator=generator)
    plain = batch_logits(model, pixels, conditional, cpu)
    tta = batch_logits(model, pixels, conditional, cpu, tta="hflip")
    mirrored = batch_logits(model, pixels.flip(-1), conditional, cpu, tta="hflip")
    assert torch.equal(mirrored, tta.flip(-1))
    assert not torch.equal(tta, plain)  # the mirror image did change the logits
    assert not torch.equal(plain.flip(-1), batch_logits(model, pixels.flip(-1), conditional, cpu))


def test_hflip_on_mirrored_photos_gives_mirrored_masks(seg_smoke_run: Path, sample_data: Path,
                                                       tmp_path: Path) -> None:
    """--images with lossless copies of the valid photos and their mirror images."""
    straight, mirrored = tmp_path / "straight", tmp_path / "mirrored"
    for folder, flip in ((straight, False), (mirrored, True)):
        folder.mkdir()
        for photo in (sample_data / "images_valid").iterdir():
            image = Image.open(photo).convert("RGB")
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if flip else image
            image.save(folder / photo.name, format="PNG")  # the split's names, PNG inside
    for folder in (straight, mirrored):
        code, _, err = predict("--run", seg_smoke_run, "--data", sample_data, "--split", "valid",
                               "--images", folder, "--tta", "hflip", "--output", tmp_path / f"o-{folder.name}")
        assert code == 0, err
    a, b = masks_of(tmp_path / "o-straight"), masks_of(tmp_path / "o-mirrored")
    assert list(a) == list(b)
    differing = sum(int((a[n] != b[n][:, ::-1]).sum()) for n in a)
    total = sum(m.size for m in a.values())
    assert differing <= total * 1e-4, (differing, total)  # resampling rounds at the very edge


def test_images_folder_with_other_and_missing_photos(seg_smoke_run: Path, sample_data: Path,
                                                     tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    shutil.copytree(sample_data / "images_test", photos)
    shutil.copy(photos / "IMG_ENC00908_00001.jpg", photos / "IMG_ENC09999_00001.jpg")
    code, out, err = predict("--run", seg_smoke_run, "--data", sample_data, "--split", "test",
                             "--images", photos, "--output", tmp_path / "a", "--json")
    assert code == 0, err
    assert "1 photo(s) in" in err and "IMG_ENC09999_00001.jpg" in err
    assert json.loads(out)["n_predicted"] == 20
    (photos / "IMG_ENC00908_00002.jpg").unlink()
    code, _, err = predict("--run", seg_smoke_run, "--data", sample_data, "--split", "test",
                           "--images", photos, "--output", tmp_path / "b")
    assert code == 1 and "missing" in err and "IMG_ENC00908_00002" in err


def test_through_a_subprocess_json(seg_smoke_run: Path, sample_data: Path, tmp_path: Path) -> None:
    """A split given as its query file's path (a later release in a folder of its own)."""
    done = run_magic("predict", "seg", "--run", seg_smoke_run, "--split",
                     sample_data / "test.json", "--output", tmp_path / "out", "--workers", "2",
                     "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["split"] == "test" and record["n_predicted"] == 20
    assert record["submission"] == str(tmp_path / "out" / "submission.zip")
    report = validate_submission(tmp_path / "out" / "submission.zip", sample_data / "test.json",
                                 images_dir=sample_data / "images_test")
    assert report.valid, report.errors


# --- errors ---------------------------------------------------------------------------------------
def _copy_run(run: Path, target: Path) -> Path:
    shutil.copytree(run, target, ignore=shutil.ignore_patterns("checkpoints"))
    return target


def test_missing_and_incomplete_run_folders(seg_smoke_run: Path, sample_data: Path,
                                            tmp_path: Path) -> None:
    def error(run: Path) -> str:
        code, out, err = predict("--run", run, "--data", sample_data, "--split", "valid",
                                 "--output", tmp_path / "out", "--json")
        assert code == 1 and json.loads(out)["error"]["file"]
        assert not (tmp_path / "out" / "submission.zip").exists()
        return err

    assert "run folder not found" in error(tmp_path / "nowhere")
    run = _copy_run(seg_smoke_run, tmp_path / "run")
    (run / "metrics.json").unlink()
    assert "incomplete run folder: no metrics.json" in error(run)
    (run / "checkpoints").mkdir()  # an interrupted run
    assert "the run stopped before its end" in error(run) and "--resume" in error(run)
    run = _copy_run(seg_smoke_run, tmp_path / "run2")
    for weights in (run / "model").glob("*.safetensors"):
        weights.unlink()
    assert "model/ lacks its weights" in error(run)
    shutil.rmtree(run / "model")
    assert "incomplete run folder: no model/ folder" in error(run)
    run = _copy_run(seg_smoke_run, tmp_path / "run3")
    metrics = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps({**metrics, "threshold": None}))
    assert "lacks the run's threshold" in error(run)
    vqa = tmp_path / "vqa"
    vqa.mkdir()
    (vqa / "metrics.json").write_text(json.dumps({"baseline": "vqa", "method": "text"}))
    assert "use 'magic predict vqa'" in error(vqa)


def test_a_model_that_is_not_the_runs_is_refused(seg_smoke_run: Path, sample_data: Path,
                                                  tmp_path: Path) -> None:
    from baselines.seg.tiny import save_random_model

    run = _copy_run(seg_smoke_run, tmp_path / "run")
    save_random_model(run / "model", size="tiny", seed=1)  # the same architecture, other weights
    code, _, err = predict("--run", run, "--data", sample_data, "--split", "valid", "--output",
                           tmp_path / "out")
    assert code == 1 and "does not hold the model this run trained" in err


def test_a_split_without_photos_and_bad_members(seg_smoke_run: Path, sample_data: Path,
                                                tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "test.json").write_text(json.dumps([{"encounter_id": "ENC00908", "image_ids": []}]))
    (data / "images_test").mkdir()
    code, _, err = predict("--run", seg_smoke_run, "--data", data, "--split", "test", "--output",
                           tmp_path / "out")
    assert code == 1 and "split 'test' lists no photo" in err
    (tmp_path / "neither").mkdir()
    code, _, err = predict("--ensemble", tmp_path / "neither", "--data", sample_data, "--split",
                           "valid", "--output", tmp_path / "out")
    assert code == 1 and "neither a run folder" in err
    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "probabilities.json").write_text(json.dumps({"format": "png", "threshold": 0.5}))
    code, _, err = predict("--ensemble", maps, "--data", sample_data, "--split", "valid",
                           "--output", tmp_path / "out")
    assert code == 1 and "20 photo(s) of the split have no saved probability map" in err


def test_output_guard_and_usage_errors(seg_smoke_run: Path, sample_data: Path,
                                       tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    write_mask(out / "something.tiff", np.zeros((2, 2), np.uint8))
    code, _, err = predict("--run", seg_smoke_run, "--data", sample_data, "--output", out)
    assert code == 1 and "already holds files" in err
    assert (out / "something.tiff").is_file()
    run = _copy_run(seg_smoke_run, tmp_path / "run")
    code, _, err = predict("--run", run, "--data", sample_data, "--output", run, "--overwrite")
    assert code == 1 and "--output holds an input of this command" in err
    assert (run / "submission.zip").is_file()
    for args in (["--run", seg_smoke_run, "--ensemble", seg_smoke_run], [],
                 ["--run", seg_smoke_run, "--tta", "vflip"],
                 ["--run", seg_smoke_run, "--probability-format", "jpg"],
                 ["--run", seg_smoke_run, "--threshold", "1.5"]):
        code, out_text, err = predict(*args, "--data", sample_data, "--output", tmp_path / "o")
        assert code == 2, (args, err)


def test_a_wrong_split_name_lists_the_splits_found(seg_smoke_run: Path, sample_data: Path,
                                                    tmp_path: Path) -> None:
    code, _, err = predict("--run", seg_smoke_run, "--data", sample_data, "--split", "tset",
                           "--output", tmp_path / "out")
    assert code == 1 and "split 'tset'" in err and "splits found in" in err
    code, _, err = predict("--run", seg_smoke_run, "--split", "test", "--output", tmp_path / "o")
    assert code == 2 and "give the dataset root with --data" in err
