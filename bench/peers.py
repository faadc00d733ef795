"""The benchmark peers' throwaway installs, shared by every benchmark.

The official Python SDK (``hyperliquid-python-sdk`` + ``coincurve``) lives in a venv at
``/tmp/hl-bench-peers/py``, created on first use; it is a benchmark peer only, never a dependency.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

PEERS = Path("/tmp/hl-bench-peers")
PY_PEER = PEERS / "py"
SDK_PYTHON = PY_PEER / "bin" / "python"
ROOT = Path(__file__).resolve().parents[1]


def ensure_sdk(install: bool = True) -> str:
    """'' when the SDK's venv is ready, else why it is not (nothing raises: the caller reports it)."""
    check = [str(SDK_PYTHON), "-c", "import hyperliquid.exchange, hyperliquid.websocket_manager, coincurve"]
    if SDK_PYTHON.exists() and subprocess.run(check, capture_output=True, cwd=PEERS).returncode == 0:
        return ""
    if not install:
        return f"{PY_PEER} is not set up (run without --no-install)"
    print(f"setting up the official Python SDK in {PY_PEER} ...", flush=True)
    PEERS.mkdir(parents=True, exist_ok=True)
    try:
        if not SDK_PYTHON.exists():
            subprocess.run([sys.executable, "-m", "venv", str(PY_PEER)], check=True, capture_output=True, timeout=300)
        pip = [str(SDK_PYTHON), "-m", "pip", "install", "-q", "hyperliquid-python-sdk", "coincurve"]
        proc = subprocess.run(pip, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot create the venv: {exc}"
    if proc.returncode != 0:
        return "pip install hyperliquid-python-sdk coincurve failed: " + proc.stderr.strip()[-500:]
    ok = subprocess.run(check, capture_output=True, cwd=PEERS).returncode == 0
    return "" if ok else "SDK installed but not importable"


def run_json(cmd: list[str], *, timeout: float, cwd: Path | None = None) -> tuple[Any, str]:
    """Run ``cmd``; its last stdout line is JSON.  Returns (value, '') or (None, why)."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if proc.returncode != 0:
        return None, (proc.stderr or proc.stdout).strip()[-800:]
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1]), ""
    except (ValueError, IndexError):
        return None, f"unexpected output: {proc.stdout[-400:]!r} {proc.stderr[-400:]!r}"
