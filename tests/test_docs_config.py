"""docs/configuration.md documents every configuration field with its actual default.

For each configuration class the section headed ``## `ClassName``` must hold a table with exactly one row per
field, ``| `field` | default | meaning |``, whose default cell is the field's real default: a Python literal
(``10_000``, ``"drop_oldest"``, ``None``, ``{429, 500}``) equal to it, or ``Name()`` for a factory building a
``Name``.  The network table and the environment variables are checked against the code the same way.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from hyperliquid_client import cli
from hyperliquid_client.client import ClientConfig
from hyperliquid_client.runtime import config as netconfig
from hyperliquid_client.runtime.cache import CacheConfig
from hyperliquid_client.runtime.ratelimit import RateLimitConfig
from hyperliquid_client.runtime.signing import backends
from hyperliquid_client.runtime.storage import StorageConfig
from hyperliquid_client.runtime.storage import __main__ as storage_cli
from hyperliquid_client.runtime.transport import RetryPolicy, TransportConfig
from hyperliquid_client.runtime.ws import WsConfig

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
CLASSES = (ClientConfig, TransportConfig, RetryPolicy, CacheConfig, WsConfig, RateLimitConfig, StorageConfig)
_ROW = re.compile(r"^\| `([A-Za-z_][A-Za-z0-9_]*)` \| ([^|]*) \|(.*)\|\s*$", re.M)


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _section(title: str) -> str:
    """The text from the ``## {title}`` heading to the next ``## `` heading."""
    text = _text()
    match = re.search(rf"^## {re.escape(title)}\s*$", text, re.M)
    assert match is not None, f"docs/configuration.md has no section '## {title}'"
    rest = text[match.end() :]
    nxt = re.search(r"^## ", rest, re.M)
    return rest[: nxt.start()] if nxt else rest


def _rows(title: str) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for name, first, others in _ROW.findall(_section(title)):
        assert name not in rows, f"{title}: field {name} documented twice"
        rows[name] = [first.strip(), *(c.strip() for c in others.split("|"))]
    return rows


def _unquote(cell: str) -> str:
    assert cell.startswith("`") and cell.endswith("`"), f"default cell {cell!r} is not a `code` literal"
    return cell[1:-1]


def _fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    """The fields of a configuration class (a frozen dataclass)."""
    return dataclasses.fields(cls)


def _field(cls: type, name: str) -> dataclasses.Field[Any]:
    return next(f for f in _fields(cls) if f.name == name)


def _matches(cell: str, field: dataclasses.Field[Any]) -> bool:
    shown = _unquote(cell)
    default = field.default
    factory = field.default_factory
    if callable(factory):
        built = factory()
        return shown == f"{type(built).__name__}()" and built == type(built)()
    value = ast.literal_eval(shown)
    return (type(value) is type(default) and value == default) or (
        isinstance(default, frozenset) and isinstance(value, set) and value == default
    )


@pytest.mark.parametrize("cls", CLASSES, ids=[c.__name__ for c in CLASSES])
def test_every_field_is_documented_with_its_default(cls: type) -> None:
    rows = _rows(f"`{cls.__name__}`")
    fields = {f.name: f for f in _fields(cls)}
    assert set(rows) == set(fields), (
        f"{cls.__name__}: undocumented {sorted(set(fields) - set(rows))}, stale {sorted(set(rows) - set(fields))}"
    )
    wrong = {
        name: (rows[name][0], fields[name].default) for name in fields if not _matches(rows[name][0], fields[name])
    }
    assert not wrong, f"{cls.__name__}: documented defaults differ from the code: {wrong}"
    assert all(row[1] for row in rows.values()), f"{cls.__name__}: a field has no meaning"


def test_default_checker_catches_a_wrong_default() -> None:
    """The comparison above is not vacuous: a wrong or mistyped literal does not match."""
    field = _field(WsConfig, "buffer_size")
    assert _matches("`1000`", field)
    assert not _matches("`1001`", field)
    assert not _matches("`1000.0`", field)
    retry = _field(TransportConfig, "retry")
    assert _matches("`RetryPolicy()`", retry)
    assert not _matches("`TransportConfig()`", retry)


def test_network_table_matches_the_presets() -> None:
    rows = _rows("Networks")
    fields = [f.name for f in _fields(netconfig.Network)]
    assert set(rows) == set(fields)
    for name in fields:
        mainnet, testnet = (ast.literal_eval(_unquote(c)) for c in rows[name][:2])
        assert mainnet == getattr(netconfig.MAINNET, name), name
        assert testnet == getattr(netconfig.TESTNET, name), name


def test_environment_variables_are_the_ones_the_code_reads() -> None:
    rows = _rows("Environment variables")
    read = {
        netconfig.ENV_NETWORK,
        netconfig.ENV_HTTP_URL,
        netconfig.ENV_WS_URL,
        backends.BACKEND_ENV_VAR,
        storage_cli.ENV_DSN,
        cli.KEY_ENV,
    }
    assert set(rows) == read
    for name in backends.BACKEND_NAMES:
        assert f"`{name}`" in rows[backends.BACKEND_ENV_VAR][1], name


def test_every_class_section_links_its_module() -> None:
    for cls in CLASSES:
        module_file = cls.__module__.replace(".", "/") + ".py"
        assert f"`{module_file}`" in _section(f"`{cls.__name__}`"), (cls.__name__, module_file)
