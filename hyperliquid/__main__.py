"""``python -m hyperliquid`` — the command line (see :mod:`hyperliquid.cli`)."""

from __future__ import annotations

import sys

from hyperliquid.cli import main

sys.exit(main())
