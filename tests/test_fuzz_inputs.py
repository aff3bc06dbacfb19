"""Hostile input never breaks ``validate-submission`` or ``score``: exit 0 or 1, no traceback,
and ``--json`` output that parses, in text and JSON modes alike.

Two fuzzers: the submission's ``data_cvqa_sys.json`` (any JSON value, integers beyond Python's
4300-digit limit, lone surrogates, deep nesting, records with arbitrary keys and values) and a
prediction mask (truncated or bit-flipped TIFFs, every dtype, singleton dimensions, headers that
declare absurd sizes, random bytes). Each runs a bounded number of examples on a tiny case.
"""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from magic_submit.cli import app
from builders import I1, declare_tiff_size, platform_case, record

runner = CliRunner()
FUZZ = settings(max_examples=20, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
SURROGATES = ["\ud800", "\udfff", "\udc80", "a\udbffb"]


@pytest.fixture(scope="module")
def tiny_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(reference, submission, split file): 2 images, 2 encounters, platform layout."""
    root = tmp_path_factory.mktemp("fuzz")
    ref, res = platform_case(root)
    split = root / "split.json"
    split.write_text(json.dumps([
        {"encounter_id": "ENC00001", "image_ids": [f"{I1}.jpg"]},
        {"encounter_id": "ENC00002", "image_ids": ["IMG_ENC00002_00001.jpg"]}]))
    return ref, res, split


def assert_clean_runs(res: Path, ref: Path, split: Path) -> None:
    """Both commands, text and --json: exit 0 or 1, never a traceback, JSON that parses."""
    commands = [["validate-submission", str(res), "--split", str(split), "--reference", str(ref)],
                ["score", str(res), "--reference", str(ref)]]
    for command in commands:
        for json_mode in (False, True):
            result = runner.invoke(app, command + ["--json"] * json_mode)
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                command, repr(result.exception))
            assert result.exit_code in (0, 1), (command, result.exit_code, result.output[-500:])
            assert "Traceback" not in result.output
            if json_mode:
                json.loads(result.stdout)


def _huge(digits: int) -> str:
    return f"__HUGE_{digits}__"


def _to_text(value: object) -> str:
    """JSON text of ``value``; ``_huge`` markers become integers of that many digits."""
    text = json.dumps(value, ensure_ascii=True)  # lone surrogates become \\udXXX escapes
    for digits in range(4290, 4320):
        text = text.replace(f'"{_huge(digits)}"', "7" * digits)
    return text


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(SURROGATES),
    st.integers(4290, 4319).map(_huge))
json_values = st.recursive(
    json_scalars, lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=12), st.sampled_from(SURROGATES)), children,
                        max_size=4)), max_leaves=12)
qid_like = st.one_of(st.sampled_from(list(record("E", 0))), st.text(min_size=11, max_size=11),
                     st.sampled_from(SURROGATES))


@st.composite
def fuzzed_records(draw: st.DrawFn) -> object:
    """The valid answers with some keys and values replaced by anything, or any value at all."""
    if draw(st.booleans()):
        return draw(json_values)
    records: list = [record("ENC00001", 0), record("ENC00002", 2)]
    for _ in range(draw(st.integers(1, 4))):
        target = records[draw(st.integers(0, len(records) - 1))]
        target[draw(qid_like)] = draw(json_values)
    if draw(st.booleans()):
        records.append(draw(json_values))
    return records


# The inputs that once broke magic, always tried first: a lone surrogate echoed in text mode,
# an integer beyond Python's digit limit, nesting beyond the recursion limit.
SURROGATE_RECORDS = json.dumps([record("ENC00001", 0), {"encounter_id": "ENC\ud800",
                                                        "\udc00": "\ud800"}])
HUGE_INTEGER = '[{"encounter_id": "ENC00001", "CQID010-001": ' + "9" * 5000 + "}]"


@FUZZ
@example(content=SURROGATE_RECORDS)
@example(content=HUGE_INTEGER)
@example(content="[" * 100_000 + "]" * 100_000)
@given(content=st.one_of(fuzzed_records().map(_to_text),
                         st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth),
                         st.binary(max_size=40).map(lambda raw: raw.decode("latin-1"))))
def test_any_cvqa_file_gives_a_clean_answer(tiny_case, content: str) -> None:
    ref, res, split = tiny_case
    (res / "data_cvqa_sys.json").write_bytes(content.encode("utf-8", "surrogatepass"))
    assert_clean_runs(res, ref, split)


DTYPES = ["uint8", "bool", "int8", "uint16", "int32", "float32", "float64", "complex64"]
SHAPES = [(4, 5), (5, 4), (1, 4, 5), (4, 5, 1), (4, 5, 3), (1, 1), (1, 20), (2, 4, 5), (3, 3)]


@st.composite
def fuzzed_masks(draw: st.DrawFn) -> bytes:
    """A TIFF of any dtype and shape, then maybe truncated, bit-flipped or lying about its size."""
    dtype, shape = draw(st.sampled_from(DTYPES)), draw(st.sampled_from(SHAPES))
    values = draw(st.sampled_from([0, 1, 255, 2, -1, 0.5, 1e300]))
    with np.errstate(invalid="ignore", over="ignore"):
        array = np.full(shape, values).astype(dtype) if dtype != "bool" else np.ones(shape, bool)
    buffer = BytesIO()
    compression = draw(st.sampled_from([None, "zlib"]))
    tifffile.imwrite(buffer, array, compression=compression,
                     photometric="rgb" if shape[-1] == 3 and len(shape) == 3 else "minisblack")
    data = buffer.getvalue()
    damage = draw(st.sampled_from(["none", "truncate", "flip", "declare", "random"]))
    if damage == "truncate":
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif damage == "flip":
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    elif damage == "declare":
        side = st.sampled_from([1, 3, 4, 5, 65_535, 1 << 20, (1 << 32) - 1])
        data = declare_tiff_size(data, draw(side), draw(side))
    elif damage == "random":
        data = draw(st.binary(max_size=200))
    return data


@FUZZ
@given(data=fuzzed_masks())
def test_any_mask_file_gives_a_clean_answer(tiny_case, data: bytes) -> None:
    ref, res, split = tiny_case
    (res / "data_cvqa_sys.json").write_text(json.dumps([record("ENC00001", 0),
                                                        record("ENC00002", 2)]))
    (res / "masks_preds" / f"{I1}_mask_sys.tiff").write_bytes(data)
    assert_clean_runs(res, ref, split)
