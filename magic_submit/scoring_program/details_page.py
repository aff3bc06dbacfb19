"""``detailed_results.html`` at the ``full`` detail, for a phase whose reference is public.

One self-contained file (images embedded as data URIs: no other file, no network) of at most
:data:`MAX_PAGE_BYTES`: the official figures with their meanings and notes, the check's
problems with their fixes, the accuracy of each question family, and the worst images with the
participant's and the annotators' outlines and per-annotator figures (fewer images when the
page would grow too large). The ``summary`` detail, safe for a hidden reference, is
:mod:`.summary_page`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from pathlib import Path

from magic_submit.challenge import PARENTS
from magic_submit.reporting import html_parts as h
from magic_submit.reporting.gallery import GalleryItem, worst_images, write_gallery
from magic_submit.reporting.html_report import DEFAULT_WORST, summary_section
from magic_submit.reporting.reference import ReferenceContext, photo_paths
from magic_submit.scoring_program.engine import ScoreReport
from magic_submit.scoring_program.findings import render, verdict
from magic_submit.scoring_program.summary_page import (
    DETAIL_FULL, PAGE_CSS, REFUSED_INTRO, REFUSED_TITLE, TITLE, heading, problems_section,
)
from magic_submit.scoring_program.upload import UploadOutcome

PAGE_NAME = "detailed_results.html"
MAX_PAGE_BYTES = 5_000_000
REFERENCE_NAME = "the phase's reference"
MIME_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


@dataclass
class DetailsPage:
    """The page's HTML and notes for the log."""

    html: str
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.html.encode("utf-8", "backslashreplace"))  # names may not be UTF-8


def data_uri(path: Path) -> str:
    """The file as a ``data:`` URI (JPEG or PNG), so the page needs nothing beside it."""
    payload = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:{MIME_TYPES[path.suffix.lower()]};base64,{payload}"


def check_lines(outcome: UploadOutcome) -> list[str]:
    """Every problem found, with its fix, and the verdict."""
    found = outcome.findings()
    return [*render(found), verdict(found)]


def cvqa_section(report: ScoreReport) -> str:
    """Accuracy (mean set IoM) of each question family, and of all pairs."""
    scores = report.cvqa.scores
    rows = [(p.id, p.type_en, p.slots, scores[f"accuracy_{p.id}"]) for p in PARENTS]
    rows.append(("all", "every (encounter, family) pair", "", scores["accuracy_all"]))
    return ('<section id="cvqa"><h2>Closed questions: accuracy per question family</h2>'
            + h.table(["family", "question", "slots", "accuracy"], rows, text_columns=(0, 1))
            + "</section>")


def _embedded_gallery(outcome: UploadOutcome, reference: ReferenceContext, work_dir: Path, *,
                      suffix: str, worst: int, notes: list[str]) -> list[GalleryItem]:
    """The worst images drawn into ``work_dir``, each carried by its page as a data URI."""
    images = outcome.report.segmentation.images
    photos = photo_paths(reference.images_dir, reference.encounters)
    if not photos and images and worst:
        notes.append("no photos in the reference: the gallery draws the outlines on grey")
    items = write_gallery(worst_images(images, worst), reference.files.masks_dir,
                          outcome.submission.masks_dir, photos, work_dir, suffix=suffix,
                          notes=notes)
    return [replace(item, file=data_uri(work_dir / item.file)) for item in items]


def _gallery_html(items: list[GalleryItem], drawn: int, max_bytes: int) -> str:
    if not drawn:
        return ""
    left_out = drawn - len(items)
    note = (f"{left_out} more image(s) left out to keep this page under "
            f"{max_bytes / 1e6:g} MB." if left_out else "")
    if not items:
        return f'<section id="gallery-section"><p class="note">{h.esc(note)}</p></section>'
    return h.gallery_section(items, note=note)


def scored_page(outcome: UploadOutcome, reference: ReferenceContext, work_dir: Path, *,
                suffix: str, worst: int = DEFAULT_WORST,
                max_bytes: int = MAX_PAGE_BYTES) -> DetailsPage:
    """The page of a scored upload, with as many of the ``worst`` images as fit in ``max_bytes``."""
    report = outcome.report
    page = DetailsPage("")
    sections = [summary_section(report, TITLE, REFERENCE_NAME),
                f'<p class="note" id="detail">{h.esc(DETAIL_FULL)}</p>']
    if not outcome.validation.valid:
        sections.append(problems_section(check_lines(outcome), "Errors: these figures are not "
                                         "what you meant. Fix each problem and upload again"))
    elif outcome.validation.problems:
        sections.append(problems_section(check_lines(outcome), "Submission check: scored, with "
                                         "these remarks"))
    if report.cvqa is not None:
        sections.append(cvqa_section(report))
    if report.segmentation is not None and not report.segmentation.images:
        sections.append('<section id="segmentation"><h2>Segmentation</h2><p>No prediction mask: '
                        "segmentation scores 0.0.</p></section>")
    items = []
    if report.segmentation is not None and report.segmentation.images:
        items = _embedded_gallery(outcome, reference, work_dir, suffix=suffix, worst=worst,
                                  notes=page.notes)
    for shown in range(len(items), -1, -1):  # the worst first: drop from the end until it fits
        page.html = h.page(TITLE, sections + [_gallery_html(items[:shown], len(items), max_bytes)],
                           extra_css=PAGE_CSS)
        if page.size <= max_bytes:
            break
    return page


def refused_page(outcome: UploadOutcome) -> DetailsPage:
    """The page of a refused upload: every problem with its fix."""
    return DetailsPage(h.page(REFUSED_TITLE, [heading(REFUSED_TITLE, DETAIL_FULL),
                                              f"<p>{REFUSED_INTRO}</p>",
                                              problems_section(check_lines(outcome), "Problems")],
                              extra_css=PAGE_CSS))
