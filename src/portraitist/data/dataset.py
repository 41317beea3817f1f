"""Decoded faces with their labels: views by split and label, balanced sampling, weighted mixing of
datasets, and horizontal-flip augmentation that keeps labels true (a mirrored face is lit from the
other side)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import InvalidInput
from .cache import Decoded, decode
from .pixel_attributes import classify
from .schema import LABEL_NAMES, SPLITS, FaceLabels
from .sources import Source, open_source

Batch = tuple[np.ndarray, list[FaceLabels]]


def _with_lighting(labels: FaceLabels, m: np.ndarray) -> FaceLabels:
    lit = classify(m)
    return replace(
        labels, light=lit.light, temperature=lit.temperature, key=lit.key, monochrome=lit.monochrome
    )


def flip_horizontal(images: np.ndarray, labels: Sequence[FaceLabels]) -> Batch:
    """Mirror (N, H, W, C) images left-right, and their labels with them."""
    return np.ascontiguousarray(images[:, :, ::-1]), [lab.mirrored() for lab in labels]


class Sampler(Protocol):
    name: str

    def sample(self, n: int, rng: np.random.Generator, flip: bool = False) -> Batch: ...


@dataclass
class FaceSet:
    """A view (`index`) onto one decoded dataset. Views share the memory-mapped pixels."""

    name: str
    images: np.ndarray  # every decoded image of the source, (N, H, W, 3) uint8
    labels: list[FaceLabels]  # aligned with images
    splits: np.ndarray  # aligned with images
    files: list[str]
    identities: list[str | None]
    index: np.ndarray
    notes: tuple[str, ...] = ()  # what was skipped or not understood while reading
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # per-image arrays beyond the schema

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> tuple[np.ndarray, FaceLabels]:
        row = self.index[i]
        return np.asarray(self.images[row]), self.labels[row]

    @property
    def size(self) -> int:
        return self.images.shape[1]

    def _view(self, index: np.ndarray, suffix: str) -> FaceSet:
        return replace(self, index=np.asarray(index, dtype=np.int64), name=f"{self.name}{suffix}")

    def filter(
        self, split: str | None = None, where: Callable[[FaceLabels], bool] | None = None, **equals: object
    ) -> FaceSet:
        """Keep faces in `split` whose labels equal every `equals` (e.g. gender="female", smiling=True)
        and satisfy `where`. Unknown (None) never equals a value."""
        if split is not None and split not in SPLITS:
            raise InvalidInput(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
        for name in equals:
            if name not in LABEL_NAMES:
                raise InvalidInput(f"unknown label {name!r}; known labels: {', '.join(LABEL_NAMES)}")
        keep = self.index
        if split is not None:
            keep = keep[self.splits[keep] == split]
        if equals or where:
            keep = np.array(
                [
                    r
                    for r in keep
                    if all(self.labels[r].get(k) == v for k, v in equals.items())
                    and (where is None or where(self.labels[r]))
                ],
                dtype=np.int64,
            )
        desc = ",".join([split or ""] + [f"{k}={v}" for k, v in equals.items()]).strip(",")
        return self._view(keep, f"[{desc}]" if desc else "")

    def groups(self, by: str) -> dict[object, np.ndarray]:
        """Rows of this view per known value of label `by` (unknown faces are left out)."""
        if by not in LABEL_NAMES:
            raise InvalidInput(f"unknown label {by!r}; known labels: {', '.join(LABEL_NAMES)}")
        out: dict[object, list[int]] = {}
        for r in self.index:
            v = self.labels[r].get(by)
            if v is not None:
                out.setdefault(v, []).append(int(r))
        return {k: np.asarray(v, dtype=np.int64) for k, v in sorted(out.items(), key=lambda kv: str(kv[0]))}

    def balanced(self, by: str, per_group: int | None = None, seed: int = 0) -> FaceSet:
        """A subset with the same number of faces for each value of `by` (the smallest group's size
        unless `per_group` is given), drawn without replacement: a fair reference set for bias work."""
        groups = self.groups(by)
        if not groups:
            raise InvalidInput(f"{self.name}: no face has a known {by!r}")
        smallest = min(len(g) for g in groups.values())
        k = smallest if per_group is None else per_group
        if k > smallest:
            raise InvalidInput(f"per_group={k} but the smallest {by!r} group has only {smallest} faces")
        rng = np.random.default_rng(seed)
        rows = np.concatenate([rng.choice(g, size=k, replace=False) for g in groups.values()])
        return self._view(np.sort(rows), f"[balanced {by}]")

    def sample(self, n: int, rng: np.random.Generator, flip: bool = False) -> Batch:
        """`n` faces uniformly at random (with replacement), each mirrored with chance 1/2 if `flip`."""
        if len(self) == 0:
            raise InvalidInput(f"{self.name} is empty")
        return self._take(self.index[rng.integers(0, len(self), size=n)], rng, flip)

    def _take(self, rows: np.ndarray, rng: np.random.Generator, flip: bool) -> Batch:
        order = np.argsort(rows, kind="stable")  # sorted reads are kinder to a memory map
        images = np.empty((len(rows), *self.images.shape[1:]), dtype=np.uint8)
        images[order] = self.images[rows[order]]
        labels = [self.labels[r] for r in rows]
        if flip:
            mirror = rng.random(len(rows)) < 0.5
            images[mirror] = images[mirror][:, :, ::-1]
            labels = [lab.mirrored() if m else lab for lab, m in zip(labels, mirror, strict=True)]
        return images, labels

    def batches(self, batch_size: int, seed: int = 0, flip: bool = False) -> Iterator[Batch]:
        """One epoch in a seeded random order, without replacement."""
        rng = np.random.default_rng(seed)
        order = rng.permutation(self.index)
        for s in range(0, len(order), batch_size):
            yield self._take(order[s : s + batch_size], rng, flip)

    def histogram(self, name: str) -> Counter:
        """Counts of each value of label `name` in this view, None for unknown."""
        if name not in LABEL_NAMES:
            raise InvalidInput(f"unknown label {name!r}; known labels: {', '.join(LABEL_NAMES)}")
        return Counter(self.labels[r].get(name) for r in self.index)

    def split_counts(self) -> dict[str, int]:
        values, counts = np.unique(self.splits[self.index], return_counts=True)
        return {str(v): int(c) for v, c in zip(values, counts, strict=True)}


@dataclass
class Balanced:
    """Draws a group of label `by` uniformly, then a face within it: every group equally often."""

    faces: FaceSet
    by: str

    def __post_init__(self) -> None:
        self.groups = self.faces.groups(self.by)
        if not self.groups:
            raise InvalidInput(f"{self.faces.name}: no face has a known {self.by!r}")
        self.name = f"{self.faces.name}[balanced {self.by}]"

    def sample(self, n: int, rng: np.random.Generator, flip: bool = False) -> Batch:
        keys = list(self.groups)
        picks = rng.integers(0, len(keys), size=n)
        rows = np.array([self.groups[keys[g]][rng.integers(0, len(self.groups[keys[g]]))] for g in picks])
        return self.faces._take(rows, rng, flip)


@dataclass
class Mixture:
    """Draws from several samplers with the given weights (normalised), e.g. three datasets so that
    none dominates. Each face's source is chosen independently."""

    parts: Sequence[Sampler]
    weights: Sequence[float]

    def __post_init__(self) -> None:
        if len(self.parts) != len(self.weights) or not self.parts:
            raise InvalidInput("a mixture needs one weight per part, and at least one part")
        w = np.asarray(self.weights, dtype=np.float64)
        if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise InvalidInput(
                f"mixture weights must be finite, non-negative and not all zero: {self.weights}"
            )
        self.p = w / w.sum()
        self.name = " + ".join(f"{p.name}:{q:.2f}" for p, q in zip(self.parts, self.p, strict=True))

    def sample(self, n: int, rng: np.random.Generator, flip: bool = False) -> Batch:
        which = rng.choice(len(self.parts), size=n, p=self.p)
        images, labels = None, [None] * n
        for k, part in enumerate(self.parts):
            slots = np.flatnonzero(which == k)
            if len(slots) == 0:
                continue
            imgs, labs = part.sample(len(slots), rng, flip)
            if images is None:
                images = np.empty((n, *imgs.shape[1:]), dtype=imgs.dtype)
            elif imgs.shape[1:] != images.shape[1:]:
                raise InvalidInput(
                    f"mixture parts differ in image shape: {imgs.shape[1:]} vs {images.shape[1:]}"
                )
            images[slots] = imgs
            for s, lab in zip(slots, labs, strict=True):
                labels[s] = lab
        return images, labels


def from_decoded(source: Source, decoded: Decoded) -> FaceSet:
    kept = decoded.kept
    labels = [_with_lighting(source.labels[k], m) for k, m in zip(kept, decoded.measures, strict=True)]
    notes = tuple(n for n in (decoded.skip_summary(), source.report.summary()) if n)
    return FaceSet(
        name=source.name,
        images=decoded.images,
        labels=labels,
        splits=np.asarray([source.splits[k] for k in kept]),
        files=[source.files[k] for k in kept],
        identities=[source.identities[k] for k in kept],
        index=np.arange(len(kept), dtype=np.int64),
        notes=notes,
        extra={k: v[kept] for k, v in source.extra.items()},
    )


def load(
    name_or_path: str | Path,
    size: int = 64,
    kind: str | None = None,
    limit: int | None = None,
    progress: bool = True,
    cache_root: Path | None = None,
) -> FaceSet:
    """Open a dataset (a pack name like `celeba64`, or a path to any supported layout), decode it
    once into the cache, and return all of it as a FaceSet."""
    source = open_source(name_or_path, kind=kind, limit=limit)
    return from_decoded(source, decode(source, size, progress=progress, root=cache_root))


def to_tensor(images: np.ndarray):
    """(N, H, W, 3) uint8 -> torch float32 (N, 3, H, W) in [-1, 1]."""
    import torch

    t = (
        torch.from_numpy(np.array(images, dtype=np.uint8)).permute(0, 3, 1, 2).float()
    )  # a copy: memmaps are read-only
    return t.div_(127.5).sub_(1.0)
