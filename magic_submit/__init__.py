"""magic: MEDIQA-MAGIC 2025 submission checks, official-equivalent scoring and baselines."""

__version__ = "0.1.0"
