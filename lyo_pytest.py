"""lyo-kernel's pytest entry point (``pytest11``), loaded by every pytest run in an
environment where lyo-kernel is installed: it imports nothing but the standard library,
so a run that never uses the kernel's fixtures pays nothing and cannot break.

The fixtures (``lyo_app``, ``lyo_client``, ``lyo_server``, ``lyo_worker``, ...) live in
:mod:`kernel.testing`; they are registered when pytest-asyncio is installed
(``pip install 'lyo-kernel[testing]'``), and otherwise a test asking for one is told
what to install.
"""

from __future__ import annotations

import importlib.util
from typing import Any

FIXTURES = "lyo-kernel-fixtures"


def pytest_configure(config: Any) -> None:
    manager = config.pluginmanager
    if manager.has_plugin(FIXTURES) or importlib.util.find_spec("pytest_asyncio") is None:
        return
    from kernel import testing

    if not manager.is_registered(testing):  # a conftest may have named it already
        manager.register(testing, FIXTURES)


def pytest_runtest_setup(item: Any) -> None:
    """Without pytest-asyncio, a test asking for a ``lyo_*`` fixture is told why it is
    missing instead of "fixture not found"."""
    if item.config.pluginmanager.has_plugin(FIXTURES):
        return
    wanted = [name for name in getattr(item, "fixturenames", ()) if name.startswith("lyo_")]
    if wanted and importlib.util.find_spec("pytest_asyncio") is None:
        import pytest

        pytest.fail(
            f"{', '.join(wanted)}: lyo-kernel's fixtures need its testing extra: "
            "pip install 'lyo-kernel[testing]'",
            pytrace=False,
        )
