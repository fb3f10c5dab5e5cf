"""An ``auth`` stand-in for ``lyo`` commands run without the real auth plugin installed
(``lyo makemigrations learning``, the benchmark's server): it satisfies the manifest's
``needs=("authenticate",)`` and authenticates nobody.

    PYTHONPATH=plugins/learning/tests LYO_PLUGINS__MODULES=learning_auth_standin \\
        LYO_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        lyo makemigrations learning --name init
"""

from __future__ import annotations

from kernel import Credentials, Identity, Manifest, hookimpl


@hookimpl
def manifest() -> Manifest:
    return Manifest(name="auth", version="0.1.0", description="Stand-in for tests and tools.")


@hookimpl
def authenticate(credentials: Credentials) -> Identity | None:
    return None
