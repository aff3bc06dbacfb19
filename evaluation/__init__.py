"""Scorers that reproduce the official MEDIQA-MAGIC 2025 evaluation, number for number."""
