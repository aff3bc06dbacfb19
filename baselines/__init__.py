"""Baselines for both subtasks: CLIPSeg segmentation and closed visual question answering.

Shared by both: :mod:`~baselines.common` (names), :mod:`~baselines.hub` (loading pretrained
models, ``tiny-random``) and :mod:`~baselines.runtime` (device, precision, seeds, the optimiser
step, torchrun).
"""
