"""Where data packs are found, where decoded caches live, and where the shipped weights are."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"  # the shipped weights, inside the package
ATTRIBUTE_WEIGHTS = WEIGHTS_DIR / "attributes.safetensors"
PLAUSIBILITY_WEIGHTS = WEIGHTS_DIR / "plausibility.safetensors"


def data_roots() -> list[Path]:
    """Folders searched for data packs by name: $PORTRAITIST_DATA, then ../shared/data beside the
    working directory and beside this checkout."""
    roots = [Path(p) for p in os.environ.get("PORTRAITIST_DATA", "").split(os.pathsep) if p]
    roots += [Path.cwd() / ".." / "shared" / "data", REPO_ROOT.parent / "shared" / "data"]
    seen, out = set(), []
    for r in roots:
        key = r.resolve()
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def find_data(name_or_path: str | os.PathLike) -> Path:
    """A pack name such as `celeba64`, or any path to a dataset folder."""
    p = Path(name_or_path).expanduser()
    if p.exists():
        return p
    for root in data_roots():
        if (root / p).exists():
            return root / p
    searched = ", ".join(str(r) for r in data_roots())
    raise FileNotFoundError(
        f"no dataset at {str(name_or_path)!r}: not a path, and not a pack under {searched}. "
        "Set PORTRAITIST_DATA to the folder holding the packs, or pass a path."
    )


def cache_dir() -> Path:
    """$PORTRAITIST_CACHE, else $XDG_CACHE_HOME/portraitist, else ~/.cache/portraitist."""
    if os.environ.get("PORTRAITIST_CACHE"):
        return Path(os.environ["PORTRAITIST_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "portraitist"
