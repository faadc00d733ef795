"""References in docs, docstrings and comments point inside the repository or at public URLs.

A clone must stand on its own: no citation of documents that are not in it (the project's private
reference notes), no path outside the repository, and every repository path or relative link that a
Markdown page names exists.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Provenance notes copied with the data sets: they name their original documents on purpose and say so.
PROVENANCE = {"tests/data/vectors/PROVENANCE.md", "tests/data/fixtures/README.md"}
DANGLING = re.compile(
    r"\b(?:API|SIGNING|ENDPOINTS|DESIGN)\.md\b|design card|signing_spec|\.\./shared|\bshared/(?:docs|vectors|fixtures)"
    r"|/work/|/home/\w"
)
TOP = ("docs/", "tests/", "hyperliquid_client/", "spec/", "bench/", "scripts/", ".ci/")
PATH_IN_TICKS = re.compile(r"`((?:{})[\w./*-]*)`".format("|".join(re.escape(t) for t in TOP)))
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [f for f in out.splitlines() if (ROOT / f).is_file()]


def _text_files() -> list[str]:
    suffixes = {".py", ".md", ".yaml", ".toml", ".j2", ".sh", ".txt", ".cfg", ""}
    return [
        f for f in _tracked() if (Path(f).suffix in suffixes and not f.startswith("tests/data/")) or f in PROVENANCE
    ]


def test_no_reference_to_documents_outside_the_repository() -> None:
    hits = []
    for rel in _text_files():
        if rel in PROVENANCE or rel == "tests/test_references.py":
            continue
        for n, line in enumerate((ROOT / rel).read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if DANGLING.search(line):
                hits.append(f"{rel}:{n}: {line.strip()[:120]}")
    assert not hits, "references to documents or paths outside the repository:\n" + "\n".join(hits)


def test_provenance_notes_say_what_is_not_here() -> None:
    for rel in PROVENANCE:
        head = (ROOT / rel).read_text(encoding="utf-8")[:1500]
        assert "**In this repository**" in head, rel


def test_paths_and_links_in_markdown_exist() -> None:
    missing = []
    for rel in (f for f in _tracked() if f.endswith(".md") and f not in PROVENANCE):  # those name other repos
        page = ROOT / rel
        text = page.read_text(encoding="utf-8")
        for path in PATH_IN_TICKS.findall(text):
            if "NNNN" in path:
                continue  # a file-name pattern, not a file
            candidates = list(ROOT.glob(path.rstrip("/"))) if "*" in path else [ROOT / path.rstrip("/")]
            if not any(c.exists() for c in candidates):
                missing.append(f"{rel}: `{path}`")
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a URL or an anchor on the same page
            if not (page.parent / target.split("#", 1)[0]).exists():
                missing.append(f"{rel}: ({target})")
    assert not missing, "Markdown names paths that do not exist:\n" + "\n".join(missing)
