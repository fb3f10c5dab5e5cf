"""The public surface is recorded; changing it means changing the record too."""

from __future__ import annotations

import kernel
from kernel.plugins import hookspecs

from .public_api import RECORD, render


def test_public_api_matches_the_record() -> None:
    assert RECORD.read_text() == render(), (
        "kernel.__all__, a public class's methods, a Kernel attribute or a hook spec changed; "
        "review the change for plugin authors, "
        "then run: python tests/public_api.py --write"
    )


def test_every_hook_is_documented() -> None:
    for name in hookspecs.hook_names():
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name


def test_all_names_exist() -> None:
    for name in kernel.__all__:
        assert hasattr(kernel, name), name
