"""``magic run-baseline vqa``: closed-question baselines (prior, text, bert-swin), validated."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from baselines.runtime import DEVICE_CHOICES  # these modules import no torch or sklearn
from baselines.vqa.run import DEFAULT_IMAGE_MODEL, DEFAULT_TEXT_MODEL, METHODS
from magic_submit.cli.baseline import baseline_app, check_choice, require_modules

# What each method imports beyond the core, and the extra that installs it.
NEEDS: dict[str, tuple[tuple[str, ...], str]] = {
    "prior": ((), ""),
    "text": (("sklearn",), "text"),
    "bert-swin": (("torch", "transformers"), "baselines"),
}


def _show(metrics: dict[str, Any], json_output: bool) -> None:
    """The validation figures and what the method chose (stdout), or the metrics as JSON."""
    from rich.table import Table

    from magic_submit.challenge import PARENT_BY_ID
    from magic_submit.console import print_json, stdout

    if json_output:
        print_json(metrics)
        return
    if metrics.get("validation_split"):
        title = f"{metrics['method']} on '{metrics['validation_split']}' (official CVQA scoring)"
        if "best_epoch" in metrics:
            title += f", best epoch {metrics['best_epoch']}"
        table = Table(title=title, title_justify="left")
        table.add_column("metric", style="bold")
        table.add_column("value", justify="right")
        chosen = metrics.get("choices") or metrics.get("prior") or {}
        if chosen:
            table.add_column("chosen on train")
        for key, value in metrics.items():
            if key.startswith("accuracy_") or key == "number_cvqa_instances":
                parent = key.removeprefix("accuracy_")
                label = f"{key} ({PARENT_BY_ID[parent].type_en})" if parent in PARENT_BY_ID else key
                cells = [label, f"{value:.4f}" if isinstance(value, float) else str(value)]
                table.add_row(*cells, *([str(chosen.get(parent, ""))] if chosen else []))
        stdout.print(table)
    stdout.print(f"submission: {metrics['submission']} ({metrics['n_predicted']} encounters of "
                 f"'{metrics['predict_split']}', valid)", highlight=False)


@baseline_app.command("vqa")
def vqa_command(
    data: Annotated[Path, typer.Option("--data", metavar="DIR", help="Dataset root: {split}.json, "
                                       "{split}_cvqa.json, the definitions file, images_{split}/ "
                                       "(bert-swin only), or one folder per split.")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="DIR", file_okay=False, help="Folder for metrics.json and "
                                         "submission/data_cvqa_sys.json.")],
    method: Annotated[str, typer.Option(metavar="NAME", help="prior (most frequent answer / answer set), text "
                                        "(TF-IDF + logistic regression, CPU, seconds) or "
                                        "bert-swin (the paper's model; torch + transformers).")],
    train_split: Annotated[str, typer.Option(metavar="NAME|JSON", help="Split to learn from (its gold).")] = "train",
    valid_split: Annotated[str, typer.Option(metavar="NAME|JSON", help="Split scored into metrics.json (and early "
                                             "stopping of bert-swin); 'none' to skip.")] = "valid",
    predict_split: Annotated[str, typer.Option(metavar="NAME|JSON", help="Split to answer.")] = "test",
    device: Annotated[str, typer.Option(metavar="auto|cpu|cuda", help="bert-swin: auto, cpu or cuda.")] = "auto",
    seed: Annotated[int, typer.Option(metavar="N", help="Seed of folds, initialisation and shuffling.")] = 0,
    epochs: Annotated[int, typer.Option(metavar="N", min=1, help="bert-swin: at most this many epochs.")] = 10,
    batch_size: Annotated[int, typer.Option(metavar="N", min=1, help="bert-swin: encounters per step.")] = 16,
    patience: Annotated[int, typer.Option(metavar="N", min=1, help="bert-swin: stop after this many epochs "
                                          "without a better validation accuracy_all.")] = 3,
    model_text: Annotated[str, typer.Option(metavar="ID|DIR", help="bert-swin text encoder: hub id, local folder or "
                                            "'tiny-random' (built offline, smoke runs).")
                          ] = DEFAULT_TEXT_MODEL,
    model_image: Annotated[str, typer.Option(metavar="ID|DIR", help="bert-swin image encoder: hub id, local folder "
                                             "or 'tiny-random'.")] = DEFAULT_IMAGE_MODEL,
    with_responses: Annotated[bool, typer.Option("--with-responses", help="text, bert-swin: add "
                                                 "the responses' English text to the query.")
                              ] = False,
    query_context: Annotated[bool, typer.Option("--query-context/--no-query-context", help=
                                                "bert-swin: also feed the encounter's query "
                                                "(off: the paper's question || option text only).")
                             ] = True,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace what an earlier run "
                                            "wrote into OUTPUT.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="metrics.json on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Answer the closed questions and write a validated data_cvqa_sys.json.

    Fits --method on --train-split, scores it on --valid-split (metrics.json) and writes
    OUTPUT/submission/data_cvqa_sys.json for --predict-split.

    \b
    Examples:
      magic run-baseline vqa --data dataset --output runs/text --method text --with-responses
      magic run-baseline vqa --data sample_data --output runs/prior --method prior
    """
    check_choice(method, METHODS, "--method")
    check_choice(device, DEVICE_CHOICES, "--device")
    require_modules(*NEEDS[method], f"--method {method}", json_output=json_output)
    from baselines.vqa.run import VqaOptions, run_vqa
    from magic_submit.console import exit_with_error, note, stderr
    from magic_submit.errors import MagicError

    def message(text: str) -> None:
        if not quiet:
            stderr.print(text, markup=False, highlight=False)

    def on_epoch(record: dict[str, Any]) -> None:
        valid = record.get("valid")
        score = f", valid accuracy_all {valid['accuracy_all']:.4f}" if valid else ""
        message(f"epoch {record['epoch']}: train loss {record['train_loss']:.4f}{score}"
                f"{' *best*' if record.get('best') else ''} [{record['seconds']:.1f}s]")

    options = VqaOptions(data=data, output=output, method=method, train_split=train_split,
                         valid_split=None if valid_split == "none" else valid_split,
                         predict_split=predict_split, device=device, seed=seed, epochs=epochs,
                         batch_size=batch_size, patience=patience, model_text=model_text,
                         model_image=model_image, with_responses=with_responses,
                         query_context=query_context, overwrite=overwrite)
    try:
        result = run_vqa(options, log=message, note=(lambda text: None) if quiet else note,
                         on_epoch=on_epoch)
    except MagicError as error:
        exit_with_error(error, json_output=json_output)
    if not quiet:
        for problem in result.validation.warnings:
            note(f"{problem.code}: {problem.message}")
    _show(result.metrics, json_output)
