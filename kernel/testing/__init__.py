"""pytest fixtures and helpers for plugin authors: a pytest plugin, registered by
lyo-kernel's entry point (``lyo_pytest``) wherever ``lyo-kernel[testing]`` is installed.

Choose your plugins by overriding ``lyo_plugins`` in your ``conftest.py``::

    @pytest.fixture
    def lyo_plugins():
        return [my_plugin]

then use ``lyo_app`` (a started app) and ``lyo_client`` (its test client), or
``lyo_server`` for a real Hypercorn server on a free port. ``token_plugin`` gives
you signed-in identities without an authentication plugin; ``check_migrations``
drives your plugin's migrations up, down and up again.
"""

from kernel.testing.fixtures import (
    lyo_app,
    lyo_client,
    lyo_database_url,
    lyo_discover,
    lyo_plugins,
    lyo_redis_url,
    lyo_server,
    lyo_settings,
    lyo_worker,
)
from kernel.testing.plugins import Recorder, make_plugin, recorder, token_plugin
from kernel.testing.services import (
    POSTGRES_SERVER,
    check_migrations,
    free_port,
    lyo_command,
    serve,
    table_names,
    temporary_database,
    test_database_kind,
    test_redis_url,
    wait_until_ready,
)

__all__ = [
    "POSTGRES_SERVER",
    "Recorder",
    "check_migrations",
    "free_port",
    "lyo_app",
    "lyo_client",
    "lyo_command",
    "lyo_database_url",
    "lyo_discover",
    "lyo_plugins",
    "lyo_redis_url",
    "lyo_server",
    "lyo_settings",
    "lyo_worker",
    "make_plugin",
    "recorder",
    "serve",
    "table_names",
    "temporary_database",
    "test_database_kind",
    "test_redis_url",
    "token_plugin",
    "wait_until_ready",
]
