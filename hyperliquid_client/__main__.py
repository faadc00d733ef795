"""``python -m hyperliquid_client`` — the command line (see :mod:`hyperliquid_client.cli`)."""

from __future__ import annotations

import sys

from hyperliquid_client.cli import main

sys.exit(main())
