"""HTML fragments of the report: escaped tables, the gallery, the confusion tables, the page shell.

Every text that comes from files is escaped; images are relative ``src`` paths beside the page.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from magic_submit.formatting import format_value
from magic_submit.reporting.confusion import ConfusionMatrix
from magic_submit.reporting.gallery import GalleryItem
from magic_submit.reporting.overlay import ANNOTATOR_COLOURS, PREDICTION_COLOUR, hex_colour

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .25em .5em; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
.plots img { max-width: 48%; margin-right: 1%; border: 1px solid #eee; }
.gallery { display: flex; flex-wrap: wrap; gap: 12px; }
.gallery figure { margin: 0; border: 1px solid #ddd; padding: 6px; min-width: 220px; }
.gallery img { display: block; max-width: 384px; }
.gallery figcaption { font-size: .85em; } .gallery table { margin: .3em 0 0; font-size: .8em; }
.swatch { display: inline-block; width: 1em; height: 1em; vertical-align: middle;
          border: 1px solid #555; margin-right: .3em; }
.legend span.item { margin-right: 1.2em; } .nan { color: #b00; font-weight: bold; }
.banner { background: #fff3cd; border: 2px solid #d39e00; padding: .4em 1em; margin: 1em 0; }
.note { color: #555; font-size: .9em; } img.broken { outline: 4px solid red; }
.confusion { display: flex; flex-wrap: wrap; gap: 18px; } .confusion > div { max-width: 100%;
          overflow-x: auto; } .confusion td.diag { font-weight: bold;
          outline: 2px solid #333; }
"""

# Marks every image that failed to load (red outline) and records the count on <body>, so a
# person sees a broken picture at once and a headless browser can check the page.
IMAGE_CHECK_SCRIPT = """
window.addEventListener("load", function () {
  var broken = 0;
  document.querySelectorAll("img").forEach(function (img) {
    if (!img.complete || img.naturalWidth === 0) { broken += 1; img.classList.add("broken"); }
  });
  document.body.setAttribute("data-broken-images", String(broken));
  document.body.setAttribute("data-images-checked", "true");
});
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]],
          text_columns: Sequence[int] = (0,), attrs: str = "") -> str:
    """An HTML table; the columns listed in ``text_columns`` are left-aligned text."""
    def cell(tag: str, index: int, value: object) -> str:
        cls = ' class="text"' if index in text_columns else ""
        return f"<{tag}{cls}>{esc(format_value(value))}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def warning_banner(warnings: Sequence[str]) -> str:
    """A box above the scores listing every slip that changes a figure ('' when there is none)."""
    if not warnings:
        return ""
    items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
    return (f'<div class="banner" id="warnings"><strong>{len(warnings)} warning(s): scored as the '
            f"official scorer does, but probably not what was meant</strong><ul>{items}</ul></div>")


def image(src: str, alt: str, attrs: str = "") -> str:
    return f'<img src="{esc(src)}" alt="{esc(alt)}"{attrs}>'


def legend(annotators: bool = True) -> str:
    """The outline colours: each annotator's (unless ``annotators=False``) and the prediction's."""
    items = [(name, colour) for name, colour in ANNOTATOR_COLOURS.items()] if annotators else []
    items.append(("prediction", PREDICTION_COLOUR))
    return '<p class="legend">' + "".join(
        f'<span class="item"><span class="swatch" style="background:{hex_colour(c)}"></span>'
        f"{esc(n)}</span>" for n, c in items) + "</p>"


def gallery_figure(item: GalleryItem, swatches: bool = True) -> str:
    """One drawn image with its scores per annotator (``swatches``: their outline colours)."""
    r = item.result
    best = r.macro_values()[0]  # the best annotator's Jaccard, NaN as officially (gallery order)
    flag = ' <span class="nan">NaN</span>' if r.has_nan else ""
    rows = []
    for annotator, jac, dice, gold in zip(r.annotators, r.jaccards, r.dices, r.gold_pixels):
        colour = hex_colour(ANNOTATOR_COLOURS.get(annotator, (255, 255, 255)))
        swatch = f'<span class="swatch" style="background:{colour}"></span>' if swatches else ""
        rows.append(f'<tr><td class="text">{swatch}{esc(annotator)}</td>'
                    f"<td>{format_value(jac, 3)}</td><td>{format_value(dice, 3)}</td>"
                    f"<td>{gold}</td></tr>")
    photo_note = "" if item.has_photo else ' <span class="note">(no photo: grey background)</span>'
    missing = ' <span class="nan">no prediction</span>' if r.missing_prediction else ""
    picture = image(item.file, r.image_id, ' width="{}" height="{}"'.format(*item.size))
    return (f'<figure class="gallery-item" id="img-{esc(r.image_id)}">{picture}'
            f"<figcaption><b>{esc(r.image_id)}</b> best Jaccard {format_value(best, 3)}"
            f"{flag}{missing}"
            f"{photo_note}<table><thead><tr><th class=\"text\">annotator</th><th>Jaccard</th>"
            f"<th>Dice</th><th>gold px</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f'<span class="note">prediction: {r.pred_pixels} px</span></figcaption></figure>')


def gallery_section(items: Sequence[GalleryItem], *, annotators: bool = True,
                    note: str = "") -> str:
    """The worst images' section: heading, order, outline legend, one figure per item."""
    return (f'<section id="gallery-section"><h2>The {len(items)} worst images</h2>'
            '<p class="note">Ordered by the best annotator\'s Jaccard, lowest first (NaN images '
            f"first). {esc(note)} Outlines:</p>" + legend(annotators)
            + '<div class="gallery" id="gallery">'
            + "".join(gallery_figure(i, swatches=annotators) for i in items) + "</div></section>")


def confusion_table(matrix: ConfusionMatrix) -> str:
    """A heat-shaded table: rows gold options, columns predicted options (and "other")."""
    peak = max(int(matrix.counts.max()), 1)
    head = "".join(f"<th>{esc(label)}</th>" for label in matrix.column_labels)
    body = []
    for g, label in enumerate(matrix.labels):
        cells = []
        for p, count in enumerate(matrix.counts[g]):
            shade = f"rgba(0,114,178,{0.85 * count / peak:.2f})" if count else "transparent"
            cls = ' class="diag"' if g == p else ""
            cells.append(f'<td{cls} style="background:{shade}">{count or ""}</td>')
        body.append(f'<tr><th class="text">{esc(label)}</th>{"".join(cells)}</tr>')
    return (f'<div><h3>{esc(matrix.title)}</h3><table class="confusion-matrix" '
            f'data-parent="{esc(matrix.parent)}"><thead><tr><th class="text">gold \\ predicted'
            f"</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f'<p class="note">{matrix.n_encounters} encounters</p></div>')


def page(title: str, sections: Sequence[str], *, extra_css: str = "") -> str:
    """The whole page: ``sections`` in a body styled by :data:`CSS` (then ``extra_css``)."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}{extra_css}</style>"
            f"<script>{IMAGE_CHECK_SCRIPT}</script></head>\n<body>\n"
            + "\n".join(sections) + "\n</body></html>\n")
