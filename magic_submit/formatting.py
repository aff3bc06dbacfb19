"""How numbers are shown: the one rule for NaN in tables, pages and CSV files.

>>> format_value(0.123456), format_value(float("nan")), format_value(12), format_value(0.5, 3)
('0.1235', 'NaN', '12', '0.500')
>>> blank_nan(float("nan")), blank_nan(0.5), blank_nan(3)
('', 0.5, 3)
"""

from __future__ import annotations

import math


def format_value(value: object, digits: int = 4) -> str:
    """A float with ``digits`` decimals (``NaN`` as is); anything else as ``str``."""
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def blank_nan(value: object) -> object:
    """NaN as an empty CSV cell; every other value unchanged."""
    return "" if isinstance(value, float) and math.isnan(value) else value
