"""``magic report``: one static HTML page (no network, no server) with its files beside it.

``OUTPUT/index.html`` references only files under ``OUTPUT/``: ``plots/*.png`` (matplotlib),
``gallery/*.jpg`` (overlays of the worst images), plus the scorer's ``scores.json``,
``per_image.csv``, ``per_encounter.csv`` and ``confusion.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evaluation.facts import FLOAT_SEG_KEYS
from evaluation.segmentation import EMPTY_IS_ONE_SUFFIX
from magic_submit import __version__
from magic_submit.challenge import DEFAULT_SUFFIX, PARENTS
from magic_submit.definitions import Definitions, load_definitions
from magic_submit.errors import MagicError
from magic_submit.jsonio import write_atomic
from magic_submit.reporting import html_parts as h
from magic_submit.reporting.confusion import ConfusionMatrix, cvqa_confusions
from magic_submit.reporting.gallery import worst_images, write_gallery
from magic_submit.reporting.plots import (
    matplotlib_available, plot_parent_accuracies, plot_score_histogram,
)
from magic_submit.reporting.reference import ReferenceContext, photo_paths
from magic_submit.scoring import METRIC_DESCRIPTIONS, ScoreReport, write_score_outputs
from magic_submit.scoring.outputs import csv_text
from magic_submit.submission import SubmissionFiles

PAGE_NAME = "index.html"
PLOTS_DIR = "plots"
DEFAULT_WORST = 24
DATA_SUFFIXES = (".json", ".csv")  # linked at the bottom of the page


@dataclass
class ReportFiles:
    page: Path
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def summary_section(report: ScoreReport, title: str, reference: str) -> str:
    """The page heading and the official figures with their meanings, NaN details and notes."""
    rows = [(k, v, METRIC_DESCRIPTIONS.get(k, "")) for k, v in report.official().items()]
    parts = [f"<h1>{h.esc(title)}</h1>",
             f'<p class="note">reference: {h.esc(reference)}; magic {h.esc(__version__)}</p>',
             h.warning_banner([w.text(limit=20) for w in report.warnings]),
             '<section id="summary"><h2>Summary</h2>',
             h.table(["metric", "value", "meaning"], rows, text_columns=(0, 2),
                     attrs=' class="summary"')]
    seg = report.segmentation
    if seg is not None and seg.nan_images:
        parts.append(f'<p><span class="nan">NaN</span>: {len(seg.nan_images)} image(s) have an '
                     "empty prediction and an empty annotator mask (0/0 officially): "
                     f"{h.esc(', '.join(seg.nan_images))}. With both empty = 1.0:</p>")
        parts.append(h.table(["metric", "value"], [(k + EMPTY_IS_ONE_SUFFIX,
                                                    seg.scores[k + EMPTY_IS_ONE_SUFFIX])
                                                   for k in FLOAT_SEG_KEYS]))
    notes = report.all_notes()
    if notes:
        parts.append("<ul class=\"note\">" + "".join(f"<li>{h.esc(n)}</li>" for n in notes)
                     + "</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def _segmentation_plots(report: ScoreReport, output_dir: Path) -> list[Path]:
    per_image = [r.macro_values() for r in report.segmentation.images]  # (jmax, jmean, dmax, dmean)
    written = []
    for name, first in (("Jaccard", 0), ("Dice", 2)):
        series = {"best annotator (M(Max))": [v[first] for v in per_image],
                  "mean over annotators (M(Mean))": [v[first + 1] for v in per_image]}
        written.append(plot_score_histogram(series, f"Per-image {name}",
                                            output_dir / PLOTS_DIR / f"{name.lower()}_hist.png"))
    return written


def _cvqa_plot(report: ScoreReport, output_dir: Path) -> Path:
    scores = report.cvqa.scores
    accuracies = {f"{p.id} {p.type_en}": float(scores[f"accuracy_{p.id}"]) for p in PARENTS}
    return plot_parent_accuracies(accuracies, float(scores["accuracy_all"]),
                                  output_dir / PLOTS_DIR / "cvqa_accuracy.png")


def _plots_html(paths: list[Path], output_dir: Path, section_id: str, heading: str) -> str:
    images = "".join(h.image(p.relative_to(output_dir).as_posix(), p.stem) for p in paths)
    return f'<section id="{section_id}"><h2>{h.esc(heading)}</h2><div class="plots">{images}</div>'


def _confusion_rows(matrices: list[ConfusionMatrix]) -> list[dict]:
    return [{"parent": m.parent, "gold": m.labels[g], "predicted": m.column_labels[p],
             "count": int(m.counts[g, p])}
            for m in matrices for g in range(len(m.labels)) for p in range(len(m.column_labels))
            if m.counts[g, p]]


def _definitions(reference: ReferenceContext, notes: list[str]) -> Definitions | None:
    if reference.definitions_file is None:
        return None
    try:
        return load_definitions(reference.definitions_file)
    except MagicError as error:  # option names are a nicety: fall back to indices
        notes.append(f"option names not shown: {error.message}")
        return None


def write_report(report: ScoreReport, reference: ReferenceContext, submission: SubmissionFiles,
                 output_dir: Path, *, worst: int = DEFAULT_WORST, suffix: str = DEFAULT_SUFFIX,
                 title: str | None = None) -> ReportFiles:
    """Write the page and everything it shows into ``output_dir``; return what was written."""
    output_dir.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(output_dir / PAGE_NAME, written=write_score_outputs(report, output_dir))
    plots = matplotlib_available()
    if not plots:
        files.notes.append("matplotlib is not installed: plots left out "
                           "(pip install 'magic-mediqa[report]')")
    title = title or f"MEDIQA-MAGIC report: {submission.source.name}"
    sections = [summary_section(report, title, reference.files.description)]
    seg, cvqa = report.segmentation, report.cvqa
    if seg is not None and seg.images:
        paths = _segmentation_plots(report, output_dir) if plots else []
        files.written.extend(paths)
        sections.append(_plots_html(paths, output_dir, "distributions",
                                    "Per-image Jaccard and Dice") + "</section>")
        photos = photo_paths(reference.images_dir, reference.encounters)
        if not photos:
            files.notes.append("no photos found (pass --images DIR): masks drawn on grey")
        items = write_gallery(worst_images(seg.images, worst), reference.files.masks_dir,
                              submission.masks_dir, photos, output_dir, suffix=suffix,
                              notes=files.notes)
        files.written.extend(output_dir / item.file for item in items)
        if items:  # --worst 0: no gallery
            sections.append(h.gallery_section(items))
    elif seg is not None:
        sections.append('<section id="distributions"><h2>Segmentation</h2><p>No prediction mask: '
                        "the platform scores segmentation 0.0.</p></section>")
    if cvqa is not None:
        paths = [_cvqa_plot(report, output_dir)] if plots else []
        files.written.extend(paths)
        matrices = cvqa_confusions(cvqa.result.rows, _definitions(reference, files.notes))
        confusion_csv = output_dir / "confusion.csv"
        write_atomic(confusion_csv, csv_text(_confusion_rows(matrices)))
        files.written.append(confusion_csv)
        sections.append(_plots_html(paths, output_dir, "cvqa", "Closed questions (CVQA)")
                        + '<p class="note">Confusion per family: a cell counts encounters whose '
                        "gold answer holds the row option and whose prediction holds the column "
                        "option (multi-slot families: every pair of their sets).</p>"
                        '<div class="confusion" id="confusion">'
                        + "".join(h.confusion_table(m) for m in matrices) + "</div></section>")
    data = [p.relative_to(output_dir).as_posix() for p in files.written if p.suffix in DATA_SUFFIXES]
    sections.append('<section id="files"><h2>Data</h2><p>' + " &middot; ".join(
        f'<a href="{h.esc(name)}">{h.esc(name)}</a>' for name in data) + "</p></section>")
    write_atomic(files.page, h.page(title, sections))
    files.written.append(files.page)
    return files

