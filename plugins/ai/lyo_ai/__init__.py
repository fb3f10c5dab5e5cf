"""Lyo plugin ``ai``: course generation with Gemma 3, as a task with live progress.

Other plugins use :mod:`lyo_ai.api`; everything else here is implementation."""
