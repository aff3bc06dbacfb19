"""Mask file names: which split image a name was meant for, and why the scorer will not match it.

The scorer's own reading of a name is :func:`magic_submit.naming.parse_mask_file_name` (and
:func:`~magic_submit.naming.is_scanned_mask_name` for which files it sees); this module only adds
the *intent* behind a wrong name, so that a problem names the image and the right name.

>>> ids = {"IMG_ENC00908_00001"}
>>> [intended_image_id(n, ids) for n in ("IMG_ENC00908_00001.jpg_mask_sys.tiff",
...  "IMG_ENC00908_00001_mask_mask_sys.tiff", "IMG_ENC00908_00001.png", "IMG_ENC00909_00001.png")]
['IMG_ENC00908_00001', 'IMG_ENC00908_00001', 'IMG_ENC00908_00001', None]
>>> name_problem("IMG_ENC00908_00001_mask_mask_sys.tiff", ids, "sys")[:2]
('IMG_ENC00908_00001', 'mask-name-double-mask')
"""

from __future__ import annotations

import re
from collections.abc import Container
from pathlib import PurePath

from magic_submit.naming import (
    IMAGE_ID_PATTERN, MASK_EXTENSION, MASK_SEPARATOR, is_scanned_mask_name, mask_file_name,
    parse_mask_file_name,
)

_ID_PREFIX = re.compile(r"^(IMG_[^_.]+_[^_.]+)")


def extension(name: str) -> str:
    return PurePath(name).suffix


def intended_image_id(name: str, known: Container[str]) -> str | None:
    """The image id of ``known`` that a file name was meant for, or None."""
    head = name.split(".")[0]
    for candidate in (head.split("_mask")[0], head):
        if candidate in known:
            return candidate
    match = _ID_PREFIX.match(name)
    return match[1] if match and match[1] in known else None


def name_problem(name: str, known: Container[str], suffix: str) -> tuple[str | None, str, str]:
    """(intended image id, code, message) for a top-level file the scorer will not match.

    Call it only for names that are not ``{split image}_mask_{suffix}.tiff``.
    """
    intended = intended_image_id(name, known)
    if intended is None:
        if not is_scanned_mask_name(name):
            return None, "file-ignored", "not a *.tiff mask of the split: the scorer ignores it"
        image_id = parse_mask_file_name(name)[0]
        if IMAGE_ID_PATTERN.match(image_id):
            return image_id, "mask-extra-image", f"{image_id} is not an image of the split"
        return None, "file-ignored", f"read as image '{image_id}', which is not in the split"
    right = mask_file_name(intended, suffix)
    if not is_scanned_mask_name(name):
        return intended, "mask-extension", (f"'{extension(name) or 'no extension'}' is not read: the "
                                            f"scorer reads only '*{MASK_EXTENSION}'; expected {right}")
    image_id, labeler = parse_mask_file_name(name)
    if labeler == suffix:  # the id part is wrong
        if image_id.startswith(intended + "."):
            return intended, "mask-name-image-extension", (f"the scorer reads the image id "
                                                           f"'{image_id}'; expected {right}")
        return intended, "mask-name-format", f"the scorer reads the image id '{image_id}'; expected {right}"
    if MASK_SEPARATOR not in name:
        return intended, "mask-name-format", f"no '{MASK_SEPARATOR}{suffix}' in the name; expected {right}"
    if labeler.endswith("_" + suffix) or labeler == f"mask_{suffix}":
        return intended, "mask-name-double-mask", (f"the scorer reads the suffix '{labeler}'; "
                                                   f"expected {right}")
    return intended, "mask-wrong-suffix", f"suffix '{labeler}' instead of '{suffix}'; expected {right}"
