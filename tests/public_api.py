"""Render the kernel's public surface: ``kernel.__all__``, the public methods and
properties of its classes (and of the classes plugins reach through ``Kernel``
attributes, such as ``kernel.tasks``), the ``Kernel`` attributes a plugin may use,
and every hook spec. One line per item, sorted, so a diff shows each change.

``python tests/public_api.py --write`` updates PUBLIC_API.txt; test_public_api.py
fails when the surface changes and that file was not updated with it, so plugin
authors are never broken silently.
"""

from __future__ import annotations

import ast
import enum
import inspect
import sys
from pathlib import Path
from typing import Any

import kernel
import kernel.kernel
from kernel.plugins import hookspecs

RECORD = Path(__file__).resolve().parent.parent / "PUBLIC_API.txt"


def _signature(obj: object) -> str:
    try:
        return str(inspect.signature(obj))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


#: ``Kernel`` attributes a plugin may use (the rest are the kernel's own plumbing).
KERNEL_ATTRIBUTES = (
    "cache",
    "db",
    "permission_defaults",
    "permissions",
    "plugins",
    "settings",
    "started",
    "storage",
    "tasks",
    "version",
)


def kernel_attributes() -> dict[str, str]:
    """``{attribute: annotation}`` of :data:`KERNEL_ATTRIBUTES`, read from the
    ``self.x: T = ...`` assignments of ``Kernel.__init__``."""
    tree = ast.parse(Path(inspect.getfile(kernel.Kernel)).read_text())
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Attribute)
            and isinstance(node.target.value, ast.Name)
            and node.target.value.id == "self"
            and node.target.attr in KERNEL_ATTRIBUTES
        ):
            found[node.target.attr] = ast.unparse(node.annotation)
    missing = set(KERNEL_ATTRIBUTES) - set(found)
    assert not missing, f"annotate self.{', self.'.join(sorted(missing))} in Kernel.__init__"
    return found


def _owner(cls: type, name: str) -> type | None:
    return next((klass for klass in cls.__mro__ if name in vars(klass)), None)


def members(cls: type, public: set[type]) -> list[str]:
    """The public methods and properties ``cls`` has from the kernel (not those it
    inherits from pydantic, Exception or Quart, nor from another public class, which
    lists them itself), and an enum's members."""
    lines = []
    if issubclass(cls, enum.Enum):
        lines += [f"value {cls.__name__}.{m.name} = {m.value!r}" for m in cls]
    for name in sorted(dir(cls)):
        owner = _owner(cls, name)
        if name.startswith("_") or owner is None or not owner.__module__.startswith("kernel"):
            continue
        if owner is not cls and owner in public:
            continue
        raw: Any = vars(owner)[name]
        label = f"{cls.__name__}.{name}"
        if isinstance(raw, property):
            returns = inspect.signature(raw.fget).return_annotation if raw.fget else None
            lines.append(f"property {label}" + (f" -> {returns!r}" if returns else ""))
        elif isinstance(raw, classmethod | staticmethod):
            kind = "classmethod" if isinstance(raw, classmethod) else "staticmethod"
            lines.append(f"{kind} {label}{_signature(raw.__func__)}")
        elif inspect.isfunction(raw):
            kind = "async def" if inspect.iscoroutinefunction(raw) else "def"
            lines.append(f"{kind} {label}{_signature(raw)}")
    return lines


def render() -> str:
    lines = [f"# Lyo kernel public API (kernel {kernel.__version__})", "", "## kernel.__all__"]
    for name in sorted(kernel.__all__):
        obj = getattr(kernel, name)
        if inspect.isclass(obj):
            kind = "class"
            fields = getattr(obj, "model_fields", None) or getattr(
                obj, "__dataclass_fields__", None
            )
            detail = f"({', '.join(fields)})" if fields else _signature(obj)
        elif callable(obj):
            kind, detail = "def", _signature(obj)
        else:
            kind, detail = "value", f" = {obj!r}" if isinstance(obj, str) else ""
        lines.append(f"{kind} {name}{detail}")
    attributes = kernel_attributes()
    classes = {n: c for n in kernel.__all__ if inspect.isclass(c := getattr(kernel, n))}
    for annotation in attributes.values():  # classes reached through Kernel attributes
        reached = getattr(kernel.kernel, annotation.split(" ")[0], None)
        if inspect.isclass(reached) and reached.__module__.startswith("kernel"):
            classes.setdefault(reached.__name__, reached)
    lines += ["", "## methods and properties of public classes"]
    for name in sorted(classes):
        lines += members(classes[name], set(classes.values()))
    lines += ["", "## Kernel attributes a plugin may use"]
    lines += [f"attribute Kernel.{name}: {attributes[name]}" for name in sorted(attributes)]
    lines += ["", "## hooks (kernel/plugins/hookspecs.py)"]
    for name in hookspecs.hook_names():
        spec = getattr(hookspecs, name)
        summary = (inspect.getdoc(spec) or "").splitlines()[0]
        lines.append(f"hook {name}{_signature(spec)}  # {summary}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if "--write" in sys.argv:
        RECORD.write_text(render())
        print(f"wrote {RECORD}")
    else:
        print(render(), end="")
