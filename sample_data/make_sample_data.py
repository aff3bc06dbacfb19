#!/usr/bin/env python
"""Write the synthetic miniature of the MEDIQA-MAGIC 2025 dataset (see README.md in this folder).

Usage: ``python sample_data/make_sample_data.py [--out DIR] [--seed 0]`` (default out: this folder).
Deterministic: one seed gives byte-identical files. Needs only numpy, pillow and tifffile, and
reads nothing but the definitions file kept next to this script.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from magic_submit import challenge as ch  # noqa: E402
from magic_submit import naming  # noqa: E402

Rng = np.random.Generator
T = tuple[str, str, str]  # one phrase as (en, zh, es)
Facts = dict[str, list[str]]  # option names per parent
SPLIT_PLAN = {"train": (40, 64, 2), "valid": (12, 20, 1), "test": (12, 20, 1)}  # enc, img, empty
FIRST_ID = {"valid": 852, "test": 908}  # train ids are drawn from ENC00001..ENC00499
GENERATED_DIRS = ("images_train", "images_valid", "images_test", ch.SEGMENTATIONS_DIR, "submission")

sys.path.insert(0, str(HERE))
from sample_text import (  # noqa: E402
    ADVICE, COLOUR_FRAMES, COLOUR_WORDS, DIAGNOSES, DISTRACTORS, MENTION_P, REPLY_FRAMES, SENTENCES,
    SILENT_REAL_P, SITE_FRAMES, SITE_WORDS, TITLES, WEIGHTS,
)

SKIN_TONES = np.array([(241, 194, 167), (224, 172, 138), (198, 140, 105), (165, 108, 76),
                       (128, 82, 55), (92, 60, 42)], np.float32)
LESION_RGB = {"pink": (232, 150, 160), "red": (190, 55, 55), "brown": (125, 75, 45),
              "blue": (95, 105, 160), "purple": (125, 55, 115), "black": (45, 35, 35),
              "white": (238, 232, 226)}
PIGMENT = {"hyperpigmentation": 0.6, "hypopigmentation": 1.3, "normal skin color": 0.9}
CLOTH_RGB = np.array([(70, 90, 130), (200, 200, 195), (60, 110, 80), (40, 40, 45)], np.float32)


# --- answers and text ---------------------------------------------------------------------------
def load_options(path: Path) -> dict[str, list[str]]:
    """English options per parent, checked against :mod:`magic_submit.challenge`."""
    defs = {d["qid"]: d["options_en"] for d in json.loads(path.read_text(encoding="utf-8"))}
    assert sorted(defs) == sorted(ch.QIDS), "the definitions do not list the 27 qids"
    for p in ch.PARENTS:
        assert all(len(defs[q]) == p.n_options for q in p.qids), p.id
        assert defs[p.qids[0]][p.nm_index] == "Not mentioned", p.id
    return {p.id: defs[p.qids[0]] for p in ch.PARENTS}


def picks(rng: Rng, weights: dict[str, float], n: int = 1) -> list[str]:
    """``n`` distinct option names drawn by weight."""
    names = list(weights)
    p = np.array([weights[k] for k in names], float)
    return [names[i] for i in rng.choice(len(names), size=n, replace=False, p=p / p.sum())]


def sample_facts(rng: Rng) -> Facts:
    """The encounter's true clinical picture: option names per parent (never NM)."""
    multiple = rng.random() < 0.65
    extent = picks(rng, {"single spot": .03, "limited area": .72, "widespread": .25} if multiple
                   else {"single spot": .45, "limited area": .55})[0]
    n_sites = 1 if not multiple else 2 + int(rng.random() < .4) if extent == "widespread" \
        else 1 + int(rng.random() < .25)
    wide = {"size of palm": .3, "larger area": .7}
    sizes = wide if extent == "widespread" else WEIGHTS["CQID012"]
    return {"CQID010": [extent], "CQID011": picks(rng, WEIGHTS["CQID011"], n_sites),
            "CQID012": picks(rng, sizes, 1 + int(multiple and rng.random() < .2)),
            "CQID015": picks(rng, WEIGHTS["CQID015"]),
            "CQID020": picks(rng, WEIGHTS["CQID020"], int(rng.choice([1, 2, 3], p=[.5, .35, .15]))),
            "CQID025": picks(rng, WEIGHTS["CQID025"]), "CQID034": picks(rng, WEIGHTS["CQID034"]),
            "CQID035": ["multiple (please specify)" if multiple else "single"],
            "CQID036": ["rough" if rng.random() < 0.55 else "smooth"]}


def choose_gold(rng: Rng, facts: Facts, mentioned: set[str],
                options: dict[str, list[str]]) -> dict[str, list[int]]:
    """Gold option indices per parent, before NM padding: the facts, or NM when unknowable."""
    gold: dict[str, list[int]] = {}
    for p in ch.PARENTS:
        if p.id in mentioned or rng.random() < SILENT_REAL_P[p.id]:
            values = [options[p.id].index(name) for name in facts[p.id]]
            if p.multi_slot and rng.random() < 0.05:
                values.append(values[0])  # the real files repeat an answer now and then
            gold[p.id] = values
        else:
            gold[p.id] = [p.nm_index]
    return gold


def padded_record(encounter_id: str, answers: dict[str, list[int]]) -> dict[str, object]:
    """One flat CVQA record: every qid in official order, multi-slot families padded with NM."""
    record: dict[str, object] = {ch.ENCOUNTER_KEY: encounter_id}
    for p in ch.PARENTS:
        values = p.padded([v for v in answers[p.id] if v != p.nm_index][: p.slots] or [p.nm_index])
        record.update({q: int(v) for q, v in zip(p.qids, values)})
    return record


def one(rng: Rng, items: list[str]) -> T:
    """A random phrase of ``items``, split into (en, zh, es)."""
    en, zh, es = items[int(rng.integers(len(items)))].split(" | ")
    return en, zh, es


def framed(rng: Rng, frames: list[str], words: list[T]) -> T:
    """A sentence frame filled with words, per language (several words joined by 'and')."""
    frame = one(rng, frames)
    en, zh, es = (frame[i].format(join.join(w[i] for w in words))
                  for i, join in enumerate((" and ", "和", " y ")))
    return en, zh, es


def compose_query(rng: Rng, facts: Facts,
                  mentioned: set[str]) -> tuple[T, list[str]]:
    """(title, content per language): mentioned facts plus distractors, shuffled, maybe HTML."""
    pieces: list[T] = []
    for pid in sorted(mentioned):
        if pid == "CQID011":
            pieces.append(framed(rng, SITE_FRAMES, [one(rng, SITE_WORDS[s]) for s in facts[pid]]))
        elif pid == "CQID034":
            pieces.append(framed(rng, COLOUR_FRAMES, [one(rng, COLOUR_WORDS[facts[pid][0]])]))
        else:  # multi-answer families may be mentioned only in part
            shown = facts[pid][: 1 + int(rng.integers(len(facts[pid])))]
            pieces.extend(one(rng, SENTENCES[pid][name]) for name in shown)
    age, male = int(rng.integers(18, 80)), bool(rng.random() < 0.5)
    pieces.append((f"I am a {age}-year-old {'man' if male else 'woman'}.",
                   f"我{age}岁，{'男' if male else '女'}。",
                   f"Soy {'un hombre' if male else 'una mujer'} de {age} años."))
    for i in rng.choice(len(DISTRACTORS), int(rng.integers(1, 3)), replace=False):
        pieces.append(one(rng, [DISTRACTORS[i]]))
    order = rng.permutation(len(pieces))
    style = str(rng.choice(["plain", "br", "p", "b"], p=[.7, .1, .1, .1]))
    content = []
    for lang, sep in enumerate((" ", "", " ")):
        parts = [pieces[i][lang] for i in order]
        if style == "br":
            content.append("<br>".join(parts))
        elif style == "p":
            content.append("".join(f"<p>{s}</p>" for s in parts))
        elif style == "b":
            content.append(f"<b>{parts[0]}</b>&nbsp;" + sep.join(parts[1:]))
        else:
            content.append(sep.join(parts))
    return one(rng, TITLES), content


def compose_responses(rng: Rng, facts: Facts, mentioned: set[str],
                      scored: bool) -> list[dict[str, object]]:
    """1-4 clinician replies; valid/test ones carry ``completeness`` and ``contains_freq_ans``."""
    main = int(rng.integers(len(DIAGNOSES)))
    itchy = "CQID025" in mentioned and facts["CQID025"] == ["yes"]
    replies = []
    for _ in range(int(rng.choice([1, 2, 3, 4], p=[.3, .35, .25, .1]))):
        dx = main if rng.random() < 0.6 else int(rng.integers(len(DIAGNOSES)))
        frame, d = one(rng, REPLY_FRAMES[: 4 if itchy else 3]), one(rng, [DIAGNOSES[dx]])
        a = one(rng, ADVICE)
        zh, en, es = (frame[i].format(d=d[i], a=a[i]) for i in (1, 0, 2))
        reply: dict[str, object] = {"author_id": f"U{int(rng.integers(1, 5000)):05d}",
                                    "content_zh": zh, "content_en": en, "content_es": es}
        if scored:
            reply["completeness"] = float(rng.choice([0.0, 0.5, 1.0], p=[.1, .5, .4]))
            reply["contains_freq_ans"] = float(dx == main)
        replies.append(reply)
    return replies


def noisy_answers(rng: Rng, gold: dict[str, list[int]]) -> dict[str, list[int]]:
    """The gold answers with the errors of a middling system."""
    out = {}
    for p in ch.PARENTS:
        values = list(gold[p.id])
        if rng.random() < 0.6:
            wrong = (values[0] + 1 + int(rng.integers(p.n_options - 1))) % p.n_options
            if p.multi_slot and values != [p.nm_index] and rng.random() < 0.5:
                values = values[:1] if len(values) > 1 else values + [wrong]
            else:
                values = [wrong]
        out[p.id] = values
    return out


def make_encounter(rng: Rng, enc: str, files: list[str], options: dict[str, list[str]],
                   scored: bool) -> tuple[dict[str, object], dict[str, list[int]], Facts]:
    """(query record, gold answers, true facts) of one encounter."""
    facts = sample_facts(rng)
    mentioned = {p for p in ch.PARENT_IDS if rng.random() < MENTION_P[p]}
    if not mentioned:  # a query says something, never everything
        mentioned = {str(rng.choice(["CQID011", "CQID025", "CQID015"]))}
    elif len(mentioned) == len(ch.PARENT_IDS):
        mentioned.discard(str(rng.choice(ch.PARENT_IDS)))
    gold = choose_gold(rng, facts, mentioned, options)
    title, content = compose_query(rng, facts, mentioned)
    author = f"U{int(rng.integers(1, 5000)):05d}"
    record: dict[str, object] = {"encounter_id": enc, "author_id": author, "image_ids": files}
    for i, lang in ((1, "zh"), (0, "en"), (2, "es")):
        record.update({f"query_title_{lang}": title[i], f"query_content_{lang}": content[i]})
    record["responses"] = compose_responses(rng, facts, mentioned, scored)
    return record, gold, facts


# --- images and masks ---------------------------------------------------------------------------
def smooth_noise(rng: Rng, h: int, w: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [-1, 1]: a coarse random grid upsampled bicubically."""
    gh, gw = max(2, cells * h // max(h, w)), max(2, cells * w // max(h, w))
    grid = Image.fromarray(rng.standard_normal((gh, gw)).astype(np.float32))
    out = np.asarray(grid.resize((w, h), Image.BICUBIC), np.float32)
    return out / max(float(np.abs(out).max()), 1e-6)


def blur(mask: np.ndarray, sigma: float) -> np.ndarray:
    """A 0/1 mask, Gaussian-blurred, as floats in [0, 1]."""
    img = Image.fromarray(mask.astype(np.uint8) * 255)
    return np.asarray(img.filter(ImageFilter.GaussianBlur(float(sigma))), np.float32) / 255.0


def shifted(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``a`` moved by (dy, dx), zero-filled."""
    out, (h, w) = np.zeros_like(a), a.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        a[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def draw_blob(draw: ImageDraw.ImageDraw, rng: Rng, cy: float, cx: float, r: float) -> None:
    """An irregular lesion outline: a radial-harmonic polygon, stretched and rotated."""
    t = np.linspace(0, 2 * np.pi, 90, endpoint=False)
    rad = np.ones_like(t)
    for k in range(2, 7):
        rad += rng.uniform(0, 0.35 / k) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    s, rot = rng.uniform(0.7, 1.35), rng.uniform(0, np.pi)
    x, y = r * rad * s * np.cos(t), r * rad / s * np.sin(t)
    xs, ys = cx + x * np.cos(rot) - y * np.sin(rot), cy + x * np.sin(rot) + y * np.cos(rot)
    draw.polygon([(float(a), float(b)) for a, b in zip(xs, ys)], fill=1)


def layout(rng: Rng, h: int, w: int, n_blobs: int) -> tuple[np.ndarray, np.ndarray]:
    """(lesion mask, background mask): lesions cover about 5-35% of the image."""
    bg = np.zeros((h, w), bool)
    if rng.random() < 0.35:  # a strip of clothing or wall along one edge
        edge, (yy, xx) = int(rng.integers(4)), np.mgrid[0:h, 0:w]
        along, across, size = (xx, yy, h) if edge < 2 else (yy, xx, w)
        wave = np.sin(along / rng.uniform(12, 40) + rng.uniform(0, 6))
        depth = size * rng.uniform(.06, .16) + size * .03 * wave
        bg = across < depth if edge % 2 == 0 else across > size - depth
    frac = rng.uniform(0.06, 0.33)
    for _ in range(8):
        img = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(img)
        for share in rng.dirichlet(np.full(n_blobs, 3.0)):
            r = np.sqrt(frac * h * w * share / np.pi)
            cy = rng.uniform(min(r, h / 2), max(h - r, h / 2))
            cx = rng.uniform(min(r, w / 2), max(w - r, w / 2))
            draw_blob(draw, rng, cy, cx, r)
        mask = np.asarray(img, bool) & ~bg
        if 0.05 <= mask.mean() <= 0.35:
            break
    return mask, bg


def render(rng: Rng, mask: np.ndarray, bg: np.ndarray, colour: str, rough: bool) -> np.ndarray:
    """A skin-coloured RGB 'photo' with the lesion painted in its colour and texture."""
    h, w = mask.shape
    tone = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))] * rng.uniform(0.95, 1.05)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / max(h, w)
    gy, gx = rng.uniform(-1, 1, 2)
    light = 1 + 0.15 * (gx * (xx - .5) + gy * (yy - .5)) + 0.04 * smooth_noise(rng, h, w, 4)
    grain = 5 * smooth_noise(rng, h, w, 40) + 3 * smooth_noise(rng, h, w, 150)
    skin = tone * light[..., None] + grain[..., None]
    if colour in LESION_RGB:
        lesion = np.broadcast_to(np.array(LESION_RGB[colour], np.float32), (h, w, 3))
    elif colour in PIGMENT:
        shade = np.clip(tone * PIGMENT[colour] + 25 * (PIGMENT[colour] > 1), 0, 255)
        lesion = np.broadcast_to(shade, (h, w, 3))
    else:  # a combination: red and brown in patches
        t = np.clip(0.5 + 1.5 * smooth_noise(rng, h, w, 10), 0, 1)[..., None]
        lesion = t * np.array(LESION_RGB["red"]) + (1 - t) * np.array(LESION_RGB["brown"])
    lesion = lesion * (1 + 0.12 * smooth_noise(rng, h, w, 14))[..., None]
    alpha = (blur(mask, rng.uniform(1.5, 3.5)) * rng.uniform(0.8, 0.95))[..., None]
    img = skin * (1 - alpha) + lesion * alpha
    if rough:  # pale scale flecks and a grainier surface inside the lesion
        flecks = blur((rng.random((h, w)) < 0.07) & mask, 0.8)
        img += (70 * flecks + 6 * rng.standard_normal((h, w)) * mask)[..., None]
    cloth_rgb = CLOTH_RGB[int(rng.integers(len(CLOTH_RGB)))]
    cloth = cloth_rgb + 8 * smooth_noise(rng, h, w, 20)[..., None]
    img = np.where(bg[..., None], cloth, img) + rng.normal(0, 1.5, (h, w, 1))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def perturb(rng: Rng, mask: np.ndarray, sigma: float, bias: float, jitter: float,
            shift: int) -> np.ndarray:
    """Another outline of ``mask``: blurred, jittered, thresholded (bias > 0 erodes), shifted."""
    h, w = mask.shape
    soft = blur(mask, sigma)
    soft += jitter * 4 * soft * (1 - soft) * smooth_noise(rng, h, w, int(rng.integers(8, 20)))
    dy, dx = (int(v) for v in rng.integers(-shift, shift + 1, 2))
    return shifted(soft > 0.5 + bias, dy, dx)


def annotators(rng: Rng, mask: np.ndarray, n_blobs: int, at_least3: bool) -> dict[str, np.ndarray]:
    """2-4 annotators' masks (a varying subset of ann0..ann3), each a slightly different outline."""
    n = int(rng.choice([3, 4]) if at_least3 else rng.choice([2, 3, 4], p=[.15, .7, .15]))
    r_eq = np.sqrt(mask.sum() / np.pi / n_blobs)
    out = {}
    for name in sorted(str(a) for a in rng.choice(ch.ANNOTATORS, n, replace=False)):
        m = perturb(rng, mask, rng.uniform(2, 3 + 0.15 * r_eq), rng.uniform(-.25, .25), 0.4,
                    max(2, min(mask.shape) // 60))
        out[name] = (m if m.any() else mask).astype(np.uint8)
    return out


def system_mask(rng: Rng, mask: np.ndarray, n_blobs: int) -> np.ndarray:
    """A middling prediction: a coarser, displaced outline, sometimes with a spurious blob."""
    h, w = mask.shape
    r_eq = np.sqrt(mask.sum() / np.pi / n_blobs)
    bias = float(rng.choice([-1, 1])) * rng.uniform(.18, .35)
    pred = perturb(rng, mask, rng.uniform(.22, .48) * r_eq, bias, 0.3, max(2, int(0.4 * r_eq)))
    if rng.random() < 0.4:
        img = Image.new("L", (w, h), 0)
        draw_blob(ImageDraw.Draw(img), rng, rng.uniform(0, h), rng.uniform(0, w), 0.5 * r_eq)
        pred |= np.asarray(img, bool)
    return (pred if pred.any() else blur(mask, 3) > 0.3).astype(np.uint8)


# --- the split plan and the writers -------------------------------------------------------------
def plan_split(rng: Rng, split: str) -> list[tuple[str, list[str]]]:
    """(encounter id, image file names) for every encounter of the split, in id order."""
    n_enc, n_img, _ = SPLIT_PLAN[split]
    if split == "train":
        numbers = sorted(int(v) + 1 for v in rng.choice(499, n_enc, replace=False))
    else:
        numbers = list(range(FIRST_ID[split], FIRST_ID[split] + n_enc))
    counts = np.ones(n_enc, int)
    if split == "train":
        counts[int(rng.integers(n_enc))] = 5
    while counts.sum() < n_img:
        i = int(rng.integers(n_enc))
        counts[i] += int(counts[i] < 4)
    plan = []
    for k, (num, n) in enumerate(zip(numbers, counts)):
        nums = list(range(1, n + 1))
        if split == "train" and k == int(np.flatnonzero(counts == 1)[1]):
            nums = [3]  # like the real ENC00039: only _00003
        elif split == "train" and k == int(np.flatnonzero(counts == 2)[0]):
            nums = [1, 4]
        elif rng.random() < 0.12:
            nums = sorted(int(v) for v in rng.choice(np.arange(1, n + 3), n, replace=False))
        exts = rng.choice([".jpg", ".png", ".jpeg"], n, p=[.84, .09, .07])
        plan.append((f"ENC{num:05d}", [f"IMG_ENC{num:05d}_{j:05d}{e}" for j, e in zip(nums, exts)]))
    for ext, k in ((".png", 1), (".jpeg", 2)):  # every split has both rarer extensions
        if not any(f.endswith(ext) for _, fs in plan for f in fs):
            enc, fs = plan[k]
            plan[k] = (enc, [naming.image_id_from_file(fs[0]) + ext] + fs[1:])
    return plan


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_mask(path: Path, mask: np.ndarray) -> None:
    tifffile.imwrite(path, mask.astype(np.uint8), compression="zlib", photometric="minisblack")


def write_images(rng: Rng, file_name: str, facts: Facts, dirs: dict[str, Path],
                 empty_annotator: bool) -> None:
    """One photo, its annotators' masks and, for test, the sample system's mask."""
    image_id = naming.image_id_from_file(file_name)
    lo, hi = (200, 380) if file_name.endswith(".png") else (220, 700)  # keep PNG photos small
    h, w = (int(v) for v in rng.integers(lo, hi, 2))
    w += int(h == w)
    n_blobs = int(rng.integers(4, 8) if facts["CQID010"] == ["widespread"] else
                  rng.integers(2, 5) if facts["CQID035"] == ["multiple (please specify)"] else 1)
    mask, bg = layout(rng, h, w, n_blobs)
    img = Image.fromarray(render(rng, mask, bg, facts["CQID034"][0], facts["CQID036"] == ["rough"]))
    if file_name.endswith(".png"):
        img.save(dirs["images"] / file_name, format="PNG", compress_level=9)
    else:
        img.save(dirs["images"] / file_name, format="JPEG", quality=85)
    anns = annotators(rng, mask, n_blobs, empty_annotator)
    if empty_annotator:
        anns[str(rng.choice(sorted(anns)))][:] = 0
    for ann, m in anns.items():
        write_mask(dirs["masks"] / naming.mask_file_name(image_id, ann), m)
    if "sys" in dirs:
        write_mask(dirs["sys"] / naming.mask_file_name(image_id), system_mask(rng, mask, n_blobs))


def generate(out: Path, seed: int) -> None:
    """Write the whole miniature dataset under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    if out.resolve() != HERE:
        shutil.copyfile(HERE / ch.DEFINITIONS_FILE, out / ch.DEFINITIONS_FILE)
    options = load_options(HERE / ch.DEFINITIONS_FILE)
    for name in GENERATED_DIRS:
        shutil.rmtree(out / name, ignore_errors=True)
    sys_records = []
    for si, split in enumerate(ch.SPLITS):
        split_rng = np.random.default_rng([seed, si])
        plan = plan_split(split_rng, split)
        all_files = [f for _, fs in plan for f in fs]
        empty = set(split_rng.choice(all_files, SPLIT_PLAN[split][2], replace=False).tolist())
        dirs = {"images": out / ch.images_dir_name(split),
                "masks": out / ch.SEGMENTATIONS_DIR / split}
        if split == "test":
            dirs["sys"] = out / "submission" / ch.MASKS_PRED_DIR
        for d in dirs.values():
            d.mkdir(parents=True)
        queries, golds = [], []
        for enc, files in plan:
            rng = np.random.default_rng([seed, si, int(enc[3:])])
            record, gold, facts = make_encounter(rng, enc, files, options, scored=split != "train")
            queries.append(record)
            golds.append(padded_record(enc, gold))
            if split == "test":
                sys_records.append(padded_record(enc, noisy_answers(rng, gold)))
            for file_name in files:
                number = int(naming.image_id_from_file(file_name)[-5:])
                image_rng = np.random.default_rng([seed, si, int(enc[3:]), number])
                write_images(image_rng, file_name, facts, dirs, file_name in empty)
        write_json(out / ch.queries_file(split), queries)
        write_json(out / ch.cvqa_gold_file(split), golds)
    write_json(out / "submission" / ch.CVQA_SUBMISSION_FILE, sys_records)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: here)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args(argv)
    generate(args.out, args.seed)


if __name__ == "__main__":
    main()
