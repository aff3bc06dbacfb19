"""CLIPSeg for the baseline: loading, frozen encoders, and cached activations equal to the model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from seg_support import tiny_model, torch

from baselines.seg.model import (
    decode, encode_images, encode_prompts, freeze_encoders, load_clipseg, model_source,
)
from baselines.seg.prompts import tokenize_prompts
from baselines.common import TINY_RANDOM
from baselines.seg.tiny import build_tokenizer, rd64_refined_config
from magic_submit.errors import MagicError


def _inputs(processor, n: int = 3):
    generator = torch.Generator().manual_seed(3)
    pixels = torch.randn((n, 3, 352, 352), generator=generator)
    prompts = ["itchy red rash on the arm", "a dry scaly patch", "mole"][:n]
    tokens = tokenize_prompts(processor.tokenizer, prompts)
    return pixels, tokens.input_ids, tokens.attention_mask


def test_decoder_on_cached_activations_equals_the_full_forward() -> None:
    model, processor = tiny_model()
    model.eval()
    pixels, ids, mask = _inputs(processor)
    with torch.no_grad():
        full = model(input_ids=ids, attention_mask=mask, pixel_values=pixels).logits
        # encoded in other batch groupings than the decoder sees them
        activations = [torch.cat(parts) for parts in zip(encode_images(model, pixels[:1]),
                                                         encode_images(model, pixels[1:]))]
        conditional = torch.cat([encode_prompts(model, ids[2:], mask[2:]),
                                 encode_prompts(model, ids[:2], mask[:2])])[[1, 2, 0]]
        cached = decode(model.decoder, activations, conditional)
    assert cached.shape == full.shape == (3, 352, 352)
    torch.testing.assert_close(cached, full, rtol=1e-5, atol=1e-5)
    assert len(activations) == len(model.config.extract_layers)


def test_only_the_decoder_trains() -> None:
    model, processor = tiny_model()
    trainable = freeze_encoders(model)
    assert all(not p.requires_grad for p in model.clip.parameters())
    assert {id(p) for p in trainable} == {id(p) for p in model.decoder.parameters()}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pixels, ids, mask = _inputs(processor, 2)
    optimizer = torch.optim.AdamW(trainable, lr=1e-2)
    logits = decode(model.decoder, encode_images(model, pixels), encode_prompts(model, ids, mask))
    torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.ones_like(logits)).backward()
    optimizer.step()
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith("decoder.") for k in changed)


def test_tiny_random_loads_through_from_pretrained_and_is_deterministic() -> None:
    with model_source(TINY_RANDOM) as first:
        assert (Path(first) / "config.json").is_file()
        a, processor = load_clipseg(first)
    with model_source(TINY_RANDOM) as second:
        b, _ = load_clipseg(second)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    config = a.config
    assert config.use_complex_transposed_convolution and config.vision_config.patch_size == 16
    assert processor.image_processor.size["height"] == 352
    ids = processor.tokenizer("red rash")["input_ids"]
    assert ids[0] == config.text_config.bos_token_id and ids[-1] == config.text_config.eos_token_id
    # the random decoder starts near 0 logits, not at the hundreds transformers' init gives
    with torch.no_grad():
        pixels, ids, mask = _inputs(processor, 1)
        logits = a(input_ids=ids, attention_mask=mask, pixel_values=pixels).logits
    assert logits.abs().max() < 10


def test_full_size_random_config_is_the_rd64_refined_architecture() -> None:
    config = rd64_refined_config(build_tokenizer())
    assert config.vision_config.patch_size == 16 and config.vision_config.hidden_size == 768
    assert config.vision_config.num_hidden_layers == 12 and config.text_config.hidden_size == 512
    assert list(config.extract_layers) == [3, 6, 9] and config.reduce_dim == 64
    assert config.use_complex_transposed_convolution and config.projection_dim == 512


def test_unloadable_models_are_clear_errors(tmp_path: Path, sample_data: Path) -> None:
    with pytest.raises(MagicError, match="model folder not found"):
        load_clipseg(str(tmp_path / "nowhere"))
    # huggingface_hub reads HF_HUB_OFFLINE when imported: a fresh process, as a user would run it
    done = subprocess.run(
        [sys.executable, "-m", "magic_submit", "run-baseline", "seg", "--data", str(sample_data),
         "--output", str(tmp_path / "out"), "--device", "cpu", "--model",
         "magic-tests/no-such-model"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")})
    assert done.returncode == 1
    assert "cannot load CLIPSeg model 'magic-tests/no-such-model'" in done.stderr
    assert "HF_HUB_OFFLINE is set" in done.stderr and "Traceback" not in done.stderr


# --- baselines.hub: the one from_pretrained wrapper (CLIPSeg, BERT, Swin) -------------------------
def test_load_pretrained_passes_hub_ids_and_resolves_folders(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from baselines.hub import load_pretrained

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # cache only: no hub probe
    seen: list[str] = []
    assert load_pretrained(lambda s: seen.append(s) or "loaded", "org/model", "thing") == "loaded"
    (tmp_path / "folder").mkdir()
    load_pretrained(seen.append, str(tmp_path / "folder"), "thing")
    assert seen == ["org/model", str(tmp_path / "folder")]
    for missing in (str(tmp_path / "nowhere"), "./relative-nowhere", "~/magic-no-such-folder"):
        with pytest.raises(MagicError, match="image model folder not found"):
            load_pretrained(seen.append, missing, "image model")
    (tmp_path / "file.bin").write_bytes(b"")
    with pytest.raises(MagicError, match="folder not found"):  # an existing file is no folder
        load_pretrained(seen.append, str(tmp_path / "file.bin"), "text model")
    assert len(seen) == 2


@pytest.mark.parametrize("failure", [OSError("no file"), ValueError("bad config"),
                                     KeyError("model_type"), RuntimeError("size mismatch")])
def test_every_loading_failure_is_a_clear_error(failure: Exception,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from baselines.hub import load_pretrained

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    def load(source: str) -> None:
        raise failure

    with pytest.raises(MagicError, match=f"cannot load text model 'org/model' "
                                         f"\\({type(failure).__name__}") as caught:
        load_pretrained(load, "org/model", "text model")
    assert "tiny-random" in caught.value.hint or "HF_HUB_OFFLINE" in caught.value.hint
