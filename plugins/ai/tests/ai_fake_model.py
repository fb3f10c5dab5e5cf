"""A plugin for a real ``lyo worker`` in tests: it installs :class:`FakeGenerator` in the
worker, standing in for a loaded model (the test environment has no torch). Loaded by
import path (``LYO_PLUGINS__MODULES``), as the ``lyo_worker`` fixture does."""

from __future__ import annotations

from ai_support import FakeGenerator
from lyo_ai.workers import RUNNER

from kernel import Kernel, Manifest, hookimpl


@hookimpl
def manifest() -> Manifest:
    return Manifest(name="fakemodel", version="0.1.0", kernel=">=0.1,<0.2")


@hookimpl
def startup(kernel: Kernel) -> None:
    RUNNER.install(FakeGenerator())
