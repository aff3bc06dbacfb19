"""The leaderboard as rows (``leaderboard.csv``), as JSON, and as a Rich table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from magic_submit.scoring.outputs import csv_text
from magic_submit.formatting import blank_nan, format_value
from magic_submit.jsonio import write_atomic
from magic_submit.reporting.leaderboard import DEFAULT_ALPHA, Leaderboard, Standing

CSV_NAME = "leaderboard.csv"


def _standing_dict(s: Standing, alpha: float) -> dict:
    return {"metric": s.metric, "rank": s.rank, "submission": s.name, "value": s.value,
            "ci_low": s.low, "ci_high": s.high, "next_submission": s.next_name,
            "p_flip_next": s.flip_next, "differs_from_next": s.differs_from_next(alpha)}


def leaderboard_rows(board: Leaderboard, alpha: float = DEFAULT_ALPHA) -> list[dict]:
    """One row per (metric, submission), then one per invalid submission with its reason."""
    rows = []
    for standings in board.standings.values():
        for s in standings:
            row = {k: blank_nan(v) for k, v in _standing_dict(s, alpha).items()}
            row.update({"rank": "" if s.rank is None else s.rank,
                        "next_submission": s.next_name or "",
                        "differs_from_next": "" if row["differs_from_next"] is None
                        else row["differs_from_next"], "status": "valid", "reason": ""})
            rows.append(row)
    for c in board.invalid:
        rows.append({"metric": "", "rank": "", "submission": c.name, "value": "", "ci_low": "",
                     "ci_high": "", "next_submission": "", "p_flip_next": "",
                     "differs_from_next": "", "status": "invalid", "reason": " | ".join(c.problems)})
    return rows


def write_leaderboard_csv(board: Leaderboard, output_dir: Path, alpha: float = DEFAULT_ALPHA) -> Path:
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / CSV_NAME
    write_atomic(path, csv_text(leaderboard_rows(board, alpha)))
    return path


def leaderboard_json(board: Leaderboard, alpha: float = DEFAULT_ALPHA) -> dict:
    """Everything: settings, each submission's status and notes, the standings per metric."""
    return {
        "bootstrap": {"resamples": board.n_resamples, "seed": board.seed,
                      "confidence": board.confidence, "unit": "encounter",
                      "encounters": len(board.encounters), "alpha": alpha,
                      "convention": "empty_is_one" if board.empty_is_one else "official"},
        "submissions": [{"name": c.name, "source": str(c.source), "valid": c.valid,
                         "problems": c.problems, "notes": c.notes} for c in board.contenders],
        "rankings": {m: [_standing_dict(s, alpha) for s in standings]
                     for m, standings in board.standings.items()},
    }


def _flip_cell(s: Standing, alpha: float) -> str:
    """Flip rate to the next one and whether the gap is real; blank for the last one."""
    differs = s.differs_from_next(alpha)
    if differs is None:
        return "" if s.next_name is None else "NaN"
    return f"{format_value(s.flip_next, 3)} {'real' if differs else 'unsure'}"


def _standings_table(board: Leaderboard, metrics: Sequence[str], alpha: float):
    from rich import box
    from rich.table import Table
    from rich.text import Text  # names are data, not Rich markup

    pct = round(board.confidence * 100)
    table = Table(title=f"Leaderboard: {board.n_resamples} bootstrap resamples of "
                  f"{len(board.encounters)} encounters (seed {board.seed}), {pct}% intervals",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("metric", style="bold", no_wrap=True)
    table.add_column("rank", justify="right")
    table.add_column("submission", overflow="fold", min_width=len("submission"))
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column(f"{pct}% CI", justify="right", no_wrap=True)
    table.add_column("P(flip)", no_wrap=True)
    shown = [m for m in metrics if m in board.standings]
    for index, metric in enumerate(shown):
        standings = board.standings[metric]
        for position, s in enumerate(standings):
            last_row = position == len(standings) - 1
            table.add_row(metric if position == 0 else "", "-" if s.rank is None else str(s.rank),
                          Text(s.name), format_value(s.value),
                          Text(f"[{format_value(s.low, 3)}, {format_value(s.high, 3)}]"),
                          _flip_cell(s, alpha), end_section=last_row and index < len(shown) - 1)
    return table


def _invalid_table(board: Leaderboard, limit: int = 10):
    from rich.table import Table
    from rich.text import Text  # reasons hold brackets ("[mask-missing]"), not markup

    table = Table(title="Not ranked (invalid)", title_justify="left")
    table.add_column("submission", style="bold")
    table.add_column("reason")
    for c in board.invalid:
        more = f"\n(+{len(c.problems) - limit} more)" if len(c.problems) > limit else ""
        table.add_row(Text(c.name), Text("\n".join(c.problems[:limit]) + more))
    return table


def print_leaderboard(board: Leaderboard, metrics: Sequence[str],
                      alpha: float = DEFAULT_ALPHA) -> None:
    """Rich table to stdout (one section per metric), then the invalid submissions."""
    from magic_submit.console import stdout

    if board.standings:
        stdout.print(_standings_table(board, metrics, alpha))
        stdout.print(f"P(flip): share of paired resamples in which the next one down scores higher "
                     f"(ties count half); the gap is real below {alpha}.", highlight=False)
    else:
        stdout.print("No valid submission to rank.", highlight=False)
    if board.invalid:
        stdout.print(_invalid_table(board))
