"""Jinja2 templates per locale (``templates/<locale>/``), escaping on for HTML.

A locale ``pt-BR`` looks in ``pt-BR/``, then ``pt/``, then the fallback language's
folder (``LYO_NOTIFICATIONS__FALLBACK_LOCALE``, ``en``); the first folder that has the
template wins, so a translation may cover some templates only."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import (
    ChainableUndefined,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from .settings import plugin

FOLDER = Path(__file__).parent / "templates"


@cache
def _environment(strict: bool) -> Environment:
    # mail templates are strict (a missing link must fail the send, not mail a blank);
    # notice templates are lenient, since event payloads vary between publishers
    return Environment(
        loader=FileSystemLoader(FOLDER),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined if strict else ChainableUndefined,
    )


def candidates(locale: str | None) -> list[str]:
    """Folders to try for ``locale``, most specific first."""
    tried: list[str] = []
    if locale:
        parts = locale.replace("_", "-").split("-")
        for size in range(len(parts), 0, -1):
            tried.append("-".join(parts[:size]))
    tried.append(plugin.settings.fallback_locale)
    return list(dict.fromkeys(tried))


def render(name: str, locale: str | None, context: dict[str, Any], *, strict: bool = True) -> str:
    """Render ``name`` (``welcome.txt``) in the best folder for ``locale``."""
    for folder in candidates(locale):
        try:
            template = _environment(strict).get_template(f"{folder}/{name}")
        except TemplateNotFound:
            continue
        return template.render(**context).strip()
    raise LookupError(f"no template {name!r} for locale {locale!r} nor the fallback")


def notice(kind: str, locale: str | None, context: dict[str, Any]) -> tuple[str, str]:
    """The title (first line) and body (the rest) of an inbox item of ``kind``."""
    text = render(f"notices/{kind}.txt", locale, context, strict=False)
    title, _, body = text.partition("\n")
    return title.strip()[:300], body.strip()
