"""The bert-swin baseline with tiny random encoders built offline: alignment, images, decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from vqa_cases import assert_permuted_predictions, copy_dataset

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from baselines.runtime import Runtime  # noqa: E402
from baselines.vqa.bert_swin import (  # noqa: E402
    OptionScorer, decode_family, family_targets, standardize,
)
from baselines.vqa.bert_swin_features import (  # noqa: E402
    average_by_owner, build_features, encode_images, encode_texts, load_encoders,
)
from baselines.vqa.data import SplitData  # noqa: E402
from baselines.vqa.run import VqaOptions, run_vqa  # noqa: E402
from baselines.common import TINY_RANDOM  # noqa: E402
from baselines.vqa.tiny import model_sources  # noqa: E402
from magic_submit.challenge import PARENT_BY_ID  # noqa: E402
from magic_submit.dataset import Encounter  # noqa: E402
from magic_submit.jsonio import read_json  # noqa: E402

CPU = Runtime(torch.device("cpu"), None)
SITE = PARENT_BY_ID["CQID011"]


@pytest.fixture(scope="module")
def encoders():
    with model_sources(TINY_RANDOM, TINY_RANDOM) as (text, image):
        assert Path(text, "config.json").is_file()
        assert Path(image, "preprocessor_config.json").is_file()
        yield load_encoders(text, image, torch.device("cpu"))


def test_tiny_models_load_back_through_from_pretrained(encoders):
    tokens = encoders.tokenizer("Itchy red rash", "on the arm")["input_ids"]
    assert encoders.tokenizer.convert_ids_to_tokens(tokens)[:3] == ["[CLS]", "itchy", "red"]
    vectors = encode_texts(encoders, ["itchy rash " * 100, "smooth"], CPU)  # cut at 128 tokens
    assert vectors.shape == (2, encoders.text_dim)
    assert not any(p.requires_grad for p in encoders.text_model.parameters())


def test_option_scorer_follows_the_options_wherever_they_sit():
    torch.manual_seed(0)
    scorer = OptionScorer(8, 6, context=True, hidden=16).eval()
    options, image, context = torch.randn(5, 8), torch.randn(3, 6), torch.randn(3, 8)
    permutation = torch.tensor([3, 0, 4, 1, 2])
    logits = scorer(options, image, context)
    assert logits.shape == (3, 5)
    torch.testing.assert_close(scorer(options[permutation], image, context), logits[:, permutation])


def test_average_by_owner_one_many_and_no_image():
    vectors = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    averaged = average_by_owner(vectors, [0, 1, 1, 1], 3)
    torch.testing.assert_close(averaged, torch.tensor([[1.0, 2.0], [5.0, 6.0], [0.0, 0.0]]))


def _photo(path: Path, colour: tuple[int, int, int], size: tuple[int, int]) -> Path:
    Image.fromarray(np.full((*size, 3), colour, np.uint8)).save(path)
    return path


def test_encounters_with_one_and_with_many_photos(encoders, tmp_path: Path):
    a = _photo(tmp_path / "IMG_ENC00001_00001.jpg", (200, 40, 40), (50, 70))
    b = [_photo(tmp_path / f"IMG_ENC00002_0000{i}.png", c, (40 + i, 60))
         for i, c in [(2, (30, 30, 30)), (5, (240, 240, 200)), (9, (90, 160, 60))]]
    encounters = (Encounter("ENC00001", (a.name,), {"query_title_en": "one"}),
                  Encounter("ENC00002", tuple(p.name for p in b), {"query_title_en": "three"}))
    split = SplitData("test", encounters, None, tmp_path / "test.json", None)
    features = build_features(encoders, split, tmp_path, CPU, query_context=True)
    assert features.images_per_encounter == [1, 3]
    torch.testing.assert_close(features.image[0], encode_images(encoders, [a], CPU)[0])
    torch.testing.assert_close(features.image[1], encode_images(encoders, b, CPU).mean(dim=0))
    assert not torch.allclose(features.image[0], features.image[1])
    assert features.context.shape == (2, encoders.text_dim)
    without = build_features(encoders, split, tmp_path, CPU, query_context=False)
    assert without.context is None


def test_multi_slot_targets_mark_nm_only_without_real_answers():
    gold = [{"CQID011": (2, 0, 7, 7, 7, 7)}, {"CQID011": (7,) * 6}]
    targets = family_targets(gold, SITE)
    assert targets.tolist() == [[1, 0, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1]]
    single = family_targets([{"CQID025": (2,)}, {"CQID025": (0,)}], PARENT_BY_ID["CQID025"])
    assert single.tolist() == [2, 0]


def _logits(probabilities: list[float]) -> torch.Tensor:
    p = torch.tensor(probabilities)
    return torch.log(p / (1 - p))


def test_decode_family_sets():
    assert decode_family(_logits([.1, .8, .2, .6, .1, .1, .1, .3]), SITE, True) == (1, 3, 7)
    assert decode_family(_logits([.1, .4, .2, .1, .1, .1, .1, .3]), SITE, True) == (1, 7)  # top1
    assert decode_family(_logits([.1, .4, .2, .1, .1, .1, .1, .9]), SITE, True) == (7,)  # NM wins
    assert decode_family(_logits([.9] * 7 + [.1]), SITE, True) == (0, 1, 2, 3, 4, 5)  # 6 slots
    assert decode_family(torch.tensor([0.1, 2.0, -1.0]), PARENT_BY_ID["CQID025"], True) == (1,)


def test_standardize_uses_the_reference_statistics():
    reference = torch.tensor([[1.0, 10.0], [3.0, 10.0]])
    (same, other) = standardize(reference, reference, torch.tensor([[2.0, 11.0]]))
    assert torch.allclose(same.mean(dim=0), torch.zeros(2))
    assert other[0, 0] == 0.0 and other[0, 1] > 1e5  # a constant column keeps a tiny spread


@pytest.fixture(scope="module")
def bert_swin_runs(sample_data: Path, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("vqa_bert_swin")
    permuted = copy_dataset(sample_data, root / "permuted_data", permute=True, images=True)
    runs = {}
    for name, data in [("original", sample_data), ("permuted", permuted)]:
        options = VqaOptions(data=data, output=root / name, method="bert-swin", epochs=2,
                             model_text=TINY_RANDOM, model_image=TINY_RANDOM, device="cpu")
        determinism = torch.are_deterministic_algorithms_enabled()
        result = run_vqa(options)
        runs[name] = {"metrics": result.metrics, "records": read_json(result.submission_file),
                      "report": result.validation,
                      "determinism_restored": torch.are_deterministic_algorithms_enabled()
                      == determinism}
    return runs


def test_bert_swin_tiny_writes_a_valid_submission_with_epoch_metrics(bert_swin_runs):
    run = bert_swin_runs["original"]
    assert run["report"].valid and len(run["records"]) == 12
    metrics = run["metrics"]
    assert metrics["precision"] == "fp32" and metrics["device"] == "cpu"
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    assert all(0.0 <= e["valid"]["accuracy_all"] <= 1.0 for e in metrics["epochs"])
    best = metrics["epochs"][metrics["best_epoch"] - 1]["valid"]["accuracy_all"]
    assert metrics["accuracy_all"] == pytest.approx(best)  # the best epoch's weights are kept
    assert metrics["photos_encoded"] == {"train": 64, "valid": 20, "test": 20}
    assert run["determinism_restored"]  # a library call leaves torch's settings as it found them


def test_bert_swin_permuted_definitions_permute_the_predictions(bert_swin_runs):
    """The option texts move with their indices: the scorer must follow them."""
    original, permuted = bert_swin_runs["original"], bert_swin_runs["permuted"]
    assert_permuted_predictions(original["records"], permuted["records"])
    assert permuted["metrics"]["accuracy_all"] == pytest.approx(original["metrics"]["accuracy_all"])


def test_tiny_docstring_example() -> None:
    import doctest

    import baselines.vqa.tiny

    assert doctest.testmod(baselines.vqa.tiny).failed == 0


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_mixed_precision_training_path(dtype: str) -> None:
    """The CUDA recipe (bf16 autocast, or fp16 with a gradient scaler) run under CPU autocast."""
    from builders import random_answers

    from baselines.vqa.bert_swin import TrainSettings, train_scorer
    from baselines.vqa.bert_swin_features import SplitFeatures
    from baselines.vqa.data import family_answers
    from magic_submit.challenge import PARENTS

    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    n = 12
    options = {p.id: torch.randn(p.n_options, 8) for p in PARENTS}
    features = SplitFeatures([f"E{i}" for i in range(n)], torch.randn(n, 6), torch.randn(n, 8),
                             [1] * n)
    records = [{"encounter_id": f"E{i}", **random_answers(rng)} for i in range(n)]
    gold = [family_answers(r) for r in records]
    runtime = Runtime(torch.device("cpu"), getattr(torch, dtype))
    outcome = train_scorer(options, features, gold, features, records,
                           TrainSettings(epochs=2, hidden=16, batch_size=4), runtime,
                           {p.id: True for p in PARENTS})
    assert runtime.precision == {"bfloat16": "bf16", "float16": "fp16"}[dtype]
    assert all(np.isfinite(h["train_loss"]) for h in outcome.history)
    assert all(p.dtype == torch.float32 for p in outcome.model.parameters())  # fp32 master weights
    assert len(outcome.history) == 2 and outcome.best_epoch in (1, 2)
