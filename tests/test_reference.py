"""docs/plugins.md, the reference for plugin authors, names everything a plugin may use.

Nothing here is a hard-coded list: the names come from the code (the hook specs,
``kernel.__all__``, the public attributes of ``Kernel``, ``PluginHandle``, ``TaskContext``
and of each kernel-made object a ``Kernel`` attribute holds, ``kernel.testing``), so a
public name added without a line in the reference fails here. "Named" means: written
as a word of a heading or of inline code or a code block, inside the reference's
section for that object (a ``get`` in the cache section does not document the hub).

Every ```` ```python ```` block of the reference and of README.md must compile (top-level
``await`` allowed: the blocks are fragments of plugin code). A README block that is
deliberately partial is marked by an ``<!-- fragment -->`` line just before its fence
and is skipped; the reference has no such escape. The one-line example ending each list
item of the reference compiles too, as a line of a coroutine function.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel

import kernel
import kernel.kernel
import kernel.testing
from kernel import Kernel, PluginHandle, TaskContext
from kernel.plugins import hookspecs

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "plugins.md"
README = ROOT / "README.md"
FRAGMENT = "<!-- fragment -->"

HOOKS = "## Hooks"
PUBLIC_NAMES = "## The public names of `kernel`"
PLUGIN_HANDLE = "### `kernel.PluginHandle(name)`"
KERNEL = "### The `Kernel` object"
TASK_CONTEXT = "### Inside a task: `TaskContext`"
TESTING = "## Testing helpers"


# -- reading the markdown -------------------------------------------------------------


def section(text: str, heading: str) -> str:
    """``heading``'s line and what follows it, up to the next heading of its level or
    above (fenced blocks are not searched for headings)."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    try:
        start = lines.index(heading)
    except ValueError:
        raise AssertionError(f"{REFERENCE.name} has no heading {heading!r}") from None
    fenced = False
    for end in range(start + 1, len(lines)):
        line = lines[end]
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(rf"#{{1,{level}}} ", line):
            return "\n".join(lines[start:end])
    return "\n".join(lines[start:])


def item(text: str, name: str) -> str:
    """The list item that starts with ``- `name```, continuation lines included."""
    match = re.search(rf"^- `{re.escape(name)}`[^\n]*\n(?:  +[^\n]*\n)*", text, re.M)
    assert match, f"no list item '- `{name}`: ...'"
    return match.group(0)


def entries(text: str) -> set[str]:
    """The names list items document: the identifier leading each code span that
    starts an item (``- `get(key, default=None)`: ...`` documents ``get``)."""
    names = set()
    for line in text.splitlines():
        lead = re.match(r"- ((?:`[^`]+`(?:,? (?:and |or )?)?)+)", line)
        for span in re.findall(r"`([^`]+)`", lead.group(1)) if lead else []:
            name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", span)
            if name:
                names.add(name.group(0))
    return names


def code_words(text: str) -> set[str]:
    """The identifiers written in ``text``'s headings, inline code and code blocks."""
    blocks = re.findall(r"^ *```[^\n]*\n(.*?)^ *```", text, re.M | re.S)
    prose = re.sub(r"^ *```[^\n]*\n.*?^ *```", "", text, flags=re.M | re.S)
    spans = re.findall(r"`([^`\n]+)`", prose)
    headings = re.findall(r"^#+ (.*)$", prose, re.M)
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", "\n".join([*blocks, *spans, *headings])))


def python_blocks(text: str) -> list[tuple[int, str, bool]]:
    """Each ```` ```python ```` block: its first line number, its code, and whether the
    line before its fence (blank lines skipped) marks it as a fragment."""
    found = []
    for match in re.finditer(r"^( *)```python\n(.*?)^ *```$", text, re.M | re.S):
        before = [x.strip() for x in text[: match.start()].splitlines() if x.strip()]
        line = text.count("\n", 0, match.start()) + 2
        found.append(
            (line, textwrap.dedent(match.group(2)), bool(before) and before[-1] == FRAGMENT)
        )
    return found


def compile_error(code: str, name: str) -> str | None:
    try:
        compile(code, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except SyntaxError as exc:
        return f"{name}:{exc.lineno}: {exc.msg}"
    return None


# -- reading the code -----------------------------------------------------------------


def _init_assignments(cls: type) -> list[ast.Assign | ast.AnnAssign]:
    init = cls.__dict__.get("__init__")
    if not inspect.isfunction(init) or dataclasses.is_dataclass(cls):
        return []  # a dataclass's __init__ is generated: its fields are read instead
    tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    return [node for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AnnAssign))]


def _self_target(node: ast.expr) -> str | None:
    """``x`` for ``self.x``."""
    value = node.value if isinstance(node, ast.Attribute) else None
    if isinstance(node, ast.Attribute) and isinstance(value, ast.Name) and value.id == "self":
        return node.attr
    return None


def public_names(cls: type) -> set[str]:
    """Public methods, properties, class and dataclass fields, and the attributes
    ``__init__`` assigns on ``self``."""
    names = {name for name in dir(cls) if not name.startswith("_")}
    if issubclass(cls, BaseModel):  # its fields, and what it adds to BaseModel
        names = (names - set(dir(BaseModel))) | set(cls.model_fields)
    if dataclasses.is_dataclass(cls):
        names |= {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
    for node in _init_assignments(cls):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            name = _self_target(target)
            if name and not name.startswith("_"):
                names.add(name)
    return names


def kernel_parts() -> dict[str, type]:
    """``Kernel`` attributes holding an object of a class the kernel defines
    (``tasks``, ``cache``, ``hub``, ...), read from the annotations in ``__init__``."""
    parts = {}
    namespace = vars(kernel.kernel)
    for node in _init_assignments(Kernel):
        if not isinstance(node, ast.AnnAssign):
            continue
        name = _self_target(node.target)
        try:
            kind = eval(ast.unparse(node.annotation), namespace)  # our own source
        except Exception:
            continue
        if name == "settings":  # documented in the README's "Configuration"
            continue
        if name and inspect.isclass(kind) and kind.__module__.startswith("kernel."):
            parts[name] = kind
    return parts


def helpers_of_testing() -> set[str]:
    """What ``kernel.testing`` defines: fixtures, helpers and upper-case constants."""
    names = set()
    for name, value in vars(kernel.testing).items():
        if name.startswith("_"):
            continue
        if str(getattr(value, "__module__", "")).startswith("kernel.testing") or (
            name.isupper() and isinstance(value, (str, int, float))
        ):
            names.add(name)
    return names


def undocumented(names: set[str], text: str, heading: str) -> list[str]:
    return sorted(names - code_words(section(text, heading)))


# -- the reference is complete --------------------------------------------------------


@pytest.fixture(scope="module")
def reference() -> str:
    return REFERENCE.read_text()


def test_every_hook_has_a_heading(reference: str) -> None:
    hooks = section(reference, HOOKS)
    headings = code_words("\n".join(re.findall(r"^### .*$", hooks, re.M)))
    missing = sorted(set(hookspecs.hook_names()) - headings)
    assert not missing, f"hooks without a '### `name(...)`' heading under {HOOKS!r}: {missing}"


def test_every_public_name_of_kernel_is_documented(reference: str) -> None:
    missing = undocumented(set(kernel.__all__), reference, PUBLIC_NAMES)
    assert not missing, f"kernel.__all__ names missing under {PUBLIC_NAMES!r}: {missing}"


@pytest.mark.parametrize(
    ("cls", "heading"),
    [(Kernel, KERNEL), (PluginHandle, PLUGIN_HANDLE), (TaskContext, TASK_CONTEXT)],
    ids=["Kernel", "PluginHandle", "TaskContext"],
)
def test_every_public_attribute_is_documented(cls: type, heading: str, reference: str) -> None:
    missing = undocumented(public_names(cls), reference, heading)
    assert not missing, f"public attributes of {cls.__name__} missing under {heading!r}: {missing}"


def shapes() -> dict[str, type]:
    """The data shapes of ``kernel.__all__`` (dataclasses and pydantic models) a plugin
    makes or reads; ``Settings`` has the README's "Configuration" instead, and
    ``TaskContext`` a section of its own."""
    found = {}
    for name in kernel.__all__:
        value = getattr(kernel, name)
        if name in ("Settings", "TaskContext") or not inspect.isclass(value):
            continue
        if dataclasses.is_dataclass(value) or issubclass(value, BaseModel):
            found[name] = value
    return found


def test_the_fields_of_data_shapes_are_documented(reference: str) -> None:
    names = section(reference, PUBLIC_NAMES)
    problems = {}
    for name, cls in sorted(shapes().items()):
        missing = sorted(public_names(cls) - code_words(item(names, name)))
        if missing:
            problems[name] = missing
    assert not problems, f"fields missing from the '- `X`' items under {PUBLIC_NAMES!r}: {problems}"


def test_the_kernel_objects_parts_are_documented(reference: str) -> None:
    parts = kernel_parts()
    assert {"tasks", "cache", "hub", "events", "storage"} <= set(parts), parts
    problems = {}
    for attribute, cls in sorted(parts.items()):
        heading = f"### `kernel.{attribute}`"
        if heading not in reference.splitlines():
            problems[attribute] = f"no heading {heading!r} for {cls.__name__}"
            continue
        missing = undocumented(public_names(cls), reference, heading)
        if missing:
            problems[attribute] = f"{cls.__name__} attributes missing under {heading!r}: {missing}"
    assert not problems, problems


def test_kernel_testing_is_documented(reference: str) -> None:
    missing = undocumented(helpers_of_testing(), reference, TESTING)
    assert not missing, f"kernel.testing names missing under {TESTING!r}: {missing}"


def test_every_documented_name_exists(reference: str) -> None:
    """The other way round: a list item naming something that is gone (renamed, moved,
    removed) fails too, so the reference never documents what a plugin cannot use."""
    expected = {
        PUBLIC_NAMES: set(kernel.__all__),
        KERNEL: public_names(Kernel),
        PLUGIN_HANDLE: public_names(PluginHandle),
        TASK_CONTEXT: public_names(TaskContext),
        TESTING: helpers_of_testing(),
        **{f"### `kernel.{name}`": public_names(cls) for name, cls in kernel_parts().items()},
    }
    stale = {}
    for heading, names in expected.items():
        documented = entries(section(reference, heading))
        assert documented, f"no '- `name`: ...' items under {heading!r}"
        gone = sorted(documented - names)
        if gone:
            stale[heading] = gone
    hooks = section(reference, HOOKS)
    headings = code_words("\n".join(re.findall(r"^### .*$", hooks, re.M)))
    called = {h for h in headings if re.search(rf"^### `{h}\(", hooks, re.M)}
    if called - set(hookspecs.hook_names()):
        stale[HOOKS] = sorted(called - set(hookspecs.hook_names()))
    assert not stale, f"list items naming what the code does not have: {stale}"


def test_the_check_catches_a_missing_name(reference: str) -> None:
    """The checks above are not vacuous: remove a name's lines and it is reported."""

    def newly_missing(cls: type, heading: str, word: str) -> set[str]:
        without = "\n".join(x for x in reference.splitlines() if word not in x)
        before = undocumented(public_names(cls), reference, heading)
        return set(undocumented(public_names(cls), without, heading)) - set(before)

    assert newly_missing(kernel.Cache, "### `kernel.cache`", "`zincrby(") == {"zincrby"}
    assert newly_missing(Kernel, KERNEL, "started`") == {"started"}
    assert "worker_queues" in public_names(Kernel)  # assigned in __init__, not a class attribute
    assert kernel_parts()["cache"] is kernel.Cache
    assert entries("- `get(key)`, `set(k)`: x `no`\n- `a` and `b`: `c`\n  `d`\n") == {
        "get",
        "set",
        "a",
        "b",
    }


# -- code blocks compile ----------------------------------------------------------------


def test_reference_python_blocks_compile(reference: str) -> None:
    blocks = python_blocks(reference)
    assert len(blocks) > 10
    errors = [compile_error(code, f"{REFERENCE.name}:{line}") for line, code, _ in blocks]
    assert not any(errors), [e for e in errors if e]
    assert not any(fragment for _, _, fragment in blocks), "the reference has no fragments"


def examples(text: str) -> list[str]:
    """The one-line example of each list item outside code blocks: its last inline code."""
    prose = re.sub(r"^ *```[^\n]*\n.*?^ *```", "", text, flags=re.M | re.S)
    found = []
    for item in re.findall(r"^- [^\n]*\n(?:  +[^\n]*\n)*", prose, re.M):
        spans = re.findall(r"`([^`]+)`", re.sub(r"\n +", " ", item))
        if spans:
            found.append(spans[-1])
    return found


def test_every_one_line_example_compiles(reference: str) -> None:
    """Each example, as a line of an ``async def`` body (so ``await`` and ``return`` are
    fine); a decorator gets a function to decorate."""
    found = examples(reference)
    assert len(found) > 100
    errors = []
    for example in found:
        code = f"async def example():\n    {example}\n"
        if example.startswith("@"):
            code += "    def decorated(): ...\n"
        errors.append(compile_error(code, repr(example)))
    assert not any(errors), [e for e in errors if e]


def test_readme_python_blocks_compile() -> None:
    errors = [
        compile_error(code, f"{README.name}:{line}")
        for line, code, fragment in python_blocks(README.read_text())
        if not fragment
    ]
    assert not any(errors), [e for e in errors if e]


def test_a_fragment_mark_skips_a_block() -> None:
    text = f"```python\nx = (\n```\n\n{FRAGMENT}\n\n```python\ny = (\n```\n"
    [(_, _, first), (_, _, second)] = python_blocks(text)
    assert (first, second) == (False, True)
    assert compile_error("x = (\n", "t") is not None
    assert compile_error("await f()\n", "t") is None


def test_the_plugin_author_guide_links_the_reference() -> None:
    assert "docs/plugins.md" in README.read_text()


def test_the_markdown_readers() -> None:
    text = "# A\n## B\n`x.y` and\n```sh\n# not a heading\nz\n```\n## C\n`w`\n"
    assert section(text, "## B") == "## B\n`x.y` and\n```sh\n# not a heading\nz\n```"
    assert code_words(section(text, "## B")) == {"x", "y", "not", "a", "heading", "z", "B"}
