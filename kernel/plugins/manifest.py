"""The plugin manifest: what a plugin says about itself before anything else runs."""

from __future__ import annotations

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import BaseModel, Field, field_validator

__all__ = ["Manifest"]


class Manifest(BaseModel):
    """Returned by a plugin's ``manifest`` hook.

    ``requires`` maps plugin names to version specifiers (``{"auth": ">=0.1,<1"}``);
    ``needs`` names hooks some usable plugin must implement, whichever it is
    (``("authenticate",)``: someone authenticates); without one the plugin is skipped;
    ``kernel`` is the range of kernel versions the plugin works with;
    ``url_prefixes`` are claimed in addition to ``/api/<name>``.
    """

    model_config = {"frozen": True}

    name: str | None = Field(
        default=None, description="Required for plugins passed to create_app() explicitly."
    )
    version: str = "0.0.0"
    description: str = ""
    requires: dict[str, str] = Field(default_factory=dict)
    needs: tuple[str, ...] = Field(
        default=(),
        description="Hooks some usable plugin must implement (a capability, not a name).",
    )
    kernel: str = ""
    url_prefixes: list[str] = Field(default_factory=list)

    @field_validator("requires")
    @classmethod
    def _specifiers_parse(cls, value: dict[str, str]) -> dict[str, str]:
        for name, spec in value.items():
            _parse_specifier(spec, f"requires[{name!r}]")
        return value

    @field_validator("needs")
    @classmethod
    def _needs_name_hooks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from kernel.plugins import hookspecs

        for hook in value:
            if hook not in hookspecs.hook_names():
                raise ValueError(f"needs: {hook!r} is not a hook (see kernel/plugins/hookspecs.py)")
        return value

    @field_validator("kernel")
    @classmethod
    def _kernel_range_parses(cls, value: str) -> str:
        _parse_specifier(value, "kernel")
        return value

    @field_validator("url_prefixes")
    @classmethod
    def _prefixes_are_paths(cls, value: list[str]) -> list[str]:
        for prefix in value:
            if not prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
                raise ValueError(f"URL prefix {prefix!r} must look like '/api/things'")
        return value


def _parse_specifier(spec: str, what: str) -> SpecifierSet:
    try:
        return SpecifierSet(spec)
    except InvalidSpecifier:
        raise ValueError(f"{what}: {spec!r} is not a version specifier like '>=1.0,<2'") from None
