"""``magic predict seg|vqa``: a trained baseline run answers any split, as a validated submission."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from baselines.runtime import DEVICE_CHOICES  # these modules import no torch
from baselines.seg.inference import TTA_CHOICES
from baselines.seg.model import ENCODE_BATCH
from baselines.seg.outputs import PROBABILITY_FORMATS
from baselines.cli.groups import predict_app
from baselines.cli.run_vqa import NEEDS
from magic_submit.cli.checks import check_choice, require_modules
from magic_submit.cli.options import SPLIT_HELP, DataOption, QuietOption, json_option

OutputOption = Annotated[Path, typer.Option("--output", "-o", metavar="DIR", file_okay=False,
                                            help="Folder for submission/, prediction.json (and "
                                            "submission.zip, probabilities/ for seg).")]
SplitToPredict = Annotated[str, typer.Option("--split", metavar="NAME|JSON", help=SPLIT_HELP)]
DeviceOption = Annotated[str, typer.Option(metavar="auto|cpu|cuda", help="auto, cpu or cuda.")]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="Replace what an earlier "
                                               "prediction wrote into OUTPUT.")]
JsonOption = Annotated[bool, json_option("prediction.json: split, run, threshold, timings")]


def _show(record: dict[str, Any], json_output: bool, what: str) -> None:
    from magic_submit.console import print_json, stdout

    if json_output:
        print_json(record)
        return
    stdout.print(f"{record['n_predicted']} {what} of '{record['split']}' predicted; submission: "
                 f"{record['submission']} (valid)", highlight=False)


@predict_app.command("seg")
def seg_command(
    output: OutputOption,
    run: Annotated[Optional[Path], typer.Option("--run", metavar="DIR", help="Folder of a "
                                                "finished 'magic run-baseline seg' (model/ + "
                                                "metrics.json).")] = None,
    ensemble: Annotated[Optional[list[Path]], typer.Option(
        "--ensemble", metavar="DIR", help="Instead of --run, once per member: runs and/or "
        "probability folders (--save-probabilities); their maps are averaged, then thresholded "
        "once.")] = None,
    split: SplitToPredict = "test",
    data: DataOption = None,
    images: Annotated[Optional[Path], typer.Option(
        "--images", metavar="DIR", file_okay=False, help="Folder holding the photos the split "
        "lists (default: images_{split}/ beside the query file or under --data); the prompts "
        "still come from the query file.")] = None,
    threshold: Annotated[Optional[float], typer.Option(metavar="T", min=0.0, max=1.0, help=
                                                       "Mask where p > T (default: the run's "
                                                       "threshold; the members' mean).")] = None,
    tta: Annotated[str, typer.Option(metavar="none|hflip", help="hflip: average the logits of "
                                     "each photo and of its mirror image.")] = "none",
    save_probabilities: Annotated[bool, typer.Option("--save-probabilities", help="Also write "
                                                     "each photo's probability map (uint8 "
                                                     "0-255, at its size) to OUTPUT/"
                                                     "probabilities/, for --ensemble.")] = False,
    probability_format: Annotated[str, typer.Option(metavar="png|tiff", help="tiff: "
                                                    "zlib-compressed.")] = "png",
    batch_size: Annotated[int, typer.Option(metavar="N", min=1, help="Photos per model batch.")
                          ] = ENCODE_BATCH,
    device: DeviceOption = "auto",
    workers: Annotated[Optional[int], typer.Option(metavar="N", min=1, help="Threads decoding "
                                                   "photos and writing masks (default: all "
                                                   "cores).")] = None,
    overwrite: OverwriteOption = False,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Write a validated segmentation submission for --split with a trained run.

    The run's model and recorded threshold and prompt predict every photo of the split (or of
    --images); --ensemble averages the probability maps of several runs or saved maps.

    \b
    Examples:
      magic predict seg --run runs/seg --data dataset --split test -o out/test
      magic predict seg --run runs/seg --split release2/test.json --tta hflip -o out/r2
      magic predict seg --ensemble runs/a --ensemble runs/b --data dataset -o out/ens
    """
    check_choice(tta, TTA_CHOICES, "--tta")
    check_choice(probability_format, PROBABILITY_FORMATS, "--probability-format")
    check_choice(device, DEVICE_CHOICES, "--device")
    if (run is None) == (not ensemble):
        raise typer.BadParameter("give --run RUN, or --ensemble once per member (not both)",
                                 param_hint="--run / --ensemble")
    require_modules(("torch", "transformers"), "baselines", "magic predict seg",
                    json_output=json_output)
    from baselines.seg.predict_run import PredictSegOptions, predict_seg
    from magic_submit.console import exit_with_error, messages, progress_counter, progress_enabled
    from magic_submit.errors import MagicError

    _, note = messages(quiet)
    options = PredictSegOptions(
        data=data, output=output, members=(run,) if run is not None else tuple(ensemble or ()),
        run_only=run is not None, split=split, images=images, threshold=threshold, tta=tta,
        save_probabilities=save_probabilities, probability_format=probability_format,
        batch_size=batch_size, device=device, workers=workers, overwrite=overwrite)
    try:
        with progress_counter("photos", None, enabled=progress_enabled(quiet)) as counter:
            result = predict_seg(options, note=note, on_start=counter.start, on_image=counter)
    except MagicError as error:
        exit_with_error(error, json_output=json_output)
    _show(result.record, json_output, "photos")


@predict_app.command("vqa")
def vqa_command(
    output: OutputOption,
    run: Annotated[Path, typer.Option("--run", metavar="DIR", help="Folder of a finished 'magic "
                                      "run-baseline vqa' with --method prior, text or "
                                      "bert-swin.")],
    split: SplitToPredict = "test",
    data: DataOption = None,
    device: Annotated[str, typer.Option(metavar="auto|cpu|cuda", help="bert-swin: auto, cpu or "
                                        "cuda.")] = "auto",
    overwrite: OverwriteOption = False,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Write a validated OUTPUT/submission/data_cvqa_sys.json for --split with a trained run.

    \b
    Examples:
      magic predict vqa --run runs/vqa-text --data dataset --split test -o out/vqa
      magic predict vqa --run runs/vqa-bert --split release2/test.json -o out/r2
    """
    check_choice(device, DEVICE_CHOICES, "--device")
    from baselines.vqa.predict import PredictVqaOptions, predict_vqa, run_method
    from magic_submit.console import exit_with_error, messages
    from magic_submit.errors import MagicError

    log, note = messages(quiet)
    try:
        method = run_method(run)
        require_modules(*NEEDS[method], f"a '{method}' run", json_output=json_output)
        result = predict_vqa(PredictVqaOptions(data=data, output=output, run=run, split=split,
                                               device=device, overwrite=overwrite),
                             log=log, note=note)
    except MagicError as error:
        exit_with_error(error, json_output=json_output)
    for problem in result.validation.warnings:
        note(f"{problem.code}: {problem.message}")
    _show(result.record, json_output, "encounters")
