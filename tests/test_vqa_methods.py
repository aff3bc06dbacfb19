"""The weight-free CVQA baselines (prior, text): choices, outputs, and option alignment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vqa_cases import assert_permuted_predictions, copy_dataset

from baselines.vqa.decoding import answer_set
from baselines.vqa.prior import fit_prior, most_frequent_set
from baselines.vqa.run import VqaOptions, run_vqa
from baselines.vqa.text_model import TextModel, TextModelConfig
from magic_submit.challenge import PARENT_BY_ID, PARENTS, QIDS
from magic_submit.jsonio import read_json

SITE = PARENT_BY_ID["CQID011"]
OFFICIAL_KEYS = [f"accuracy_{p.id}" for p in PARENTS] + ["accuracy_all", "number_cvqa_instances"]


def _nm_answers() -> dict[str, tuple[int, ...]]:
    return {p.id: (p.nm_index,) * p.slots for p in PARENTS}


def test_prior_picks_the_most_frequent_set_not_slot_majorities():
    # slot 1's majority is 2 and slot 2's is NM, but the most frequent SET is {3, 5, NM}
    slots = [(3, 5, 7, 7, 7, 7), (5, 3, 7, 7, 7, 7), (2, 7, 7, 7, 7, 7), (2, 0, 7, 7, 7, 7),
             (2, 1, 7, 7, 7, 7)]
    assert most_frequent_set(slots, SITE) == (3, 5, 7)


def test_prior_ties_go_to_the_first_seen_answer():
    gold = {"E1": _nm_answers() | {"CQID025": (1,)}, "E2": _nm_answers() | {"CQID025": (0,)}}
    assert fit_prior(gold).answers["CQID025"] == (1,)
    gold["E3"] = _nm_answers() | {"CQID025": (0,)}
    assert fit_prior(gold).answers["CQID025"] == (0,)
    assert fit_prior(gold).answers["CQID011"] == (7,)  # all NM: NM alone


def _toy_corpus(n: int = 40) -> tuple[list[str], list[dict]]:
    """Itch is written in the text; the site is not (a constant answer)."""
    texts, gold = [], []
    for i in range(n):
        itchy = i % 2 == 0
        texts.append(("very itchy rash" if itchy else "rash that does not itch at all")
                     + f" on day {i} of a long story")
        site = (3, 7, 7, 7, 7, 7)
        gold.append(_nm_answers() | {"CQID025": (0 if itchy else 1,), "CQID011": site})
    return texts, gold


def test_text_model_learns_what_the_text_says_and_keeps_the_prior_elsewhere():
    texts, gold = _toy_corpus()
    model = TextModel(TextModelConfig(folds=3, c_grid=(1.0, 16.0), seed=0)).fit(texts, gold)
    assert model.choices["CQID025"].linear is not None
    assert model.choices["CQID025"].cv_iom > model.choices["CQID025"].prior_cv_iom
    assert model.choices["CQID011"].linear is None  # one answer set in training: the prior
    predicted = model.predict(["so itchy since monday", "it does not itch"])
    assert [p["CQID025"] for p in predicted] == [(0,), (1,)]
    assert predicted[0]["CQID011"] == (3, 7)


def test_text_model_is_deterministic():
    texts, gold = _toy_corpus(24)
    config = TextModelConfig(folds=3, c_grid=(1.0,), seed=3)
    first = TextModel(config).fit(texts, gold)
    second = TextModel(config).fit(texts, gold)
    assert first.choices == second.choices
    assert first.predict(texts) == second.predict(texts)


@pytest.fixture(scope="module")
def runs(sample_data: Path, tmp_path_factory) -> dict[str, dict]:
    """prior and text on the sample, and text on a copy whose options are permuted."""
    root = tmp_path_factory.mktemp("vqa_methods")
    permuted = copy_dataset(sample_data, root / "permuted_data", permute=True)
    out = {}
    for name, data, method in [("prior", sample_data, "prior"), ("text", sample_data, "text"),
                               ("prior_permuted", permuted, "prior"),
                               ("text_permuted", permuted, "text")]:
        result = run_vqa(VqaOptions(data=data, output=root / name, method=method))
        out[name] = {"metrics": result.metrics, "records": read_json(result.submission_file),
                     "metrics_file": read_json(result.metrics_file), "report": result.validation}
    return out


@pytest.mark.parametrize("method", ["prior", "text"])
def test_writes_a_valid_submission_and_official_metrics(runs, sample_data: Path, method: str):
    run = runs[method]
    test_ids = [e["encounter_id"] for e in read_json(sample_data / "test.json")]
    assert [r["encounter_id"] for r in run["records"]] == test_ids
    assert all(list(r)[1:] == list(QIDS) and all(type(r[q]) is int for q in QIDS)
               for r in run["records"])
    assert run["report"].valid and run["report"].codes("warning") == {"segmentation-absent"}
    assert [k for k in run["metrics_file"] if k in OFFICIAL_KEYS] == OFFICIAL_KEYS
    assert run["metrics_file"]["number_cvqa_instances"] == 12
    assert run["metrics_file"] == json.loads(json.dumps(run["metrics"]))


def test_multi_slot_answers_are_padded_like_the_gold(runs):
    for record in runs["text"]["records"]:
        for parent in PARENTS:
            if parent.multi_slot:
                values = [record[q] for q in parent.qids]
                real = [v for v in values if v != parent.nm_index]
                assert values == real + [parent.nm_index] * (parent.slots - len(real))


def test_text_beats_prior_on_the_sample_valid_split(runs):
    prior, text = runs["prior"]["metrics"], runs["text"]["metrics"]
    assert prior["accuracy_all"] == pytest.approx(0.48688, abs=1e-4)  # the sample README: ~0.49
    assert text["accuracy_all"] > prior["accuracy_all"] + 0.05


@pytest.mark.parametrize("method", ["prior", "text"])
def test_permuted_definitions_permute_the_predictions(runs, method: str):
    """Options rotated in the definitions and the gold alike: the same answers, re-indexed."""
    original, permuted = runs[method], runs[f"{method}_permuted"]
    assert_permuted_predictions(original["records"], permuted["records"])
    scores = [[run["metrics"][k] for k in OFFICIAL_KEYS] for run in (original, permuted)]
    assert scores[1] == pytest.approx(scores[0])


def test_prior_answer_sets_come_from_training_gold(runs, sample_data: Path):
    train = read_json(sample_data / "train_cvqa.json")
    chosen = runs["prior"]["metrics"]["prior"]
    for parent in PARENTS:
        counts = {}
        for record in train:
            key = frozenset(answer_set([record[q] for q in parent.qids], parent))
            counts[key] = counts.get(key, 0) + 1
        assert counts[frozenset(chosen[parent.id])] == max(counts.values())


def test_text_model_predict_only_transforms(monkeypatch: pytest.MonkeyPatch):
    """Everything is fitted in fit(); predict() refits neither the TF-IDF nor a regression."""
    import sklearn.linear_model
    import sklearn.pipeline

    import baselines.vqa.text_model as text_model

    texts, gold = _toy_corpus()
    model = TextModel(TextModelConfig(folds=3, c_grid=(1.0,), seed=0)).fit(texts, gold)
    first = model.predict(["so itchy since monday", "it does not itch"])

    def refit(*args, **kwargs):
        raise AssertionError("refitted in predict()")

    monkeypatch.setattr(sklearn.linear_model.LogisticRegression, "fit", refit)
    monkeypatch.setattr(sklearn.pipeline.FeatureUnion, "fit_transform", refit)
    monkeypatch.setattr(text_model, "make_featurizer", refit)
    assert model.predict(["so itchy since monday", "it does not itch"]) == first
    assert model.predict([]) == []
    with pytest.raises(RuntimeError, match="fit"):
        TextModel().predict(["a"])


def test_definitions_are_read_once_per_run(sample_data: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch):
    import baselines.vqa.data as data
    import magic_submit.definitions as definitions

    reads: list[Path] = []
    real = definitions.load_definitions

    def counting(path, *args, **kwargs):
        reads.append(Path(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(definitions, "load_definitions", counting)
    monkeypatch.setattr(data, "load_definitions", counting)
    notes: list[str] = []
    result = run_vqa(VqaOptions(data=sample_data, output=tmp_path, method="prior",
                                valid_split="nosuch"), note=notes.append)
    assert len(reads) == 1 and result.validation.valid
    # plain notes, to the callback and into metrics.json
    assert notes == ["no 'nosuch' split found: no validation scores"] == result.metrics["notes"]
