"""Replies of a vision-language model -> definitions' indices, or a counted invalid answer.

The shown orders are cycles (never their own inverse), so a number mapped the wrong way round
gives another index."""

from __future__ import annotations

import doctest
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baselines.vqa.vlm import endpoint, failures, http_guard, parsing, schema
from baselines.vqa.vlm.parsing import extract_object, parse_reply
from magic_submit.challenge import PARENTS

OPTIONS = {p.id: tuple(f"opt {p.id} {i}" for i in range(p.nm_index)) + ("Not mentioned",)
           for p in PARENTS}
IDENTITY = {p.id: tuple(range(p.n_options)) for p in PARENTS}
# number n -> order[n - 1]: CQID010 a 3-cycle, CQID011 and CQID034 rotations of the real options
SHUFFLED = IDENTITY | {"CQID010": (1, 2, 0, 3), "CQID011": (1, 2, 3, 4, 5, 6, 0, 7),
                       "CQID034": (*range(1, 11), 0, 11)}
ASKED = {p: SHUFFLED[p] for p in ("CQID010", "CQID011", "CQID034")}


def answers(text: str, orders=ASKED) -> dict:
    return {p: (f.answer, f.problem) for p, f in parse_reply(text, orders, OPTIONS).items()}


def test_the_permutations_are_not_their_own_inverse():
    for order in ASKED.values():
        inverse = tuple(order.index(i) for i in range(len(order)))
        assert inverse != order


def test_numbers_map_back_through_the_shown_order():
    got = answers('{"CQID011": [1, 3], "CQID010": 3, "CQID034": ["12"]}')
    assert got == {"CQID011": ((1, 3), None), "CQID010": ((0,), None),
                   "CQID034": ((11,), None)}
    assert answers('{"CQID010": 1, "CQID011": [7], "CQID034": 11}')["CQID010"] == ((1,), None)
    assert answers('{"CQID010": 1, "CQID011": [7], "CQID034": 11}')["CQID011"] == ((0,), None)
    assert answers('{"CQID010": 1, "CQID011": [7], "CQID034": 11}')["CQID034"] == ((0,), None)


@pytest.mark.parametrize("item", ["(2)", "2.0", "2.", "2)", " 2 ", "2. opt CQID010 2",
                                  "2 - opt CQID010 2", "(2) opt CQID010 2", 2.0, "opt CQID010 2"])
def test_lenient_forms_of_an_option(item):
    assert answers(json.dumps({"CQID010": item}))["CQID010"] == ((2,), None)  # shown 2 -> 2


@pytest.mark.parametrize("item", ["2. opt CQID010 0", "2.5", 2.5, "22", "(2", "two", "-2",
                                  "2" * 300, True, None, "1e309"])
def test_forms_that_name_no_single_option(item):
    assert answers(json.dumps({"CQID010": item}))["CQID010"][0] is None


def test_exact_option_text_case_and_spaces_aside():
    got = answers('{"CQID011": ["opt CQID011 2"], "CQID010": ["  OPT cqid010 0 "], '
                  '"CQID034": "Not mentioned"}')
    assert got == {"CQID011": ((2,), None), "CQID010": ((0,), None), "CQID034": ((11,), None)}


@pytest.mark.parametrize("text", [
    '```json\n{"CQID011": [2], "CQID010": [3], "CQID034": [1]}\n```',
    '```\n{"CQID011": [2], "CQID010": [3], "CQID034": [1]}\n```',
    'Here you are: {"CQID011": [2], "CQID010": [3], "CQID034": [1]} Hope it helps.',
    '<think>maybe {"CQID011": [9]}</think>{"CQID011": [2], "CQID010": [3], "CQID034": [1]}',
    'thinking without the opening tag</think>\n{"CQID011": [2], "CQID010": 3, "CQID034": 1}',
    '  {"cqid011": [2], "CQID010": [3], "CQID034": [1]}  ',
])
def test_fenced_bare_and_wrapped_json(text):
    assert answers(text) == {"CQID011": ((2,), None), "CQID010": ((0,), None),
                             "CQID034": ((1,), None)}


def test_partly_invalid_keeps_the_valid_families():
    got = answers('{"CQID011": [2, 99], "CQID010": [1, 2], "CQID034": "teal"}')
    assert got["CQID011"] == (None, "99 is neither an option number nor an option's text")
    assert got["CQID010"] == (None, "2 options for a one-answer question")
    assert got["CQID034"][0] is None and "'teal'" in got["CQID034"][1]
    got = answers('{"CQID011": [2], "CQID010": [true]}')
    assert got["CQID011"] == ((2,), None) and got["CQID010"][0] is None
    assert got["CQID034"] == (None, "missing from the reply")


@pytest.mark.parametrize("text", ["", "I am not sure.", "[1, 2, 3]", '{"CQID011": [2]',
                                  "```json\n{broken}\n```", "null", '"CQID011"', "{" * 5000,
                                  '<think>{"CQID011": [2], "CQID010": 3, "CQID034": 1} and '
                                  'then it ran out of tokens'])
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


ADVERSARIAL = 2_000_000  # characters: a quadratic step would not finish


@pytest.mark.parametrize("make", [
    lambda n: "<think>" * (n // 7),
    lambda n: "<think>" + "x" * n,
    lambda n: "```" + " " * n,
    lambda n: "```json" * (n // 7),
    lambda n: "{" * n,
    lambda n: "{" + " " * n + '"CQID011": [1]',
    lambda n: '{"CQID011": ["' + "9" * n + '"]}',
    lambda n: "</think>" * (n // 8) + '{"CQID011": [2], "CQID010": 3, "CQID034": 1}',
])
def test_long_adversarial_replies_parse_in_linear_time(make, monkeypatch):
    """Each reply of 2 MB is parsed, json.loads seeing at most three times its length in all
    (the fenced blocks do not overlap; then the whole text and the outermost braces)."""
    calls = []
    loads = json.loads
    monkeypatch.setattr(parsing.json, "loads", lambda text: calls.append(len(text)) or loads(text))
    got = answers(make(ADVERSARIAL))
    assert sum(calls) <= 3 * (ADVERSARIAL + 100)
    assert all((answer is None) != (problem is None) for answer, problem in got.values())


@pytest.mark.parametrize("module", [parsing, schema, failures, endpoint, http_guard])
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0
