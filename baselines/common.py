"""Names shared by the segmentation and the CVQA baselines (no torch, no transformers here)."""

from __future__ import annotations

TINY_RANDOM = "tiny-random"  # --model / --model-text / --model-image: a small model built offline
METRICS_FILE = "metrics.json"  # OUTPUT/metrics.json: options, figures, timings
SUBMISSION_DIR = "submission"  # OUTPUT/submission/: the files a participant uploads
