"""The WebSocket JSON decoder gives the standard library's results, with or without orjson."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from hyperliquid_client.runtime import jsonfast

DOCS = [
    '{"channel":"l2Book","data":{"coin":"BTC","time":1764842873555,"levels":[[{"px":"65000.5","sz":"0.1","n":2}],[]]}}',
    '{"channel":"trades","data":[{"coin":"ETH","tid":18446744073709551615,"px":"1.5","users":["0xab","0xcd"]}]}',
    '[1.0000000000000002, -0.0, 1e-320, true, false, null, "\\u00e9\\ud83d\\ude00", {"a": {"b": []}}]',
    '{"a": 1, "a": 2}',
    '{"x": NaN, "y": Infinity}',  # refused by orjson, accepted by the standard library
    "Websocket connection established.",
]


@pytest.mark.parametrize("doc", DOCS)
def test_same_result_as_the_standard_library(doc: str) -> None:
    try:
        expected = json.loads(doc)
    except ValueError:
        with pytest.raises(ValueError):
            jsonfast.loads(doc)
        return
    got = jsonfast.loads(doc)
    assert json.dumps(got, allow_nan=True) == json.dumps(expected, allow_nan=True)
    assert jsonfast.loads(doc.encode()) == got or doc.startswith('{"x"')


def test_orjson_is_used_when_installed_and_the_standard_library_otherwise() -> None:
    try:
        import orjson  # noqa: F401
    except ImportError:
        assert not jsonfast.FAST
    else:
        assert jsonfast.FAST
    code = textwrap.dedent(
        """
        import sys
        sys.modules["orjson"] = None  # not installed
        from hyperliquid_client.runtime import jsonfast
        print(jsonfast.FAST, jsonfast.loads('{"a": [1, "2"]}'))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False {'a': [1, '2']}"
