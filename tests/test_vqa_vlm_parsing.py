"""Replies of a vision-language model -> definitions' indices, or a counted invalid answer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baselines.vqa.vlm.parsing import extract_object, parse_reply
from magic_submit.challenge import PARENTS

OPTIONS = {p.id: tuple(f"opt {p.id} {i}" for i in range(p.nm_index)) + ("Not mentioned",)
           for p in PARENTS}
IDENTITY = {p.id: tuple(range(p.n_options)) for p in PARENTS}
# CQID025 shown as (no, yes, NM) and CQID011 reversed real options: number n -> order[n - 1]
SHUFFLED = IDENTITY | {"CQID025": (1, 0, 2), "CQID011": (6, 5, 4, 3, 2, 1, 0, 7)}
ASKED = {p: SHUFFLED[p] for p in ("CQID011", "CQID025", "CQID034")}


def answers(text: str, orders=ASKED) -> dict:
    return {p: (f.answer, f.problem) for p, f in parse_reply(text, orders, OPTIONS).items()}


def test_numbers_map_back_through_the_shown_order():
    got = answers('{"CQID011": [1, 3], "CQID025": 1, "CQID034": ["12"]}')
    assert got == {"CQID011": ((6, 4), None), "CQID025": ((1,), None),
                   "CQID034": ((11,), None)}


def test_exact_option_text_case_and_spaces_aside():
    got = answers('{"CQID011": ["opt CQID011 2"], "CQID025": ["  OPT cqid025 0 "], '
                  '"CQID034": "Not mentioned"}')
    assert got == {"CQID011": ((2,), None), "CQID025": ((0,), None), "CQID034": ((11,), None)}


@pytest.mark.parametrize("text", [
    '```json\n{"CQID011": [2], "CQID025": [3], "CQID034": [1]}\n```',
    '```\n{"CQID011": [2], "CQID025": [3], "CQID034": [1]}\n```',
    'Here you are: {"CQID011": [2], "CQID025": [3], "CQID034": [1]} Hope it helps.',
    '<think>maybe {"CQID011": [9]}</think>{"CQID011": [2], "CQID025": [3], "CQID034": [1]}',
    '  {"cqid011": [2], "CQID025": [3], "CQID034": [1]}  ',
])
def test_fenced_bare_and_wrapped_json(text):
    assert answers(text) == {"CQID011": ((5,), None), "CQID025": ((2,), None),
                             "CQID034": ((0,), None)}


def test_partly_invalid_keeps_the_valid_families():
    got = answers('{"CQID011": [2, 99], "CQID025": [1, 2], "CQID034": "teal"}')
    assert got["CQID011"] == (None, "99 is neither an option number nor an option's text")
    assert got["CQID025"] == (None, "2 options for a one-answer question")
    assert got["CQID034"][0] is None and "'teal'" in got["CQID034"][1]
    got = answers('{"CQID011": [2], "CQID025": [true]}')
    assert got["CQID011"] == ((5,), None) and got["CQID025"][0] is None
    assert got["CQID034"] == (None, "missing from the reply")


@pytest.mark.parametrize("text", ["", "I am not sure.", "[1, 2, 3]", '{"CQID011": [2]',
                                  "```json\n{broken}\n```", "null", '"CQID011"', "{" * 5000])
def test_wholly_invalid_replies_never_raise(text):
    got = answers(text)
    assert all(answer is None for answer, _ in got.values())


def test_multi_slot_validity():
    six = {"CQID011": IDENTITY["CQID011"]}
    assert answers('{"CQID011": [1, 2, 3, 4, 5, 6]}', six)["CQID011"] == ((0, 1, 2, 3, 4, 5), None)
    assert answers('{"CQID011": [1, 2, 3, 4, 5, 6, 7]}', six)["CQID011"] == (
        None, "7 options, at most 6 allowed")
    assert answers('{"CQID011": [8, 3, 3]}', six)["CQID011"] == ((2,), None)  # NM beside a real
    assert answers('{"CQID011": [8]}', six)["CQID011"] == ((7,), None)  # NM alone
    assert answers('{"CQID011": []}', six)["CQID011"] == (None, "no option given")
    assert answers('{"CQID011": [[1]]}', six)["CQID011"][0] is None
    assert answers('{"CQID011": [0]}', six)["CQID011"][0] is None  # numbers start at 1


@given(st.text(max_size=300))
def test_any_text_parses_or_is_invalid(text):
    for answer, problem in answers(text).values():
        assert (answer is None) != (problem is None)


def test_extract_object_prefers_the_fence():
    assert extract_object('{"a": 1}\n```json\n{"b": 2}\n```') == {"b": 2}
