"""The validation report built from hand-made problems: the code table, order, text and JSON forms."""

from __future__ import annotations

from magic_submit.validation import problems as table
from magic_submit.validation.problems import CODES, CodeInfo, Problem, sort_key
from magic_submit.validation.report import ValidationReport, render_text


def test_the_code_table_constructors() -> None:
    assert table._e("t", "f") == CodeInfo("error", "t", "f")
    assert table._w("t", "f") == CodeInfo("warning", "t", "f")
    assert table._n("t") == CodeInfo("note", "t", "")
    assert table._n("t", "f") == CodeInfo("note", "t", "f")
    assert {info.severity for info in CODES.values()} == {"error", "warning", "note"}
    assert CODES["mask-missing"].severity == "error" and CODES["cvqa-absent"].severity == "warning"
    assert CODES["sizes-not-checked"].severity == "note"


def test_a_problem_takes_its_severity_and_default_fix_from_the_table() -> None:
    p = Problem.of("mask-size", "m", file="f", image_id="I", encounter_id="E", qid="Q")
    assert p == Problem("mask-size", "error", "m", "f", "I", "E", "Q", CODES["mask-size"].fix)
    assert Problem.of("mask-size", "m", hint="own fix").hint == "own fix"
    assert Problem.of("zip-ignored-entries", "m").hint is None  # a note without a fix
    assert p.title == "mask size differs from the image's"
    assert Problem("odd", "note", "m").title == "odd"
    assert p.to_dict() == {"code": "mask-size", "severity": "error", "message": "m", "file": "f",
                           "image_id": "I", "encounter_id": "E", "qid": "Q",
                           "hint": CODES["mask-size"].fix}


def test_where_names_the_file_then_the_ids() -> None:
    assert Problem("c", "error", "m", file="f", image_id="I", qid="Q").where() == "f [I Q]"
    assert Problem("c", "error", "m", file="f", encounter_id="E").where() == "f [E]"
    assert Problem("c", "error", "m", image_id="I", encounter_id="E").where() == "I"
    assert Problem("c", "error", "m", encounter_id="E", qid="Q").where() == "E Q"
    assert Problem("c", "error", "m", file="f").where() == "f"
    assert Problem("c", "error", "m").where() == ""


def test_order_errors_first_then_table_order_then_place() -> None:
    found = [Problem.of("cvqa-absent", "w"), Problem.of("mask-dtype", "n"),
             Problem.of("cvqa-missing", "e2"), Problem.of("mask-missing", "e1", file="b"),
             Problem.of("mask-missing", "e0", file="a"), Problem("unknown-code", "error", "u"),
             Problem.of("mask-missing", "e3", file="a", image_id="X"),
             Problem.of("mask-missing", "e4", file="a", encounter_id="W", qid="Q")]
    ordered = sorted(found, key=sort_key)
    assert [p.message for p in ordered] == ["e0", "e4", "e3", "e1", "e2", "u", "w", "n"]


def report_of(*problems: Problem, **summary: object) -> ValidationReport:
    return ValidationReport.from_problems(problems, summary)


def test_report_splits_by_severity_and_counts_in_the_summary() -> None:
    report = report_of(Problem.of("cvqa-absent", "w"), Problem.of("mask-missing", "e"),
                       Problem.of("mask-dtype", "n"), kind="folder")
    assert [p.code for p in report.errors] == ["mask-missing"]
    assert [p.code for p in report.warnings] == ["cvqa-absent"]
    assert [p.code for p in report.notes] == ["mask-dtype"]
    assert not report.valid and [p.code for p in report.problems] == [
        "mask-missing", "cvqa-absent", "mask-dtype"]
    assert report.codes() == {"mask-missing", "cvqa-absent", "mask-dtype"}
    assert report.codes("warning") == {"cvqa-absent"} and report.codes("error") == {"mask-missing"}
    assert report.summary == {"kind": "folder", "valid": False, "errors": 1, "warnings": 1,
                              "notes": 1}
    as_dict = report.to_dict()
    assert as_dict["valid"] is False and as_dict["summary"] == report.summary
    assert as_dict["errors"] == [report.errors[0].to_dict()]
    assert as_dict["warnings"] == [report.warnings[0].to_dict()]
    assert as_dict["notes"] == [report.notes[0].to_dict()]
    assert report_of(Problem.of("cvqa-absent", "w")).valid


def test_text_groups_by_code_with_one_fix_line_when_shared() -> None:
    report = report_of(*(Problem.of("mask-missing", f"no mask {i}", file="masks_preds/",
                                    image_id=f"IMG_{i}") for i in range(3)))
    assert render_text(report) == "\n".join([
        "error mask-missing: image of the split without a mask (the scorer crashes) (3)",
        "  masks_preds/ [IMG_0]: no mask 0",
        "  masks_preds/ [IMG_1]: no mask 1",
        "  masks_preds/ [IMG_2]: no mask 2",
        f"  fix: {CODES['mask-missing'].fix}",
        "INVALID (3 errors, 0 warnings, 0 notes): fix the errors above before uploading"])


def test_text_cuts_long_groups_and_gives_each_its_own_fix_when_they_differ() -> None:
    report = report_of(*(Problem.of("cvqa-value-range", f"bad {i}", hint=f"fix {i}")
                         for i in range(4)), Problem.of("zip-ignored-entries", "skipped"))
    lines = render_text(report, limit=2, name="team").splitlines()
    assert lines == [
        "error cvqa-value-range: option index out of range (4)",
        "  bad 0", "    fix: fix 0", "  bad 1", "    fix: fix 1",
        "  ... and 2 more (--json or --all lists them)",
        "note zip-ignored-entries: system entries ignored (__MACOSX/, .DS_Store) (1)",
        "  skipped",
        "team: INVALID (4 errors, 0 warnings, 1 note): fix the errors above before uploading"]
    assert render_text(report, limit=0).count("  bad ") == 4
    assert "more" not in render_text(report, limit=4)


def test_text_summary_lines_and_verdicts() -> None:
    checked = {"masks_checked": 1, "sizes_from": "images_test", "cvqa_encounters_answered": 12,
               "split_encounters": 12}
    valid = report_of(**checked)
    assert render_text(valid).splitlines() == [
        "checked: 1 mask read (sizes from images_test), 12 of 12 encounters answered",
        "VALID (0 errors, 0 warnings, 0 notes): the submission will be scored as intended"]
    unchecked = report_of(Problem.of("sizes-not-checked", "n"), masks_checked=2,
                          cvqa_encounters_answered=3)
    assert render_text(unchecked).splitlines()[-2:] == [
        "checked: 2 masks read (sizes not checked), 3 of ? encounters answered",
        "VALID as far as checked (0 errors, 0 warnings, 1 note): mask sizes not checked, pass "
        "--images or --reference (a mask of the wrong size is lost on the platform)"]
    no_masks = report_of(Problem.of("sizes-not-checked", "n"), masks_checked=0)
    assert render_text(no_masks).splitlines()[-1].startswith("VALID (0 errors")
    assert render_text(report_of()) == ("VALID (0 errors, 0 warnings, 0 notes): the submission "
                                        "will be scored as intended")
    two = report_of(Problem.of("cvqa-absent", "a"), Problem.of("cvqa-absent", "b"))
    assert render_text(two).splitlines()[-1] == ("VALID (0 errors, 2 warnings, 0 notes): the "
                                                 "submission will be scored as intended")
    unknown = report_of(Problem("made-up", "warning", "m", hint="h"))
    assert render_text(unknown).splitlines()[:3] == ["warning made-up: made-up (1)", "  m",
                                                     "  fix: h"]


def test_text_with_one_culprit_shown_and_two_fixes() -> None:
    report = report_of(Problem.of("cvqa-value-range", "a", hint="fix a"),
                       Problem.of("cvqa-value-range", "b", hint="fix b"))
    assert render_text(report, limit=1).splitlines()[:4] == [
        "error cvqa-value-range: option index out of range (2)", "  a", "    fix: fix a",
        "  ... and 1 more (--json or --all lists them)"]
    bare = report_of(Problem("mask-size", "error", "m"))  # no hint of its own: the code's fix
    assert render_text(bare).splitlines()[1:3] == ["  m", f"  fix: {CODES['mask-size'].fix}"]
    unknown = report_of(Problem("made-up", "error", "m"))
    assert render_text(unknown).splitlines()[:2] == ["error made-up: made-up (1)", "  m"]
    assert "fix:" not in render_text(unknown)


def test_text_shows_ten_culprits_by_default() -> None:
    report = report_of(*(Problem.of("mask-missing", f"m{i}") for i in range(11)))
    assert "  ... and 1 more (--json or --all lists them)" in render_text(report).splitlines()
    assert "more" not in render_text(report_of(*(Problem.of("mask-missing", f"m{i}")
                                                 for i in range(10))))
