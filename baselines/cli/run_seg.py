"""``magic run-baseline seg``: the paper's CLIPSeg recipe, trained on cached encoder activations."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from baselines.common import TINY_RANDOM  # these modules import no torch
from baselines.runtime import DEVICE_CHOICES as _DEVICES
from baselines.seg.data import DEFAULT_TARGET
from baselines.seg.data import TARGET_CHOICES as _TARGETS
from baselines.seg.model import DEFAULT_MODEL
from baselines.seg.predict import DEFAULT_SELECT
from baselines.seg.predict import SELECT_CHOICES as _METRICS
from baselines.seg.prompts import DEFAULT_PROMPT
from baselines.seg.prompts import PROMPT_CHOICES as _PROMPTS
from baselines.cli.groups import run_baseline_app
from magic_submit.cli.checks import check_choice, require_modules


def _show_result(result: Any, json_output: bool) -> None:
    from rich.table import Table

    from magic_submit.console import print_json, stdout

    metrics = result.metrics
    if json_output:
        print_json({k: metrics[k] for k in ("best_epoch", "threshold", "select_metric",
                                            "select_value", "valid", "selection",
                                            "skipped_images", "notes", "submission", "timings")})
        return
    if metrics["valid"] is not None:
        from evaluation.facts import OFFICIAL_SEG_KEYS

        chosen = " and ".join(metrics["selection"]["chosen_on_it"]).replace("_", " ")
        table = Table(title=f"valid split, best epoch {metrics['best_epoch']}, threshold "
                      f"{metrics['threshold']} ({chosen} chosen on this split: optimistic)",
                      title_justify="left")
        table.add_column("metric", style="bold")
        table.add_column("value", justify="right")
        for key in OFFICIAL_SEG_KEYS:
            value = metrics["valid"][key]
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
        stdout.print(table)
    stdout.print(f"submission: {metrics['submission']}", highlight=False)


@run_baseline_app.command("seg")
def seg_command(
    data: Annotated[Path, typer.Option("--data", metavar="DIR", help="Dataset root: {split}.json, images_{split}/, "
                                       "dermavqa-segmentations/{split}/ (or one folder per split).")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="DIR", file_okay=False, help="Folder for the checkpoints, "
                                         "metrics.json, train.log, submission/ and submission.zip.")],
    model: Annotated[str, typer.Option(metavar="ID|DIR", help="Hub id, local folder (save_pretrained), or "
                                       f"'{TINY_RANDOM}': a small random CLIPSeg built offline, for "
                                       "smoke runs and CI (no download; learns colour, not "
                                       "medicine). HF_HUB_OFFLINE=1 is honoured.")
                     ] = DEFAULT_MODEL,
    train_split: Annotated[str, typer.Option(metavar="NAME|JSON", help="Split to train on.")] = "train",
    valid_split: Annotated[str, typer.Option(metavar="NAME|JSON", help="Split for early stopping and --tune-threshold; "
                                             "'none' to train without one.")] = "valid",
    predict_split: Annotated[str, typer.Option(metavar="NAME|JSON", help="Split to predict and pack.")] = "test",
    epochs: Annotated[int, typer.Option(metavar="N", min=1, help="At most this many epochs.")] = 30,
    batch_size: Annotated[int, typer.Option(metavar="N", min=1, help="Global batch (split across torchrun "
                                            "processes).")] = 32,
    lr: Annotated[float, typer.Option(metavar="X", min=0.0, help="AdamW learning rate.")] = 9e-4,
    patience: Annotated[int, typer.Option(metavar="N", min=1, help="Stop after this many epochs without a "
                                          "better validation figure.")] = 5,
    device: Annotated[str, typer.Option(metavar="auto|cpu|cuda", help="auto, cpu or cuda.")] = "auto",
    seed: Annotated[int, typer.Option(metavar="N", help="Seed of initialisation and shuffling.")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUTPUT/checkpoints/"
                                         "last.pt.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Delete what an earlier run "
                                            "wrote into OUTPUT, then start afresh.")] = False,
    tune_threshold: Annotated[bool, typer.Option("--tune-threshold", help="Pick the threshold "
                                                 "(0.05..0.95) on the valid split instead of "
                                                 "0.5.")] = False,
    select_metric: Annotated[str, typer.Option(metavar="KEY", help="Official figure for early stopping and "
                                               "--tune-threshold: " + ", ".join(_METRICS) + ".")
                             ] = DEFAULT_SELECT,
    target: Annotated[str, typer.Option(metavar="or|majority", help="Training target: 'or' (any annotator, the paper) "
                                        "or 'majority' (at least half).")] = DEFAULT_TARGET,
    prompt: Annotated[str, typer.Option(metavar="KIND", help="Prompt text: " + ", ".join(_PROMPTS) + " (cut at 77 "
                                        "CLIP tokens).")] = DEFAULT_PROMPT,
    workers: Annotated[Optional[int], typer.Option(metavar="N", min=1, help="Threads decoding images and "
                                                   "scoring masks (default: all cores).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="A JSON summary on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or per-epoch lines.")
                     ] = False,
) -> None:
    """Train the CLIPSeg segmenter and write a validated submission.zip.

    CLIPSeg's decoder trains on cached activations of the frozen CLIP encoders (run once per
    image); the best epoch predicts --predict-split. Works under torchrun for several GPUs.

    \b
    Examples:
      magic run-baseline seg --data sample_data --output runs/seg --model tiny-random --epochs 12
      magic run-baseline seg --data dataset --output runs/seg --tune-threshold
      torchrun --nproc_per_node 4 -m magic_submit run-baseline seg --data dataset -o runs/seg4
    """
    check_choice(device, _DEVICES, "--device")
    check_choice(select_metric, _METRICS, "--select-metric")
    check_choice(target, _TARGETS, "--target")
    check_choice(prompt, _PROMPTS, "--prompt")
    if tune_threshold and valid_split == "none":
        raise typer.BadParameter("--tune-threshold needs a --valid-split", param_hint="--valid-split")
    require_modules(("torch", "transformers"), "baselines", "the segmentation baseline",
                    json_output=json_output)
    from baselines.seg.run import SegOptions, run_seg
    from magic_submit.console import exit_with_error
    from magic_submit.errors import MagicError

    options = SegOptions(data=data, output=output, model=model, train_split=train_split,
                         valid_split=None if valid_split == "none" else valid_split,
                         predict_split=predict_split, epochs=epochs, batch_size=batch_size, lr=lr,
                         patience=patience, device=device, seed=seed, resume=resume, overwrite=overwrite,
                         tune_threshold=tune_threshold, select_metric=select_metric, target=target,
                         prompt=prompt, workers=workers)
    try:
        with _epoch_reporter(quiet) as reporter:
            result = run_seg(options, reporter)
    except MagicError as error:
        exit_with_error(error, json_output=json_output)
    if result is not None:  # rank 0 of torchrun, or a single process
        _show_result(result, json_output)


@contextlib.contextmanager
def _epoch_reporter(quiet: bool) -> Iterator[Any]:
    """Lines on stderr and, on a terminal, a bar over the epochs from training's start to the
    end of the run (run_seg reports on rank 0 only)."""
    from baselines.seg.run import Reporter
    from magic_submit.console import messages, progress_counter, progress_enabled

    shown, advance = 0, (lambda: None)  # epochs on the bar, and the bar's step

    message, _ = messages(quiet)

    def epoch(record: dict) -> None:
        nonlocal shown
        while shown < record["epoch"]:  # after --resume the first record is epoch k + 1
            shown += 1
            advance()

    with contextlib.ExitStack() as stack:
        def start(epochs: int) -> None:
            nonlocal advance
            advance = stack.enter_context(progress_counter("epochs", epochs,
                                                           enabled=progress_enabled(quiet)))

        def photos(what: str, total: int) -> Any:
            return progress_counter(what, total, enabled=progress_enabled(quiet))

        yield Reporter(message=message, epoch=epoch, start_training=start, photos=photos)
