"""The kernel's pytest plugin (kernel.testing) gives lyo_app, lyo_client and lyo_server;
choosing the plugins under test is all a plugin author's conftest has to do."""

from __future__ import annotations

import pytest
from lyo_hello import plugin as hello

from kernel import Identity
from kernel.testing import token_plugin

greeter = Identity(id="ada", permissions=frozenset({"hello:greet"}), kind="user")


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [hello, token_plugin({"ada-token": greeter})]
