"""Options of ``magic run-baseline vqa --method vlm|api`` (declared once, used by the command),
and the dry-run printout."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from baselines.common import TINY_RANDOM  # these modules import no torch or openai
from baselines.vqa.vlm.options import (DEFAULT_API_KEY_ENV, DEFAULT_VLM_MODEL, LONGEST_WAIT_S,
                                       MAX_TOKENS_PARAMS, VlmOptions)

Model = Annotated[str, typer.Option(metavar="ID|DIR", help=f"vlm: hub id, local folder or '{TINY_RANDOM}' (a small "
                                    "random Qwen2.5-VL built offline, smoke runs). "
                                    "HF_HUB_OFFLINE=1 is honoured.")]
Endpoint = Annotated[Optional[str], typer.Option(metavar="URL", help="api: base URL of an OpenAI-compatible "
                                                 "server, e.g. http://127.0.0.1:8000/v1 (user "
                                                 "info: basic auth; a query string: sent with "
                                                 "every request; neither is ever written).")]
ApiModel = Annotated[Optional[str], typer.Option(metavar="NAME", help="api: the model name the server serves.")]
ApiKeyEnv = Annotated[str, typer.Option(metavar="VAR", help="api: environment variable holding the key "
                                        "(never a flag value; unset: no key).")]
Concurrency = Annotated[int, typer.Option(metavar="N", min=1, help="api: requests in flight.")]
Votes = Annotated[int, typer.Option(metavar="K", min=1, help="vlm, api: requests per encounter, options "
                                    "shuffled in every vote after the first; majority vote.")]
Shots = Annotated[int, typer.Option(metavar="K", min=0, help="vlm, api: worked examples per request, the "
                                    "most similar training queries (TF-IDF), text only unless "
                                    "--shot-photos.")]
ShotPhotos = Annotated[bool, typer.Option("--shot-photos", help="vlm, api: send the worked "
                                          "examples' photos too (--max-images each).")]
Structured = Annotated[bool, typer.Option("--structured/--no-structured", help="api: ask for "
                                          "the answer's JSON schema (response_format; asked "
                                          "without it when the server refuses); vlm: only "
                                          "the tokens a JSON answer needs.")]
AllowFallback = Annotated[bool, typer.Option("--allow-fallback", help="vlm, api: accept the "
                                             "prior answer for families whose requests failed "
                                             "(exit 0; otherwise such a run exits 1).")]
ApiTimeout = Annotated[float, typer.Option(metavar="S", min=0.1, help="api: total deadline of "
                                           "one HTTP attempt (connecting, waiting, reading).")]
ApiMaxWait = Annotated[float, typer.Option(metavar="S", min=0.0, max=LONGEST_WAIT_S, help=
                                           "api: longest Retry-After waited for; a longer one "
                                           "fails the request.")]
ApiRetries = Annotated[int, typer.Option(metavar="N", min=0, help="api: retries of one request "
                                         "on 429, 5xx, timeouts and dropped connections "
                                         "(exponential backoff with jitter).")]
MaxTokensParam = Annotated[str, typer.Option(metavar="NAME", help="api: the field carrying "
                                             "--max-new-tokens: max_tokens or "
                                             "max_completion_tokens (OpenAI's reasoning "
                                             "models).")]
Retries = Annotated[int, typer.Option(metavar="N", min=0, help="vlm, api: re-asks of the families a reply "
                                      "left invalid, before the prior answer is used.")]
Temperature = Annotated[float, typer.Option(metavar="T", min=0.0, help="vlm, api: sampling temperature "
                                            "(0: greedy).")]
MaxNewTokens = Annotated[int, typer.Option(metavar="N", min=1, help="vlm, api: most tokens per reply.")]
MaxImages = Annotated[int, typer.Option(metavar="N", min=1, help="vlm, api: photos per encounter sent at "
                                        "most (in image_ids order).")]
ImageSize = Annotated[int, typer.Option(metavar="PIXELS", min=28, help="vlm, api: longer side of a sent photo, "
                                        "pixels.")]
PerFamily = Annotated[bool, typer.Option("--per-family", help="vlm, api: one request per "
                                         "question family instead of one per encounter.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="vlm, api: print the first request and "
                                      "an estimate of the run; call no model, write nothing.")]
Resume = Annotated[bool, typer.Option("--resume", help="vlm, api: reuse OUTPUT/responses.jsonl "
                                      "and ask only for the missing replies.")]

DEFAULTS = VlmOptions()
DEFAULT_MODEL, DEFAULT_KEY_ENV = DEFAULT_VLM_MODEL, DEFAULT_API_KEY_ENV


def check_model_options(method: str, endpoint: str | None, api_model: str | None,
                        dry_run: bool, max_tokens_param: str = MAX_TOKENS_PARAMS[0]) -> None:
    """Usage errors (exit 2) of the vlm/api options (the endpoint's text is never echoed: it
    may hold a key)."""
    from baselines.vqa.vlm.endpoint import parse_endpoint

    if method == "api" and not dry_run:
        for value, name in ((endpoint, "--endpoint"), (api_model, "--api-model")):
            if not value:
                raise typer.BadParameter("--method api needs it", param_hint=name)
    if endpoint:
        try:
            parse_endpoint(endpoint)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--endpoint") from None
    if max_tokens_param not in MAX_TOKENS_PARAMS:
        raise typer.BadParameter(f"one of {', '.join(MAX_TOKENS_PARAMS)}",
                                 param_hint="--max-tokens-param")
    if dry_run and method not in ("vlm", "api"):
        raise typer.BadParameter("applies to --method vlm and api", param_hint="--dry-run")


def check_failed_requests(metrics: dict[str, Any]) -> None:
    """Exit 1 (the error on stderr, after the results were shown) when answers fell back or
    lost votes because requests failed, unless --allow-fallback; a note when it did allow."""
    from baselines.vqa.vlm.failures import failed_requests_error
    from magic_submit.console import exit_with_error, warn

    error = failed_requests_error(metrics)
    if error is None:
        return
    if metrics.get("allow_fallback"):
        warn(f"{error.message} (accepted: --allow-fallback)")
        return
    exit_with_error(error)


def show_dry_run(plan: Any, json_output: bool) -> None:
    """The first request (stdout) and the estimate of the whole run."""
    from magic_submit.console import print_json, stdout

    data = plan.as_dict()
    if json_output:
        print_json(data)
        return
    photos = ", ".join(f"{p['file']} {p['stored'][0]}x{p['stored'][1]} -> sent "
                       f"{p['sent'][0]}x{p['sent'][1]}" for p in data["photos"]) or "none"
    stdout.print(f"first request: encounter {data['encounter_id']}, vote {data['vote']}, "
                 f"families {', '.join(data['families'])}\nphotos: {photos}\n"
                 f"----- text -----\n{data['text']}\n----- estimate for the whole run -----",
                 highlight=False)
    for key, value in data["estimate"].items():
        stdout.print(f"{key}: {value}", highlight=False)
