"""The report's plots as PNG files (matplotlib, the ``report`` extra, imported here only).

Figures are drawn with matplotlib's object API on an Agg canvas: no pyplot, no global state,
no display needed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from magic_submit.errors import MagicError

HISTOGRAM_BINS = 20
PLOT_DPI = 100


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(width: float, height: float):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MagicError("plots need matplotlib", code="missing-extra",
                         hint="pip install 'magic-mediqa[report]'") from None
    figure = Figure(figsize=(width, height), dpi=PLOT_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def plot_score_histogram(series: Mapping[str, Sequence[float]], title: str, path: Path) -> Path:
    """Histogram of per-image scores in [0, 1], one outlined series per entry (NaN left out)."""
    figure = _figure(5.0, 3.2)
    axes = figure.add_subplot()
    bins = [i / HISTOGRAM_BINS for i in range(HISTOGRAM_BINS + 1)]
    left_out = 0
    for (label, values), style in zip(series.items(), ("stepfilled", "step")):
        finite = [v for v in values if not math.isnan(v)]
        left_out = max(left_out, len(values) - len(finite))
        axes.hist(finite, bins=bins, histtype=style, alpha=0.6 if style == "stepfilled" else 1.0,
                  linewidth=2, label=f"{label} (n={len(finite)})")
    axes.set_xlim(0, 1)
    axes.set_xlabel("score per image")
    axes.set_ylabel("images")
    axes.set_title(title + (f" ({left_out} NaN image(s) not shown)" if left_out else ""))
    axes.legend(loc="upper left", frameon=False, fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def plot_parent_accuracies(accuracies: Mapping[str, float], overall: float, path: Path) -> Path:
    """Bar chart of each question family's accuracy, with accuracy_all as a dashed line."""
    figure = _figure(7.0, 3.4)
    axes = figure.add_subplot()
    labels = list(accuracies)
    values = [accuracies[k] for k in labels]
    bars = axes.bar(range(len(labels)), values, color="#0072b2")
    axes.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=8)
    axes.axhline(overall, color="#d50000", linestyle="--", label=f"accuracy_all {overall:.3f}")
    axes.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    axes.set_ylim(0, 1.08)
    axes.set_ylabel("mean IoM")
    axes.set_title("CVQA accuracy per question family")
    axes.legend(loc="upper right", frameon=False, fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path
