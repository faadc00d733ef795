"""This project and the official SDK install side by side: either order, and removing either leaves the other whole.

The official SDK (``hyperliquid-python-sdk``) installs the import package ``hyperliquid``; we install
``hyperliquid_client`` (distribution ``hyperliquid-client``) and the ``hyperliquid`` command, which the SDK does not
ship.  The test builds a wheel of this checkout, downloads the SDK and every dependency from PyPI into its own
temporary folder, and drives two throwaway virtual environments with pip: install in one order, check, uninstall
one, check the other, and so on.  The third-party dependencies of both are installed once into a shared folder
(a ``.pth`` file puts it on each environment's path); the two distributions themselves are installed into each
environment with pip, so their files and records are exactly what users get.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SDK = "hyperliquid-python-sdk==0.24.0"
OURS = "import hyperliquid_client, hyperliquid_client.client; print(hyperliquid_client.__file__)"
THEIRS = "from hyperliquid.info import Info; import sys; print(sys.modules['hyperliquid'].__file__)"


def _pip(*args: str, python: Path | None = None, cwd: Path | None = None) -> str:
    target = ["--python", str(python)] if python is not None else []
    cmd = [sys.executable, "-m", "pip", *target, *args, "--disable-pip-version-check"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, check=False, timeout=240)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _run(python: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=cwd, env=env, check=False)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Our wheel, the SDK's, and a folder with every third-party dependency of both installed."""
    work = tmp_path_factory.mktemp("coinstall")
    src = work / "src"
    shutil.copytree(
        ROOT / "hyperliquid_client", src / "hyperliquid_client", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    _pip("wheel", "--no-deps", "--quiet", "-w", str(work / "dist"), str(src))
    (ours,) = (work / "dist").glob("hyperliquid_client-*.whl")
    _pip("download", "--quiet", "--dest", str(work / "wheels"), str(ours), SDK)
    (sdk,) = (work / "wheels").glob("hyperliquid_python_sdk-*.whl")
    deps = [str(w) for w in (work / "wheels").iterdir() if w.name not in (ours.name, sdk.name)]
    _pip("install", "--quiet", "--no-index", "--no-deps", "--target", str(work / "deps"), *deps)
    return {"ours": ours, "sdk": sdk, "deps": work / "deps", "work": work}


def _venv(wheels: dict[str, Path], name: str) -> Path:
    path = wheels["work"] / name
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    python = path / "bin" / "python"
    site = Path(_run(python, "import sysconfig; print(sysconfig.get_paths()['purelib'])", path).stdout.strip())
    (site / "shared-deps.pth").write_text(str(wheels["deps"]) + "\n")
    return python


def _install(python: Path, wheels: dict[str, Path], which: str) -> None:
    _pip("install", "--quiet", "--no-index", "--no-deps", str(wheels[which]), python=python)


def _uninstall(python: Path, dist: str) -> None:
    _pip("uninstall", "--yes", "--quiet", dist, python=python)


def _works(python: Path, ours: bool, sdk: bool) -> None:
    venv = python.parent.parent
    for code, expected, what in ((OURS, ours, "hyperliquid_client"), (THEIRS, sdk, "the SDK's hyperliquid")):
        proc = _run(python, code, cwd=venv)
        if expected:
            assert proc.returncode == 0, f"{what} does not import:\n{proc.stderr[-3000:]}"
            assert str(venv) in proc.stdout, f"{what} was imported from outside the environment: {proc.stdout}"
        else:
            assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr, f"{what} still imports"
    command = venv / "bin" / "hyperliquid"
    if ours:
        proc = subprocess.run(
            [str(command), "endpoints", "--context", "stats", "--json"], capture_output=True, text=True
        )
        assert proc.returncode == 0 and '"stats"' in proc.stdout, proc.stderr[-2000:]
    else:
        assert not command.exists()


def test_the_wheels_ship_distinct_packages(wheels: dict[str, Path]) -> None:
    ours = {n.split("/")[0] for n in zipfile.ZipFile(wheels["ours"]).namelist() if not n.endswith(".dist-info/")}
    sdk = {n.split("/")[0] for n in zipfile.ZipFile(wheels["sdk"]).namelist()}
    packages = {n for n in ours if not n.endswith(".dist-info")}
    assert packages == {"hyperliquid_client"}
    assert "hyperliquid" in sdk and not packages & sdk
    entry_points = zipfile.ZipFile(wheels["sdk"]).namelist()
    assert not any(n.endswith("entry_points.txt") for n in entry_points) or "hyperliquid =" not in (
        zipfile.ZipFile(wheels["sdk"]).read(next(n for n in entry_points if n.endswith("entry_points.txt"))).decode()
    )


DISTRIBUTIONS = {"ours": "hyperliquid-client", "sdk": "hyperliquid-python-sdk"}


@pytest.mark.parametrize(("first", "second"), [("ours", "sdk"), ("sdk", "ours")])
def test_install_in_either_order_then_remove_either(wheels: dict[str, Path], first: str, second: str) -> None:
    python = _venv(wheels, f"{first}-first")
    _install(python, wheels, first)
    _works(python, **{first: True, second: False})
    _install(python, wheels, second)
    _works(python, ours=True, sdk=True)
    _uninstall(python, DISTRIBUTIONS[second])  # remove the one installed last ...
    _works(python, **{first: True, second: False})
    _install(python, wheels, second)
    _uninstall(python, DISTRIBUTIONS[first])  # ... and, after reinstalling it, the one installed first
    _works(python, **{first: False, second: True})
