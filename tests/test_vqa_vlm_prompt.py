"""The vlm/api prompt: numbered options in the definitions' order or a seeded shuffle, text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baselines.vqa.data import family_options
from baselines.vqa.vlm.parsing import parse_reply
from baselines.vqa.vlm.prompt import (RETRY_NOTE, Example, build_request, option_order,
                                      option_orders, order_count, render_answer, shown_options,
                                      vote_count)
from magic_submit.challenge import DEFINITIONS_FILE, PARENT_BY_ID, PARENTS
from magic_submit.definitions import load_definitions

RECORD = {"encounter_id": "ENC9", "query_title_en": "Itchy <b>rash</b>?",
          "query_content_en": "<p>Red spots&nbsp;on my arm.</p>",
          "responses": [{"content_en": "Looks like <i>eczema</i>."}]}


@pytest.fixture(scope="module")
def families(sample_data: Path):
    return family_options(load_definitions(sample_data / DEFINITIONS_FILE))


def listed_options(text: str, parent_id: str) -> list[str]:
    """The option texts numbered under ``parent_id``'s question, in the order shown."""
    block = text.split(f"\n{parent_id}: ", 1)[1]
    options = []
    for line in block.splitlines()[1:]:
        match = re.match(r"^  (\d+)\. (.*)$", line)
        if not match:
            break
        assert int(match.group(1)) == len(options) + 1
        options.append(match.group(2))
    return options


def test_vote_zero_lists_every_family_in_the_definitions_order(families):
    request = build_request("ENC9", RECORD, [], families, [p.id for p in PARENTS], vote=0,
                            attempt=0, seed=0, with_responses=False)
    for parent in PARENTS:
        assert listed_options(request.text, parent.id) == list(shown_options(families[parent.id]))
    assert "choose up to 6" in request.text.lower() and "Choose one." in request.text
    assert [line.split(":")[0] for line in request.text.splitlines()
            if re.match(r"^CQID\d{3}:", line)] == [p.id for p in PARENTS]


def test_a_shuffled_vote_lists_the_options_in_its_permutation(families):
    request = build_request("ENC9", RECORD, [], families, [p.id for p in PARENTS], vote=2,
                            attempt=0, seed=5, with_responses=False)
    moved = 0
    for parent in PARENTS:
        order = option_order(parent, seed=5, encounter_id="ENC9", vote=2)
        assert request.orders[parent.id] == order
        shown = listed_options(request.text, parent.id)
        assert shown == [shown_options(families[parent.id])[i] for i in order]
        assert shown[-1] == "Not mentioned"
        moved += order != tuple(range(parent.n_options))
    assert moved >= 6  # families of 3 options can keep their order by chance


@given(seed=st.integers(0, 10**6), vote=st.integers(1, 20))
def test_orders_are_permutations_with_nm_last_and_reproducible(seed, vote):
    for parent in PARENTS:
        order = option_order(parent, seed=seed, encounter_id="E", vote=vote)
        assert sorted(order) == list(range(parent.n_options)) and order[-1] == parent.nm_index
        assert order == option_order(parent, seed=seed, encounter_id="E", vote=vote)


def test_text_is_cleaned_and_responses_only_when_asked(families):
    plain = build_request("ENC9", RECORD, [], families, ["CQID025"], vote=0, attempt=0, seed=0,
                          with_responses=False).segments[-1].text
    assert "Title: Itchy rash?\nRed spots on my arm." in plain and "<" not in plain
    assert "eczema" not in plain
    assert "no photo" in build_request("ENC9", RECORD, [], families, ["CQID025"], vote=0,
                                       attempt=0, seed=0, with_responses=False).text
    told = build_request("ENC9", RECORD, [Path("a.jpg"), Path("b.jpg")], families, ["CQID025"],
                         vote=0, attempt=0, seed=0, with_responses=True).text
    assert "Clinicians' responses:\n1. Looks like eczema." in told and "2 photos" in told


def test_a_retry_asks_only_the_failed_families_with_a_note(families):
    retry = build_request("ENC9", RECORD, [], families, ["CQID036", "CQID015"], vote=1,
                          attempt=1, seed=0, with_responses=False)
    assert retry.parents == ("CQID015", "CQID036")  # the challenge's order
    assert RETRY_NOTE in retry.text and "CQID010:" not in retry.text
    first = build_request("ENC9", RECORD, [], families, ["CQID036", "CQID015"], vote=1,
                          attempt=0, seed=0, with_responses=False)
    assert retry.orders == first.orders and retry.prompt_hash("s") != first.prompt_hash("s")


def test_examples_show_gold_answers_in_the_shown_numbering(families):
    gold = {p.id: (p.nm_index,) * p.slots for p in PARENTS}
    gold |= {"CQID025": (1,), "CQID011": (2, 5, 7, 7, 7, 7)}
    example = Example({"query_title_en": "Old rash", "query_content_en": "On my back."}, gold)
    request = build_request("ENC9", RECORD, [], families, ["CQID011", "CQID025", "CQID012"],
                            vote=1, attempt=0, seed=3, with_responses=False, examples=[example])
    assert "Example 1\nTitle: Old rash\nOn my back.\nAnswer: " in request.text
    answer = request.text.split("Answer: ", 1)[1].splitlines()[0]
    parsed = parse_reply(answer, request.orders, {p: families[p].options for p in request.orders})
    assert parsed["CQID011"].answer == (2, 5) and parsed["CQID025"].answer == (1,)
    assert parsed["CQID012"].answer == (PARENT_BY_ID["CQID012"].nm_index,)  # NM alone


@given(st.data())
def test_rendered_answers_parse_back_to_their_sets(data):
    """render_answer and parse_reply are inverse for any order and any valid answer."""
    orders, answers = {}, {}
    for parent in PARENTS:
        orders[parent.id] = option_order(parent, seed=data.draw(st.integers(0, 99)),
                                         encounter_id="E", vote=data.draw(st.integers(0, 3)))
        if parent.multi_slot:
            real = data.draw(st.lists(st.integers(0, parent.nm_index - 1), max_size=parent.slots,
                                      unique=True))
            answers[parent.id] = tuple(parent.padded(real))
        else:
            answers[parent.id] = (data.draw(st.integers(0, parent.nm_index)),)
    options = {p.id: tuple(f"option {i}" for i in range(p.n_options)) for p in PARENTS}
    parsed = parse_reply(render_answer(answers, orders), orders, options)
    for parent in PARENTS:
        real = [v for v in answers[parent.id] if v != parent.nm_index] if parent.multi_slot \
            else list(answers[parent.id])
        assert list(parsed[parent.id].answer) == (real or [parent.nm_index])


def test_no_please_specify_and_closed_slot_counts(families):
    for vote in range(3):
        text = build_request("ENC9", RECORD, [], families, [p.id for p in PARENTS], vote=vote,
                             attempt=0, seed=1, with_responses=True).text
        assert "specify" not in text.lower()
    assert "CQID012: How large are the affected areas? Choose up to 3;" in text
    assert "  9. combination\n" in build_request("ENC9", RECORD, [], families, ["CQID034"],
                                                 vote=0, attempt=0, seed=0,
                                                 with_responses=False).text


def test_instructions_ask_photos_and_text_for_every_family_with_a_placeholder_format(families):
    request = build_request("ENC9", RECORD, [Path("a.jpg")], families, [p.id for p in PARENTS],
                            vote=0, attempt=0, seed=0, with_responses=False)
    instructions = request.segments[0].text
    assert "from the photos and the text together" in instructions
    assert "do not guess" not in instructions.lower()
    assert instructions.endswith('in this form: {"CQID010": <number>, "CQID011": [<number>, '
                                 '...], ...}')
    assert not re.search(r'"CQID\d{3}": \[?\d', instructions)  # no option number as an anchor
    assert [s.photos for s in request.segments] == [(), (Path("a.jpg"),)]


def test_examples_text_only_or_with_their_photos(families):
    gold = {p.id: (p.nm_index,) * p.slots for p in PARENTS}
    example = Example({"query_title_en": "Old rash"}, gold, (Path("x1.jpg"), Path("x2.jpg")))
    args = dict(vote=0, attempt=0, seed=0, with_responses=False, examples=[example])
    text_only = build_request("ENC9", RECORD, [Path("a.jpg")], families, ["CQID025"], **args)
    assert "text only: their photos are not shown" in text_only.text
    assert text_only.photos == (Path("a.jpg"),)
    shown = build_request("ENC9", RECORD, [Path("a.jpg")], families, ["CQID025"],
                          shot_photos=True, **args)
    assert "each with its photos" in shown.text
    assert [s.photos for s in shown.segments] == [(), (Path("x1.jpg"), Path("x2.jpg")),
                                                  (Path("a.jpg"),)]
    assert shown.segments[1].text.startswith("Example 1\n")
    assert shown.prompt_hash("s") != text_only.prompt_hash("s")


@given(seed=st.integers(0, 10**6), encounter=st.text(max_size=8))
def test_votes_show_distinct_orders_and_two_option_families_get_two(seed, encounter):
    for parent in PARENTS:
        orders = option_orders(parent, seed=seed, encounter_id=encounter, count=7)
        assert len(orders) == min(7, order_count(parent)) == len(set(orders))
        assert orders[0] == tuple(range(parent.n_options))
        assert [option_order(parent, seed=seed, encounter_id=encounter, vote=v)
                for v in range(len(orders))] == list(orders)
    assert vote_count(["CQID025"], 5, 0.0) == 2 and vote_count(["CQID010"], 5, 0.0) == 5
    assert vote_count(["CQID025"], 5, 0.7) == 5  # sampling: repeated orders differ anyway
    assert vote_count([p.id for p in PARENTS], 9, 0.0) == 9


def test_per_family_votes_never_repeat_a_request_at_temperature_zero(families):
    from types import SimpleNamespace

    from baselines.vqa.vlm.options import VlmOptions
    from baselines.vqa.vlm.run import first_requests

    subject = SimpleNamespace(encounter=SimpleNamespace(encounter_id="ENC9", record=RECORD),
                              photos=(), examples=())
    for temperature, per_family in ((0.0, True), (0.0, False), (0.5, True)):
        opts = VlmOptions(votes=3, per_family=per_family, temperature=temperature)
        requests = first_requests([subject], families, opts, seed=0, with_responses=False)
        texts = [r.text for r in requests]
        if temperature == 0:
            assert len(texts) == len(set(texts))
        by_family = {p.id: sum(p.id in r.parents for r in requests) for p in PARENTS}
        two_orders = 2 if temperature == 0 and per_family else 3
        assert by_family["CQID025"] == by_family["CQID035"] == by_family["CQID036"] == two_orders
        assert by_family["CQID034"] == by_family["CQID010"] == 3
