"""Render the kernel's public surface: ``kernel.__all__`` and every hook spec.

``python tests/public_api.py --write`` updates PUBLIC_API.txt; test_public_api.py
fails when the surface changes and that file was not updated with it, so plugin
authors are never broken silently.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import kernel
from kernel.plugins import hookspecs

RECORD = Path(__file__).resolve().parent.parent / "PUBLIC_API.txt"


def _signature(obj: object) -> str:
    try:
        return str(inspect.signature(obj))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


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
