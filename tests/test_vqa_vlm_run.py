"""The vlm/api methods end to end with scripted models: voting, retries, fallbacks, alignment,
and a run killed halfway then resumed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vlm_support import Killed, ScriptedBackend, gold_answers, oracle, use_backend
from vqa_cases import assert_permuted_predictions, copy_dataset, new_of_old, old_of_new

from baselines.vqa.data import family_options
from baselines.vqa.run import VqaOptions, run_vqa
from baselines.vqa.vlm.fewshot import nearest
from baselines.vqa.vlm.options import VlmOptions
from baselines.vqa.vlm.prompt import option_order
from baselines.vqa.vlm.store import RESPONSES_FILE
from magic_submit.challenge import CVQA_SUBMISSION_FILE, DEFINITIONS_FILE, PARENT_BY_ID, PARENTS
from magic_submit.definitions import load_definitions

PRIOR_ACCURACY = 0.48688  # the prior on the sample valid split (test_vqa_cli)


def run(data: Path, out: Path, *, resume: bool = False, lines: list | None = None,
        **vlm) -> dict:
    opts = VqaOptions(data=data, output=out, method="vlm", predict_split="valid", resume=resume,
                      vlm=VlmOptions(**({"votes": 3, "retries": 1} | vlm)))
    return run_vqa(opts, log=(lines.append if lines is not None else lambda text: None)).metrics


def submission(out: Path) -> list[dict]:
    return json.loads((out / "submission" / CVQA_SUBMISSION_FILE).read_text(encoding="utf-8"))


def test_a_perfect_model_scores_one_through_shuffled_votes(sample_data, tmp_path, monkeypatch):
    backend = ScriptedBackend(oracle(gold_answers(sample_data, "valid")))
    use_backend(monkeypatch, backend)
    metrics = run(sample_data, tmp_path)
    assert metrics["accuracy_all"] == 1.0 and metrics["model_calls"] == 36
    assert metrics["reused_calls"] == 0 and sum(metrics["fallbacks"].values()) == 0
    assert metrics["tokens"]["prompt"] == 3600
    votes = {r.vote: r for r in backend.seen if r.encounter_id == "ENC00852"}
    assert votes[0].orders["CQID034"] == tuple(range(12))
    assert votes[2].orders["CQID034"] == option_order(PARENT_BY_ID["CQID034"], seed=0,
                                                      encounter_id="ENC00852", vote=2)
    stored = (tmp_path / RESPONSES_FILE).read_text(encoding="utf-8").splitlines()
    assert len(stored) == 36 and json.loads(stored[0])["parsed"]["CQID010"] is not None


def picker(families):
    """A model that reads the shown options and picks by text: the alphabetically first real
    option of every family, given by its shown number (single) or by its text (multi)."""
    def reply(request):
        answer = {}
        for parent_id, order in request.orders.items():
            texts = [families[parent_id].options[i] for i in order]
            best = min(texts[:-1])
            answer[parent_id] = [best] if PARENT_BY_ID[parent_id].multi_slot \
                else [texts.index(best) + 1]
        return json.dumps(answer)
    return reply


def test_a_permuted_definitions_file_permutes_the_answers(sample_data, tmp_path, monkeypatch):
    # the permutation is no involution (else mapping a number the wrong way round would pass)
    assert all(old_of_new(p) != new_of_old(p) for p in PARENTS if p.nm_index > 2)
    results = []
    for permute in (False, True):
        data = copy_dataset(sample_data, tmp_path / f"data{permute}", permute=permute,
                            images=True)
        families = family_options(load_definitions(data / DEFINITIONS_FILE))
        use_backend(monkeypatch, ScriptedBackend(picker(families)))
        run(data, tmp_path / f"out{permute}")
        results.append(submission(tmp_path / f"out{permute}"))
    assert_permuted_predictions(*results)


def flaky(gold):
    """Onset never readable; itch unreadable on the first attempt; the rest right."""
    right = oracle(gold)

    def reply(request):
        answer = json.loads(right(request))
        if "CQID015" in answer:
            answer["CQID015"] = ["soon"]
        if "CQID025" in answer and request.attempt == 0:
            answer["CQID025"] = [1, 2]
        return json.dumps(answer)
    return reply


def test_retries_then_prior_fallbacks_are_counted(sample_data, tmp_path, monkeypatch):
    backend = ScriptedBackend(flaky(gold_answers(sample_data, "valid")))
    use_backend(monkeypatch, backend)
    lines: list[str] = []
    metrics = run(sample_data, tmp_path, lines=lines)
    assert metrics["model_calls"] == 72  # 36 first attempts, 36 retries
    assert {r.parents for r in backend.seen if r.attempt == 1} == {("CQID015", "CQID025")}
    assert metrics["fallbacks"] == {p.id: 12 if p.id == "CQID015" else 0 for p in PARENTS}
    assert metrics["invalid_answers"]["CQID015"] == 72
    assert metrics["invalid_answers"]["CQID025"] == 36
    assert metrics["accuracy_CQID025"] == 1.0 and metrics["accuracy_CQID010"] == 1.0
    prior = PARENT_BY_ID["CQID015"]
    assert {r[prior.qids[0]] for r in submission(tmp_path)} == {
        metrics["prior_answers"]["CQID015"][0]}
    assert "fallbacks to the prior answer (of 12 encounters): CQID015 12" in lines


@pytest.mark.parametrize("text", ["", "null", "[]", '{"CQID010": {"a": 1}}', "\x00" * 50,
                                  '{"CQID011": [1e309]}', "```json\n```"])
def test_whatever_a_model_says_the_run_falls_back(sample_data, tmp_path, monkeypatch, text):
    use_backend(monkeypatch, ScriptedBackend(lambda request: text))
    metrics = run(sample_data, tmp_path, votes=1, retries=0)
    assert metrics["accuracy_all"] == pytest.approx(PRIOR_ACCURACY, abs=1e-4)
    assert all(n == 12 for n in metrics["fallbacks"].values())


def test_killed_halfway_then_resumed_gives_the_same_submission(sample_data, tmp_path,
                                                               monkeypatch):
    gold = gold_answers(sample_data, "valid")
    use_backend(monkeypatch, ScriptedBackend(flaky(gold)))
    whole = run(sample_data, tmp_path / "whole")
    use_backend(monkeypatch, ScriptedBackend(flaky(gold), kill_after=40))
    with pytest.raises(Killed):
        run(sample_data, tmp_path / "killed")
    responses = tmp_path / "killed" / RESPONSES_FILE
    raw = responses.read_bytes()
    responses.write_bytes(raw[: len(raw) - 25])  # and the last line was half written
    lines: list[str] = []
    use_backend(monkeypatch, ScriptedBackend(flaky(gold)))
    resumed = run(sample_data, tmp_path / "killed", resume=True, lines=lines)
    assert resumed["reused_calls"] == 39 and resumed["model_calls"] == 72 - 39
    assert any("half-written line" in n for n in resumed["notes"])
    assert submission(tmp_path / "killed") == submission(tmp_path / "whole")
    assert resumed["accuracy_all"] == whole["accuracy_all"]
    use_backend(monkeypatch, ScriptedBackend(lambda request: pytest.fail("asked a model")))
    again = run(sample_data, tmp_path / "killed", resume=True)
    assert again["model_calls"] == 0 and again["reused_calls"] == 72


def test_per_family_requests_and_worked_examples(sample_data, tmp_path, monkeypatch):
    backend = ScriptedBackend(oracle(gold_answers(sample_data, "valid")))
    use_backend(monkeypatch, backend)
    metrics = run(sample_data, tmp_path, votes=1, per_family=True, shots=2)
    assert metrics["model_calls"] == 12 * 9 and metrics["accuracy_all"] == 1.0
    assert {len(r.parents) for r in backend.seen} == {1}
    first = backend.seen[0].text
    assert first.count("\nAnswer: {") == 2 and "Example 2\n" in first


def test_nearest_training_texts_best_first_never_itself():
    train = ["itchy red rash on arm", "black mole on back", "itchy red rash on leg", "hair loss"]
    assert nearest(train, ["itchy red rash on arm"], 2) == [[0, 2]]
    without_itself = nearest(train, ["itchy red rash on arm"], 2, exclude=[0])[0]
    assert without_itself[0] == 2 and 0 not in without_itself and len(without_itself) == 2
    assert nearest(train, ["x"], 0) == [[]]


def test_failed_requests_are_counted_apart_and_never_asked_again_in_the_run(sample_data,
                                                                            tmp_path,
                                                                            monkeypatch):
    from baselines.vqa.vlm.backend import Failure
    from baselines.vqa.vlm.failures import failed_requests_error

    right = oracle(gold_answers(sample_data, "valid"))
    refused = Failure("http", "context length exceeded", 400)

    def reply(request):
        if request.encounter_id == "ENC00852" or (request.encounter_id == "ENC00853"
                                                  and request.vote == 1):
            return refused
        return right(request)

    backend = ScriptedBackend(reply)
    use_backend(monkeypatch, backend)
    metrics = run(sample_data, tmp_path)
    assert len(backend.seen) == 36  # retries re-ask unreadable answers, not failed requests
    assert metrics["failed_calls"] == 4 and metrics["model_calls"] == 32
    assert metrics["fallbacks_failed_request"] == {p.id: 1 for p in PARENTS}
    assert metrics["answers_missing_votes"] == {p.id: 1 for p in PARENTS}
    assert metrics["fallbacks"] == {p.id: 1 for p in PARENTS}
    assert metrics["first_failure"]["fix"].startswith("the request is too long")
    assert metrics["failures"] == {"HTTP 400: context length exceeded": 4}
    stored = (tmp_path / RESPONSES_FILE).read_text(encoding="utf-8").splitlines()
    assert len(stored) == 32 and "ENC00852" not in "".join(stored)
    error = failed_requests_error(metrics)
    assert error.message == ("4 request(s) got no usable completion: 9 answer(s) came from the "
                             "prior and 9 from fewer votes than asked; the first failure: HTTP "
                             "400: context length exceeded")
    assert "--per-family" in error.hint and "--resume" in error.hint
    assert failed_requests_error({**metrics, "failed_calls": 0}) is None


def test_the_command_exits_1_on_failed_requests_unless_allowed(sample_data, tmp_path,
                                                               monkeypatch):
    from typer.testing import CliRunner

    from baselines.vqa.vlm.backend import Failure
    from magic_submit.cli import app

    right = oracle(gold_answers(sample_data, "valid"))
    use_backend(monkeypatch, ScriptedBackend(
        lambda r: Failure("timeout", "no reply") if r.encounter_id == "ENC00852" else right(r)))
    base = ["run-baseline", "vqa", "--data", str(sample_data), "--method", "vlm", "--votes",
            "1", "--predict-split", "valid"]
    refused = CliRunner().invoke(app, [*base, "--output", str(tmp_path / "a")])
    assert refused.exit_code == 1 and "1 request(s) got no usable completion" in refused.stderr
    assert "accuracy_all" in refused.stdout  # the results were shown first
    assert (tmp_path / "a" / "submission" / CVQA_SUBMISSION_FILE).is_file()
    allowed = CliRunner().invoke(app, [*base, "--output", str(tmp_path / "b"),
                                       "--allow-fallback"])
    assert allowed.exit_code == 0 and "(accepted: --allow-fallback)" in allowed.stderr
