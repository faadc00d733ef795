"""The error table of docs/getting-started.md names every exception of ``hyperliquid_client.runtime.errors`` and the
streams' own (``hyperliquid_client.runtime.ws.messages``)."""

from __future__ import annotations

import re
from pathlib import Path

from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.ws import messages

DOC = Path(__file__).resolve().parents[1] / "docs" / "getting-started.md"


def test_every_exception_is_in_the_error_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Errors") : text.index("## Events in one line each")]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    documented = set(re.findall(r"`([A-Za-z]+Error)`", table)) - {"ValueError", "RuntimeError"}  # "(also a ...)"
    public = {name for name in errors.__all__ if isinstance(getattr(errors, name), type)}
    public |= {name for name in messages.__all__ if name.endswith("Error")}
    assert public - {"HyperliquidError"} <= documented, sorted(public - documented)
    assert documented <= public, sorted(documented - public)
    assert "`HyperliquidError`" in section
