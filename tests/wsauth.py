"""A plugin module for tests that start `lyo serve` as a process: token "good" signs in."""

from __future__ import annotations

from kernel import Credentials, Identity, Manifest, hookimpl


@hookimpl
def manifest() -> Manifest:
    return Manifest(name="wsauth", version="0.1.0")


@hookimpl
def authenticate(credentials: Credentials) -> Identity | None:
    return Identity(id="tester", kind="user") if credentials.token == "good" else None


@hookimpl
def authorize_topic(identity: Identity, topic: str) -> bool | None:
    return identity.is_authenticated if topic.startswith("wsauth:") else None
