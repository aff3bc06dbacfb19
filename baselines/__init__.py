"""Baselines for both subtasks: CLIPSeg segmentation and closed visual question answering."""
