"""Lyo's ``learning`` plugin: courses, lessons, enrollments and progress.

Other plugins use :mod:`lyo_learning.api`; everything else here is implementation."""
