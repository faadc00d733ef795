"""``python -m hyperliquid_client.codegen generate|check --spec DIR --out DIR``."""

from __future__ import annotations

import sys

from hyperliquid_client.codegen.cli import main

sys.exit(main())
