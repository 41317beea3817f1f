"""Decode a dataset once into a memory-mapped uint8 NHWC `.npy`, so epochs never touch a JPEG again.

A cache folder is keyed by the source's fingerprint (file sizes and times, the crop, the size), is
built in a temporary folder and renamed into place (a killed build leaves no half cache), and is
guarded by a file lock so that several training processes share one build.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..errors import InvalidInput
from ..paths import cache_dir
from .images import ImageDecodeError, decode_image
from .pixel_attributes import measure
from .sources import Source

CACHE_VERSION = 1
CHUNK = 512


@dataclass
class Decoded:
    """A source's decoded images. `kept[i]` is the source record behind `images[i]`."""

    images: np.ndarray  # (N, size, size, 3) uint8, memory-mapped
    measures: np.ndarray  # (N, 4) float32, pixel_attributes.MEASURES
    kept: np.ndarray  # (N,) int64 indices into the source's records
    skipped: list[tuple[str, str, str]]  # (file, reason, detail)
    path: Path

    def skip_summary(self) -> str:
        if not self.skipped:
            return "no images skipped"
        counts = Counter(reason for _, reason, _ in self.skipped)
        total = len(self.kept) + len(self.skipped)
        detail = ", ".join(f"{n} {reason}" for reason, n in counts.most_common())
        return f"skipped {len(self.skipped)} of {total} images ({detail})"


def cache_key(source: Source, size: int) -> str:
    text = f"v{CACHE_VERSION}|{source.kind}|{source.fingerprint}|{source.crop_box}|{size}"
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def decode(source: Source, size: int = 64, progress: bool = True, root: Path | None = None) -> Decoded:
    """The decoded images of `source` at `size` px, from the cache or built into it now."""
    if not 8 <= size <= 1024:
        raise InvalidInput(f"image size must be between 8 and 1024 px, got {size}")
    base = Path(root) if root else cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    folder = base / f"{source.name}-{source.kind}-{size}px-{cache_key(source, size)}"
    with open(base / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _load(folder, size)
        except FileNotFoundError:
            pass
        except (ValueError, OSError, KeyError, json.JSONDecodeError) as e:
            warnings.warn(f"cache {folder} is damaged ({e}); rebuilding it", stacklevel=2)
            shutil.rmtree(folder, ignore_errors=True)
        for stale in base.glob(folder.name + ".tmp-*"):  # left by a build that was killed
            shutil.rmtree(stale, ignore_errors=True)
        _build(source, size, folder, progress)
        return _load(folder, size)


def _load(folder: Path, size: int) -> Decoded:
    index = json.loads((folder / "index.json").read_text())
    images = np.load(folder / "images.npy", mmap_mode="r")
    measures = np.load(folder / "measures.npy")
    kept = np.asarray(index["kept"], dtype=np.int64)
    if images.shape != (len(kept), size, size, 3) or images.dtype != np.uint8 or len(measures) != len(kept):
        raise InvalidInput(f"shapes disagree: images {images.shape}, {len(kept)} records")
    return Decoded(images, measures, kept, [tuple(s) for s in index["skipped"]], folder)


def _build(source: Source, size: int, folder: Path, progress: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
    try:
        n = len(source)
        full = np.lib.format.open_memmap(tmp / "all.npy", mode="w+", dtype=np.uint8, shape=(n, size, size, 3))
        kept: list[int] = []
        skipped: list[tuple[str, str, str]] = []
        bar = tqdm(
            source.files,
            desc=f"decoding {source.name} at {size}px",
            unit="img",
            disable=not progress or n < 2000,
            file=sys.stderr,
            mininterval=1.0,
        )
        for i, name in enumerate(bar):
            try:
                full[len(kept)] = decode_image(source.read(name), size, crop_box=source.crop_box)
                kept.append(i)
            except ImageDecodeError as e:
                skipped.append((name, e.reason, str(e)))
            except (FileNotFoundError, IsADirectoryError, PermissionError) as e:
                skipped.append((name, "missing", str(e)))
        if not kept:
            reasons = Counter(r for _, r, _ in skipped).most_common()
            raise ImageDecodeError("empty", f"no image of {source.name} could be decoded: {reasons}")
        full.flush()
        if len(kept) == n:
            del full
            (tmp / "all.npy").replace(tmp / "images.npy")
        else:  # copy the decoded rows into a file of the right length
            images = np.lib.format.open_memmap(
                tmp / "images.npy", mode="w+", dtype=np.uint8, shape=(len(kept), size, size, 3)
            )
            for s in range(0, len(kept), 4096):
                e = min(s + 4096, len(kept))
                images[s:e] = full[s:e]
            images.flush()
            del images, full
            (tmp / "all.npy").unlink()
        images = np.load(tmp / "images.npy", mmap_mode="r")
        measures = np.concatenate([measure(images[s : s + CHUNK]) for s in range(0, len(kept), CHUNK)])
        np.save(tmp / "measures.npy", measures)
        (tmp / "index.json").write_text(json.dumps({"kept": kept, "skipped": skipped, "size": size}))
        os.replace(tmp, folder)
        if skipped:
            counts = Counter(r for _, r, _ in skipped)
            warnings.warn(
                f"{source.name}: skipped {len(skipped)} of {n} images ({dict(counts)}); "
                f"first: {skipped[0][0]}: {skipped[0][2]}",
                stacklevel=3,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
