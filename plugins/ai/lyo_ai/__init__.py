"""Lyo plugin ``ai``: course generation with Gemma 3, as a task with live progress."""

__version__ = "0.1.0"
