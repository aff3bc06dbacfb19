"""``magic run-baseline seg``: the paper's CLIPSeg recipe, trained on cached encoder activations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from baselines.seg.data import TARGET_CHOICES as _TARGETS  # these modules import no torch
from baselines.seg.predict import SELECT_CHOICES as _METRICS
from baselines.seg.prompts import PROMPT_CHOICES as _PROMPTS
from baselines.seg.runtime import DEVICE_CHOICES as _DEVICES
from baselines.seg.tiny import TINY_RANDOM
from magic_submit.cli.baseline import baseline_app


def _choice(value: str, choices: tuple[str, ...], param: str) -> str:
    if value not in choices:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}", param_hint=param)
    return value


def _show_result(result: Any, json_output: bool) -> None:
    from rich.table import Table

    from magic_submit.console import stdout
    from magic_submit.jsonio import dumps_strict

    metrics = result.metrics
    if json_output:
        summary = {k: metrics[k] for k in ("best_epoch", "threshold", "select_metric",
                                           "select_value", "valid", "submission", "timings")}
        stdout.print(dumps_strict(summary), highlight=False)
        return
    if metrics["valid"] is not None:
        from evaluation.segmentation import OFFICIAL_SEG_KEYS

        table = Table(title=f"valid split, best epoch {metrics['best_epoch']}, threshold "
                      f"{metrics['threshold']}", title_justify="left")
        table.add_column("metric", style="bold")
        table.add_column("value", justify="right")
        for key in OFFICIAL_SEG_KEYS:
            value = metrics["valid"][key]
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
        stdout.print(table)
    stdout.print(f"submission: {metrics['submission']}", highlight=False)


@baseline_app.command("seg")
def seg_command(
    data: Annotated[Path, typer.Option("--data", help="Dataset root: {split}.json, images_{split}/, "
                                       "dermavqa-segmentations/{split}/ (or one folder per split).")],
    output: Annotated[Path, typer.Option("--output", "-o", file_okay=False, help="Folder for the checkpoints, "
                                         "metrics.json, train.log, submission/ and submission.zip.")],
    model: Annotated[str, typer.Option(help="Hub id, local folder (save_pretrained), or "
                                       f"'{TINY_RANDOM}': a small random CLIPSeg built offline, for "
                                       "smoke runs and CI (no download; learns colour, not "
                                       "medicine). HF_HUB_OFFLINE=1 is honoured.")
                     ] = "CIDAS/clipseg-rd64-refined",
    train_split: Annotated[str, typer.Option(help="Split to train on.")] = "train",
    valid_split: Annotated[str, typer.Option(help="Split for early stopping and --tune-threshold; "
                                             "'none' to train without one.")] = "valid",
    predict_split: Annotated[str, typer.Option(help="Split to predict and pack.")] = "test",
    epochs: Annotated[int, typer.Option(min=1, help="At most this many epochs.")] = 30,
    batch_size: Annotated[int, typer.Option(min=1, help="Global batch (split across torchrun "
                                            "processes).")] = 32,
    lr: Annotated[float, typer.Option(min=0.0, help="AdamW learning rate.")] = 9e-4,
    patience: Annotated[int, typer.Option(min=1, help="Stop after this many epochs without a "
                                          "better validation figure.")] = 5,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of initialisation and shuffling.")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUTPUT/checkpoints/"
                                         "last.pt.")] = False,
    tune_threshold: Annotated[bool, typer.Option("--tune-threshold", help="Pick the threshold "
                                                 "(0.05..0.95) on the valid split instead of "
                                                 "0.5.")] = False,
    select_metric: Annotated[str, typer.Option(help="Official figure for early stopping and "
                                               "--tune-threshold: " + ", ".join(_METRICS) + ".")
                             ] = "dice",
    target: Annotated[str, typer.Option(help="Training target: 'or' (any annotator, the paper) "
                                        "or 'majority' (at least half).")] = "or",
    prompt: Annotated[str, typer.Option(help="Prompt text: " + ", ".join(_PROMPTS) + " (cut at 77 "
                                        "CLIP tokens).")] = "query+responses",
    workers: Annotated[Optional[int], typer.Option(min=1, help="Threads decoding images and "
                                                   "scoring masks (default: all cores).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="A JSON summary on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or per-epoch lines.")
                     ] = False,
) -> None:
    """Train CLIPSeg's decoder (frozen CLIP encoders, run once per image) and write a validated
    submission.zip for --predict-split. Works under torchrun for several GPUs."""
    _choice(device, _DEVICES, "--device")
    _choice(select_metric, _METRICS, "--select-metric")
    _choice(target, _TARGETS, "--target")
    _choice(prompt, _PROMPTS, "--prompt")
    if tune_threshold and valid_split == "none":
        raise typer.BadParameter("--tune-threshold needs a --valid-split", param_hint="--valid-split")
    import importlib.util

    from baselines.seg.run import SegOptions, run_seg
    from magic_submit.console import report_error, stderr

    missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
    if missing:
        stderr.print(f"error: the segmentation baseline needs {' and '.join(missing)}; install "
                     "them with: pip install 'magic-mediqa[baselines]'", markup=False, highlight=False)
        raise typer.Exit(1)
    from magic_submit.errors import MagicError

    options = SegOptions(data=data, output=output, model=model, train_split=train_split,
                         valid_split=None if valid_split == "none" else valid_split,
                         predict_split=predict_split, epochs=epochs, batch_size=batch_size, lr=lr,
                         patience=patience, device=device, seed=seed, resume=resume,
                         tune_threshold=tune_threshold, select_metric=select_metric, target=target,
                         prompt=prompt, workers=workers)
    try:
        with _EpochProgress(quiet) as reporter:
            result = run_seg(options, reporter)
    except MagicError as error:
        report_error(error)
        raise typer.Exit(1) from None
    if result is not None:  # rank 0 of torchrun, or a single process
        _show_result(result, json_output)


class _EpochProgress:
    """Per-epoch lines on stderr and, on a terminal, a Rich bar over the epochs (rank 0 only)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> Any:
        import os

        from baselines.seg.run import Reporter
        from magic_submit.console import progress_enabled, stderr

        rank0 = os.environ.get("RANK", "0") == "0"
        show = not self.quiet and rank0

        def message(text: str) -> None:
            if show:
                stderr.print(text, markup=False, highlight=False)

        def start(done: int, total: int) -> None:
            if show and progress_enabled(self.quiet) and self.bar is None:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

                self.bar = Progress("[progress.description]{task.description}", BarColumn(),
                                    MofNCompleteColumn(), TimeElapsedColumn(), console=stderr,
                                    transient=True)
                self.bar.start()
                self.task = self.bar.add_task("epochs", total=total, completed=done)

        def epoch(record: dict) -> None:
            if self.bar is not None:
                self.bar.update(self.task, completed=record["epoch"])

        return Reporter(message=message, epoch=epoch, start_training=start)

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.stop()
