"""The generated models as plain slotted classes, and what importing the client does not load.

Models no longer run a class decorator at import (attrs built 180 classes there): these tests hold the
properties the models had — immutable, compared and hashed by fields, ``extra`` kept and out of the repr,
copyable and picklable, typed for checkers — and check that the structuring functions build the same objects
the constructors do.
"""

from __future__ import annotations

import copy
import pickle
import ssl
import subprocess
import sys
import textwrap
from dataclasses import FrozenInstanceError
from decimal import Decimal

import pytest

from hyperliquid_client.generated import models
from hyperliquid_client.runtime.model import Model
from hyperliquid_client.runtime.struct import EMPTY, parse_with
from hyperliquid_client.runtime.transport.http import tls_context

RAW_BOOK = {
    "coin": "BTC",
    "time": 1_700_000_000_000,
    "levels": [[{"px": "65000.5", "sz": "0.25", "n": 3}], [{"px": "65001", "sz": "1.5", "n": 1, "new": True}]],
}


def book() -> models.L2Book:
    return parse_with(models.STRUCTURE_FNS[models.L2Book], RAW_BOOK)


def test_structuring_builds_what_the_constructor_builds() -> None:
    parsed = book()
    bid = models.L2Level(px=Decimal("65000.5"), sz=Decimal("0.25"), n=3)
    ask = models.L2Level(px=Decimal("65001"), sz=Decimal("1.5"), n=1, extra={"new": True})
    assert parsed == models.L2Book(coin="BTC", time=1_700_000_000_000, levels=((bid,), (ask,)))
    assert parsed.levels[1][0].extra == {"new": True} and parsed.levels[0][0].extra is EMPTY
    assert isinstance(parsed, Model) and type(parsed.levels[0][0].px) is Decimal


def test_models_are_immutable() -> None:
    level = book().levels[0][0]
    with pytest.raises(FrozenInstanceError):
        level.px = Decimal(1)  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del level.sz
    with pytest.raises(AttributeError):
        level.other = 1  # type: ignore[attr-defined]
    assert level.px == Decimal("65000.5")


def test_equality_hash_and_repr_follow_the_fields() -> None:
    a = models.L2Level(px=Decimal("1"), sz=Decimal("2"), n=3)
    b = models.L2Level(px=Decimal("1.0"), sz=Decimal("2"), n=3)
    c = models.L2Level(px=Decimal("1"), sz=Decimal("2"), n=4)
    assert a == b and hash(a) == hash(b) and a != c
    assert a != models.L2Level(px=Decimal("1"), sz=Decimal("2"), n=3, extra={"x": 1})
    assert a.__eq__(("1", "2", 3)) is NotImplemented
    assert len({a, b, c}) == 2
    assert repr(a) == "L2Level(px=Decimal('1'), sz=Decimal('2'), n=3)"  # extra is not shown


def test_constructor_is_keyword_only_with_the_spec_defaults() -> None:
    with pytest.raises(TypeError):
        models.L2Level(Decimal(1), Decimal(2), 3)  # type: ignore[misc]
    with pytest.raises(TypeError):
        models.L2Level(px=Decimal(1), sz=Decimal(2))  # type: ignore[call-arg]
    msg = models.AllMidsMessage(mids={"BTC": Decimal(1)})
    assert msg.dex is None and msg.extra is EMPTY


def test_copies_and_pickles_are_equal_and_still_frozen() -> None:
    original = book()
    for clone in (copy.copy(original), copy.deepcopy(original), pickle.loads(pickle.dumps(original))):
        assert clone == original and type(clone) is models.L2Book
        with pytest.raises(FrozenInstanceError):
            clone.coin = "ETH"  # type: ignore[misc]


def test_type_checkers_see_every_field_and_the_constructor() -> None:
    from mypy import api

    code = textwrap.dedent(
        """
        from decimal import Decimal
        from hyperliquid_client.generated.models import L2Book, L2Level
        level = L2Level(px=Decimal(1), sz=Decimal(2), n=3)
        reveal_type(level.px)
        reveal_type(L2Book(coin="BTC", time=1, levels=((level,), ())).levels)
        L2Level(px="1", sz=Decimal(2), n=3)
        """
    )
    args = ["--config-file=", "--no-incremental", "--ignore-missing-imports", "--follow-imports=silent", "-c", code]
    out, _err, status = api.run(args)
    assert 'Revealed type is "decimal.Decimal"' in out
    assert "tuple[hyperliquid_client.generated._models.l2_level.L2Level, ...]" in out  # (its own module, re-exported)
    assert 'Argument "px" to "L2Level" has incompatible type "str"' in out
    assert status == 1


def _fresh(code: str) -> list[str]:
    """The lines ``code`` prints in a fresh interpreter (what it loads is what a program loads)."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=True
    )
    return proc.stdout.splitlines()


def test_importing_the_client_leaves_cattrs_and_storage_unloaded() -> None:
    lines = _fresh(
        """
        import sys
        from hyperliquid_client import Client
        Client  # the lazy top-level import happens here
        unloaded = [m for m in ("cattrs", "hyperliquid_client.runtime.storage") if m not in sys.modules]
        from hyperliquid_client.generated import models
        conv = models.converter
        level = conv.structure({"px": "1", "sz": "2", "n": 3}, models.L2Level)
        print(unloaded, "cattrs" in sys.modules, conv.unstructure(level))
        """
    )
    assert lines[0] == ("['cattrs', 'hyperliquid_client.runtime.storage'] True {'px': '1', 'sz': '2', 'n': 3}")


def test_a_client_loads_the_models_and_modules_it_uses_only() -> None:
    """Memory: a client that streams order books holds the book's models, not the other ~220, nor the info API's
    methods or the signing backends; what it first uses later is loaded then."""
    lines = _fresh(
        """
        import sys
        from hyperliquid_client import Client, ClientConfig
        def loaded(*names):
            return [n for n in names if n in sys.modules]
        models = "hyperliquid_client.generated._models."
        client = Client(http_url="http://127.0.0.1:9", ws_url="ws://127.0.0.1:9/ws", config=ClientConfig(warm=False))
        client.streams.l2_book("BTC")
        print(loaded(models + "l2_book", models + "l2_level"))
        package = "hyperliquid_client."
        print(loaded(models + "web_data2", models + "user_fill", package + "generated.info",
                     package + "generated.models", package + "runtime.signing.backends", "msgpack", "difflib",
                     package + "generated._exchange_endpoints", package + "runtime.hub",
                     package + "generated._async_streams"))
        print(len([n for n in sys.modules if n.startswith(models)]) < 30)
        client.info
        print(loaded("hyperliquid_client.generated.info", models + "user_fill"))
        client.close()
        """
    )
    assert lines == [
        "['hyperliquid_client.generated._models.l2_book', 'hyperliquid_client.generated._models.l2_level']",
        "[]",
        "True",
        "['hyperliquid_client.generated.info', 'hyperliquid_client.generated._models.user_fill']",
    ]


def test_a_streaming_client_never_imports_attrs() -> None:
    """Memory (~0.9 MiB of a streaming client's resident size): the settings, stream markers and values a client
    builds are frozen dataclasses, so a program streaming market data to callbacks never imports attrs; the exchange
    side, which still uses it, loads it when first used."""
    from hyperliquid_client.testing import FakeExchange

    with FakeExchange() as fx:
        lines = _fresh(
            f"""
            import sys, threading
            from hyperliquid_client import Client
            got = threading.Event()
            with Client(http_url={fx.http_url!r}, ws_url={fx.ws_url!r}) as client:
                client.streams.l2_book("BTC", callback=lambda item: got.set())
                client.streams.trades("ETH", callback=lambda item: None)
                print(got.wait(30), [m for m in ("attr", "attrs") if m in sys.modules])
                client.exchange
                print([m for m in ("attr", "attrs") if m in sys.modules])
            """
        )
    assert lines == ["True []", "['attr', 'attrs']"]


def test_tls_certificates_are_loaded_before_the_first_tls_connection_only() -> None:
    ctx = tls_context(True)
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] == 0  # nothing loaded for a plain-HTTP client
    ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="api.hyperliquid.xyz")
    assert ctx.cert_store_stats()["x509_ca"] > 0
    assert tls_context(False) is False


def test_a_client_loads_its_exchange_side_when_first_used() -> None:
    lines = _fresh(
        """
        import sys
        from hyperliquid_client import Client, ClientConfig
        side = ("hyperliquid_client.runtime.exchange", "hyperliquid_client.generated.requests")
        client = Client(http_url="http://127.0.0.1:9", config=ClientConfig(warm=False))
        before = [m for m in side if m in sys.modules]
        exchange = client.exchange
        print(before, [m for m in side if m in sys.modules] == list(side), client.exchange is exchange)
        client.close()
        """
    )
    assert lines[0] == "[] True True"


def test_the_exchange_endpoints_are_built_on_their_first_look_up() -> None:
    """Memory: importing the registry builds no exchange action's entry; looking one up builds them; every key is
    listed (in spec order) before and after, and the rate limiter's surcharges are every endpoint's."""
    lines = _fresh(
        """
        import sys
        from hyperliquid_client.generated.registry import ENDPOINTS, REGISTRY, SURCHARGES
        lazy = "hyperliquid_client.generated._exchange_endpoints"
        keys = list(ENDPOINTS)
        print(lazy in sys.modules, len(keys) == len(ENDPOINTS), "exchange.order" in ENDPOINTS, "x" in ENDPOINTS)
        order = ENDPOINTS["exchange.order"]
        print(lazy in sys.modules, order.context, order.wire, callable(order.parse), list(ENDPOINTS) == keys)
        names = {e.qualified_name for e in REGISTRY.endpoints}
        print(ENDPOINTS.get("exchange.x"), len(names) == len(keys), names == set(keys))
        print(SURCHARGES == {e.wire: e.weight_per_item for e in REGISTRY.endpoints if e.weight_per_item} != {})
        """
    )
    assert lines == [
        "False True True False",
        "True exchange order True True",
        "None True True",
        "True",
    ]
