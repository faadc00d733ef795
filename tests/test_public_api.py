"""The top-level package exports what users handle: clients, results, requests, errors, stream items."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import hyperliquid_client
from hyperliquid_client.runtime import results
from hyperliquid_client.runtime.errors import HyperliquidError
from hyperliquid_client.runtime.ws import messages

ROOT = Path(__file__).resolve().parents[1]


def _runtime_modules() -> list[object]:
    import hyperliquid_client.runtime as runtime

    out = []
    for info in pkgutil.walk_packages(runtime.__path__, "hyperliquid_client.runtime."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        out.append(importlib.import_module(info.name))
    return out


def test_every_name_in_all_imports() -> None:
    assert len(set(hyperliquid_client.__all__)) == len(hyperliquid_client.__all__)
    for name in hyperliquid_client.__all__:
        assert getattr(hyperliquid_client, name) is not None, name
    namespace: dict[str, object] = {}
    exec("from hyperliquid_client import *", namespace)  # what a star import sees
    assert set(hyperliquid_client.__all__) <= set(namespace)


def test_the_issue_names_are_top_level() -> None:
    from hyperliquid_client import (  # noqa: F401 - importing is the test
        Filled,
        HTTPStatusError,
        MetadataUnavailableError,
        OrderError,
        OrderRequest,
        Resting,
        WebSocketError,
    )


def test_every_public_error_class_is_exported() -> None:
    missing = set()
    for module in _runtime_modules():
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, HyperliquidError)
                and not obj.__name__.startswith("_")
                and obj.__module__.startswith("hyperliquid_client.runtime")
                and obj.__name__ not in hyperliquid_client.__all__
            ):
                missing.add(f"{obj.__module__}.{obj.__name__}")
    assert not missing, f"errors users catch, not importable from hyperliquid_client: {sorted(missing)}"


def test_results_and_stream_items_are_exported() -> None:
    public = {n for n in results.__all__ if inspect.isclass(getattr(results, n))} | {"Status"}
    public |= {n for n in messages.__all__}
    assert public - set(hyperliquid_client.__all__) == set()
    for name in public:
        origin = results if hasattr(results, name) else messages
        assert getattr(hyperliquid_client, name) is getattr(origin, name)


def test_type_checkers_see_the_lazy_names() -> None:
    """Each lazily imported name is also imported under ``TYPE_CHECKING`` (IDEs and mypy see its type)."""
    tree = ast.parse((ROOT / "hyperliquid_client" / "__init__.py").read_text())
    typed: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    typed |= {a.asname or a.name for a in stmt.names}
    assert typed == set(hyperliquid_client._LAZY)


def test_import_stays_cheap() -> None:
    code = (
        "import sys, hyperliquid_client; "
        "print(sorted(m for m in ('hyperliquid_client.client', 'httpx', 'aiohttp', 'websockets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_docs_mention_every_public_name_and_teach_the_top_level_import() -> None:
    import re

    pages = {p: p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]}
    text = "\n".join(pages.values())
    unmentioned = [n for n in hyperliquid_client.__all__ if not re.search(rf"\b{re.escape(n)}\b", text)]
    assert unmentioned == []
    exported = set(hyperliquid_client.__all__)
    deep = [
        f"{page.name}: {name} from {module}"
        for page, body in pages.items()
        for module, names in re.findall(r"^from (hyperliquid_client\.runtime[\w.]*) import ([^(\n]+)$", body, re.M)
        for name in (n.strip() for n in names.split(","))
        if name in exported
    ]
    assert deep == []  # a name the top level exports is imported from there in every example


def test_the_literal_types_of_the_exchange_methods_parameters_are_exported() -> None:
    """``tif: Tif``: a program annotating what it passes to an exchange method finds each parameter's literal type
    at the top level (the same object the method is annotated with)."""
    import re

    import hyperliquid_client.generated.requests as requests
    from hyperliquid_client.runtime.exchange import Exchange

    used = set()
    for name, method in inspect.getmembers(Exchange, inspect.isfunction):
        if name.startswith("_"):
            continue
        for parameter in inspect.signature(method).parameters.values():
            for word in re.findall(r"[A-Za-z_]\w*", str(parameter.annotation)):
                value = getattr(requests, word, None)
                if value is not None and not isinstance(value, type):  # an alias, not a class
                    used.add(word)
    assert {"Tif", "Grouping"} <= used
    for name in used:
        assert name in hyperliquid_client.__all__, name
        assert getattr(hyperliquid_client, name) is getattr(requests, name)
