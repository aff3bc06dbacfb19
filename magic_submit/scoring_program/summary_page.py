"""``detailed_results.html`` at the ``summary`` detail: a function of a
:class:`~magic_submit.scoring_program.public_view.PublicView` alone.

Its input holds ``scores.json``, the upload's own problems and what was read in the upload,
so the page cannot tell more about a hidden reference than ``scores.json`` does: two references
that give one upload the same ``scores.json`` give it the same page, byte for byte.
"""

from __future__ import annotations

import math

from magic_submit import __version__
from magic_submit.reporting import html_parts as h
from magic_submit.scoring import METRIC_DESCRIPTIONS
from magic_submit.scoring_program.findings import render, verdict
from magic_submit.scoring_program.public_view import PublicView

DETAIL_SUMMARY = ("Detail: summary. This page shows the official figures (scores.json), your "
                  "upload's own problems and what was read in it; nothing else about the hidden "
                  "reference (no per-image or per-encounter figure).")
DETAIL_FULL = ("Detail: full. This page also shows per-image figures and the annotators' "
               "outlines: this phase's reference is public.")
PAGE_CSS = """
body { padding: 0 1.5em; line-height: 1.4; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f7f7f7; padding: .6em; }
td, th { overflow-wrap: anywhere; }
"""
TITLE = "MEDIQA-MAGIC 2025: detailed results"
REFUSED_TITLE = "MEDIQA-MAGIC 2025: submission not scored"
REFUSED_INTRO = ("This upload was not scored: the official scorer would crash on it, or it holds "
                 "errors this competition refuses. Fix each problem below and upload again "
                 "(<code>magic validate-submission</code> finds them all before you upload).")
NAN_NOTE = ("NaN: at least one image has an empty prediction and an empty annotator mask, which "
            "the official scorer divides 0/0; a mean over images that meets one is NaN.")


def heading(title: str, detail: str) -> str:
    return (f"<h1>{h.esc(title)}</h1><p class=\"note\">{h.esc(detail)} magic "
            f"{h.esc(__version__)}.</p>")


def problems_section(lines: list[str], heading_text: str) -> str:
    """The check's text (each problem with its fix), as the log prints it, but complete."""
    return (f'<section id="check"><h2>{h.esc(heading_text)}</h2>'
            f"<pre>{h.esc(chr(10).join(lines))}</pre></section>")


def _figures(scores: tuple[tuple[str, float | int], ...]) -> str:
    rows = [(key, value, METRIC_DESCRIPTIONS.get(key, "")) for key, value in scores]
    nan = any(isinstance(v, float) and math.isnan(v) for _, v in scores)
    return ('<section id="summary"><h2>Scores (scores.json)</h2>'
            + h.table(["metric", "value", "meaning"], rows, text_columns=(0, 2),
                      attrs=' class="summary"')
            + (f'<p class="note">{h.esc(NAN_NOTE)}</p>' if nan else "") + "</section>")


def _read(view: PublicView) -> str:
    if not view.read:
        return ""
    return ('<section id="read"><h2>Read in your upload</h2>'
            + h.table(["what", "count"], view.read) + "</section>")


def summary_page(view: PublicView) -> str:
    """The page of one upload, scored (``view.scores``) or refused."""
    lines = [*render(view.findings), verdict(view.findings)]
    if view.scores is None:
        sections = [heading(REFUSED_TITLE, DETAIL_SUMMARY), f"<p>{REFUSED_INTRO}</p>",
                    problems_section(lines, "Problems"), _read(view)]
        return h.page(REFUSED_TITLE, sections, extra_css=PAGE_CSS)
    sections = [heading(TITLE, DETAIL_SUMMARY), _figures(view.scores)]
    if not view.valid:
        sections.append(problems_section(lines, "Errors: these figures are not what you meant. "
                                         "Fix each problem and upload again"))
    elif view.findings:
        sections.append(problems_section(lines, "Submission check: scored, with these remarks"))
    sections.append(_read(view))
    return h.page(TITLE, sections, extra_css=PAGE_CSS)
