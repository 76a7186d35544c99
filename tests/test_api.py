"""The public API is what the docs say: the namespaces of ``docs/api.md``, each with its
``__all__``, and every import in the docs, the examples and the README resolves to one of
their names. Every error lives in ``poolkit.errors``; every event in ``poolkit.events``."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import poolkit
import poolkit.errors
import poolkit.events
from poolkit.model.events import EVENT_TYPES

ROOT = Path(__file__).resolve().parent.parent
API_PAGE = ROOT / "docs" / "api.md"


def public_modules() -> list[str]:
    """The namespaces of the table in docs/api.md, in its order."""
    text = API_PAGE.read_text(encoding="utf-8")
    return re.findall(r"^\| `(poolkit[\w.]*)` \|", text, flags=re.MULTILINE)


PUBLIC = public_modules()


def test_the_api_page_lists_the_namespaces() -> None:
    assert PUBLIC[0] == "poolkit"
    assert {
        "poolkit.errors",
        "poolkit.events",
        "poolkit.rules",
        "poolkit.ports",
        "poolkit.stores.memory",
        "poolkit.stores.sqlite",
        "poolkit.testing.strategies",
        "poolkit.testing.statemachine",
        "poolkit.testing.conformance",
    } <= set(PUBLIC)


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_module_says_what_it_exports(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert len(set(exported)) == len(exported)
    missing = [item for item in exported if not hasattr(module, item)]
    assert missing == []
    assert not [item for item in exported if item.startswith("_") and item != "__version__"]


# ---------------------------------------------------------------- imports in docs and examples


def python_sources() -> Iterator[tuple[str, str]]:
    """(where, code) of every Python block of the pages and of every example script."""
    fence = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
    for page in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        for number, block in enumerate(fence.findall(page.read_text(encoding="utf-8"))):
            yield f"{page.name} block {number + 1}", block
    for script in sorted((ROOT / "examples").glob("*.py")):
        yield script.name, script.read_text(encoding="utf-8")


def poolkit_imports(code: str) -> Iterator[tuple[str, str | None]]:
    """(module, name) of each poolkit import; name is None for ``import module``."""
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "poolkit":
            assert node.module is not None
            for alias in node.names:
                yield node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "poolkit":
                    yield alias.name, None


def not_public(module: str, name: str | None) -> str | None:
    """Why this import is not of a public name, or None when it is."""
    if name is not None and f"{module}.{name}" in PUBLIC:  # a namespace imported as a name
        return None
    if module not in PUBLIC:
        return f"{module} is not a public namespace"
    if name is None:
        return None
    exported = getattr(importlib.import_module(module), "__all__", ())
    return None if name in exported else f"{name} is not in {module}.__all__"


def import_problems() -> list[str]:
    problems = []
    for where, code in python_sources():
        for module, name in poolkit_imports(code):
            why = not_public(module, name)
            if why:
                problems.append(f"{where}: from {module} import {name}: {why}")
    return problems


def test_every_import_in_the_docs_and_examples_is_of_a_public_name() -> None:
    assert import_problems() == []


def test_the_import_check_sees_private_paths_and_names() -> None:
    assert not_public("poolkit", "Policy") is None
    assert not_public("poolkit.testing", "strategies") is None
    assert not_public("poolkit.errors", "CapExceeded") is None
    assert not_public("poolkit.model.review", "ReviewStatus") == (
        "poolkit.model.review is not a public namespace"
    )
    assert not_public("poolkit", "CustomerQuery") == "CustomerQuery is not in poolkit.__all__"
    assert not_public("poolkit.stores._codec", None) == (
        "poolkit.stores._codec is not a public namespace"
    )
    code = "import poolkit.errors\nfrom poolkit.importer import ImportRow, Outcome as O\n"
    assert list(poolkit_imports(code)) == [
        ("poolkit.errors", None),
        ("poolkit.importer", "ImportRow"),
        ("poolkit.importer", "Outcome"),
    ]


# ---------------------------------------------------------------- the root, errors, events


def test_the_root_exports_the_core_names_and_not_the_port_types() -> None:
    core = {
        "PoolService",
        "MemoryStore",
        "SqliteStore",
        "ManualClock",
        "SystemClock",
        "Clock",
        "Policy",
        "Team",
        "Rep",
        "Pool",
        "Customer",
        "CustomerStatus",
        "IdentityKey",
        "CreateResult",
        "SweepReport",
        "ForecastItem",
        "ImportRow",
        "ImportReport",
        "Event",
        "PoolkitError",
    }
    assert core <= set(poolkit.__all__)
    assert "CustomerQuery" not in poolkit.__all__  # no public method takes one


def all_modules() -> list[ModuleType]:
    """Every module of poolkit, imported."""
    found = [poolkit]
    for info in pkgutil.walk_packages(poolkit.__path__, "poolkit."):
        found.append(importlib.import_module(info.name))
    return found


def test_every_error_lives_in_poolkit_errors_and_is_exported_there() -> None:
    defined = {
        value
        for module in all_modules()
        for value in vars(module).values()
        if inspect.isclass(value) and issubclass(value, poolkit.errors.PoolkitError)
    }
    elsewhere = sorted(cls.__qualname__ for cls in defined if cls.__module__ != "poolkit.errors")
    assert elsewhere == []
    names = {cls.__name__ for cls in defined}
    assert names == set(poolkit.errors.__all__)


def test_every_event_kind_is_in_poolkit_events() -> None:
    for cls in EVENT_TYPES.values():
        assert cls.__name__ in poolkit.events.__all__
        assert getattr(poolkit.events, cls.__name__) is cls
    assert {"Event", "FollowUpKind", "apply", "replay"} <= set(poolkit.events.__all__)


def test_a_name_that_left_the_root_still_resolves_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="import CapExceeded from poolkit.errors"):
        moved = poolkit.CapExceeded  # type: ignore[attr-defined]
    assert moved is poolkit.errors.CapExceeded
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="no attribute 'Nonsense'"):
            poolkit.Nonsense  # type: ignore[attr-defined]  # noqa: B018


def test_the_command_line_uses_only_the_public_api() -> None:
    """The CLI is a layer over the library as users see it: every poolkit name it imports
    is public, but for its own modules and the demo's simulation it runs."""
    problems = []
    for module in sorted((ROOT / "src" / "poolkit" / "cli").glob("*.py")):
        for imported, name in poolkit_imports(module.read_text(encoding="utf-8")):
            if imported.startswith("poolkit.cli") or (imported, name) == ("poolkit", "_demo"):
                continue
            why = not_public(imported, name)
            if why:
                problems.append(f"{module.name}: from {imported} import {name}: {why}")
    assert problems == []
