"""``python -m hyperliquid.codegen generate|check --spec DIR --out DIR``."""

from __future__ import annotations

import sys

from hyperliquid.codegen.cli import main

sys.exit(main())
