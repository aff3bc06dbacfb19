"""``magic run-baseline vqa``: closed-question baselines (prior, text, bert-swin, vlm, api),
validated."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from baselines.runtime import DEVICE_CHOICES  # these modules import no torch or sklearn
from baselines.vqa.run import DEFAULT_IMAGE_MODEL, DEFAULT_TEXT_MODEL, METHODS
from baselines.cli import vqa_model_options as vm
from baselines.cli.groups import run_baseline_app
from magic_submit.cli.checks import check_choice, require_modules

# What each method imports beyond the core, and the extra that installs it.
NEEDS: dict[str, tuple[tuple[str, ...], str]] = {
    "prior": ((), ""),
    "text": (("sklearn",), "text"),
    "bert-swin": (("torch", "transformers"), "baselines"),
    "vlm": (("torch", "transformers"), "baselines"),
    "api": (("openai",), "api"),
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
        column, chosen = _third_column(metrics)
        if chosen:
            table.add_column(column)
        for key, value in metrics.items():
            if key.startswith("accuracy_") or key == "number_cvqa_instances":
                parent = key.removeprefix("accuracy_")
                label = f"{key} ({PARENT_BY_ID[parent].type_en})" if parent in PARENT_BY_ID else key
                cells = [label, f"{value:.4f}" if isinstance(value, float) else str(value)]
                table.add_row(*cells, *([str(chosen.get(parent, ""))] if chosen else []))
        stdout.print(table)
    stdout.print(f"submission: {metrics['submission']} ({metrics['n_predicted']} encounters of "
                 f"'{metrics['predict_split']}', valid)", highlight=False)


def _third_column(metrics: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Per family: the prior's fallbacks (vlm, api) or what the method chose on train."""
    if "fallbacks" in metrics:
        return "fallbacks to prior", metrics["fallbacks"]
    return "chosen on train", metrics.get("choices") or metrics.get("prior") or {}


@run_baseline_app.command("vqa")
def vqa_command(
    data: Annotated[Path, typer.Option("--data", metavar="DIR", help="Dataset root: {split}.json, "
                                       "{split}_cvqa.json, the definitions file, images_{split}/ "
                                       "(bert-swin only), or one folder per split.")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="DIR", file_okay=False, help="Folder for metrics.json and "
                                         "submission/data_cvqa_sys.json.")],
    method: Annotated[str, typer.Option(metavar="NAME", help="prior (most frequent answer / answer set), text "
                                        "(TF-IDF + logistic regression, CPU, seconds), "
                                        "bert-swin (the paper's model; torch + transformers), "
                                        "vlm (a local vision-language model) or api (an "
                                        "OpenAI-compatible endpoint).")],
    train_split: Annotated[str, typer.Option(metavar="NAME|JSON", help="Split to learn from (its gold).")] = "train",
    valid_split: Annotated[str, typer.Option(metavar="NAME|JSON", help="Split scored into metrics.json (and early "
                                             "stopping of bert-swin); 'none' to skip.")] = "valid",
    predict_split: Annotated[str, typer.Option(metavar="NAME|JSON", help="Split to answer.")] = "test",
    device: Annotated[str, typer.Option(metavar="auto|cpu|cuda", help="bert-swin, vlm: auto, cpu or cuda.")] = "auto",
    seed: Annotated[int, typer.Option(metavar="N", help="Seed of folds, initialisation and shuffling.")] = 0,
    epochs: Annotated[int, typer.Option(metavar="N", min=1, help="bert-swin: at most this many epochs.")] = 10,
    batch_size: Annotated[int, typer.Option(metavar="N", min=1, help="bert-swin: encounters per step; vlm: "
                                            "requests per generate call.")] = 16,
    patience: Annotated[int, typer.Option(metavar="N", min=1, help="bert-swin: stop after this many epochs "
                                          "without a better validation accuracy_all.")] = 3,
    model_text: Annotated[str, typer.Option(metavar="ID|DIR", help="bert-swin text encoder: hub id, local folder or "
                                            "'tiny-random' (built offline, smoke runs).")
                          ] = DEFAULT_TEXT_MODEL,
    model_image: Annotated[str, typer.Option(metavar="ID|DIR", help="bert-swin image encoder: hub id, local folder "
                                             "or 'tiny-random'.")] = DEFAULT_IMAGE_MODEL,
    with_responses: Annotated[bool, typer.Option("--with-responses", help="text, bert-swin, vlm, "
                                                 "api: add the responses' English text to the "
                                                 "query.")] = False,
    query_context: Annotated[bool, typer.Option("--query-context/--no-query-context", help=
                                                "bert-swin: also feed the encounter's query "
                                                "(off: the paper's question || option text only).")
                             ] = True,
    model: vm.Model = vm.DEFAULT_MODEL,
    endpoint: vm.Endpoint = None,
    api_model: vm.ApiModel = None,
    api_key_env: vm.ApiKeyEnv = vm.DEFAULT_KEY_ENV,
    concurrency: vm.Concurrency = vm.DEFAULTS.concurrency,
    votes: vm.Votes = vm.DEFAULTS.votes,
    shots: vm.Shots = vm.DEFAULTS.shots,
    shot_photos: vm.ShotPhotos = False,
    retries: vm.Retries = vm.DEFAULTS.retries,
    temperature: vm.Temperature = vm.DEFAULTS.temperature,
    max_new_tokens: vm.MaxNewTokens = vm.DEFAULTS.max_new_tokens,
    max_images: vm.MaxImages = vm.DEFAULTS.max_images,
    image_size: vm.ImageSize = vm.DEFAULTS.image_size,
    per_family: vm.PerFamily = False,
    structured: vm.Structured = vm.DEFAULTS.structured,
    allow_fallback: vm.AllowFallback = False,
    api_timeout: vm.ApiTimeout = vm.DEFAULTS.api_timeout,
    api_max_wait: vm.ApiMaxWait = vm.DEFAULTS.api_max_wait,
    api_retries: vm.ApiRetries = vm.DEFAULTS.api_retries,
    max_tokens_param: vm.MaxTokensParam = vm.DEFAULTS.max_tokens_param,
    dry_run: vm.DryRun = False,
    resume: vm.Resume = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace what an earlier run "
                                            "wrote into OUTPUT (responses.jsonl too).")] = False,
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
      magic run-baseline vqa --data dataset --output runs/vlm --method vlm --dry-run
      magic run-baseline vqa --data dataset --output runs/api --method api \\
          --endpoint http://127.0.0.1:8000/v1 --api-model Qwen/Qwen2.5-VL-7B-Instruct
    """
    check_choice(method, METHODS, "--method")
    check_choice(device, DEVICE_CHOICES, "--device")
    vm.check_model_options(method, endpoint, api_model, dry_run, max_tokens_param)
    if not dry_run:
        require_modules(*NEEDS[method], f"--method {method}", json_output=json_output)
    if shots and method in ("vlm", "api"):
        require_modules(("sklearn",), "text", "--shots", json_output=json_output)
    from baselines.vqa.run import VqaOptions, dry_run_vqa, run_vqa
    from baselines.vqa.vlm.options import VlmOptions
    from magic_submit.console import exit_with_error, messages, progress_enabled
    from magic_submit.errors import MagicError

    message, caveat = messages(quiet)

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
                         query_context=query_context, overwrite=overwrite, resume=resume,
                         vlm=VlmOptions(
                             backend=method, model=model, endpoint=endpoint, api_model=api_model,
                             api_key_env=api_key_env, concurrency=concurrency,
                             batch_size=batch_size, votes=votes, shots=shots, retries=retries,
                             temperature=temperature, max_new_tokens=max_new_tokens,
                             max_images=max_images, image_size=image_size, per_family=per_family,
                             dry_run=dry_run, structured=structured, shot_photos=shot_photos,
                             allow_fallback=allow_fallback, max_tokens_param=max_tokens_param,
                             api_timeout=api_timeout, api_max_wait=api_max_wait,
                             api_retries=api_retries) if method in ("vlm", "api") else None)
    try:
        if dry_run:
            vm.show_dry_run(dry_run_vqa(options), json_output)
            return
        result = run_vqa(options, log=message, note=caveat,
                         on_epoch=on_epoch, progress=progress_enabled(quiet))
    except MagicError as error:
        exit_with_error(error, json_output=json_output)
    if not quiet:
        for problem in result.validation.warnings:
            caveat(f"{problem.code}: {problem.message}")
    _show(result.metrics, json_output)
    if method in ("vlm", "api"):
        vm.check_failed_requests(result.metrics)
