"""The training mixture for the generators: CelebA, FairFace and UTKFace in equal thirds, FairFace
and UTKFace each drawn balanced across their race groups, so that neither CelebA's young,
light-skinned celebrities nor any one group dominates what the generators learn."""

from __future__ import annotations

from ..data import Balanced, FaceSet, Mixture, load

DEFAULT_PACKS = ("celeba64", "fairface64", "utkface64")


def training_mixture(
    packs: str | tuple[str, ...] = DEFAULT_PACKS, limit: int | None = None
) -> tuple[Mixture, list[FaceSet]]:
    """Each pack's train split; packs with race labels are sampled balanced by race."""
    names = [p for p in (packs.split(",") if isinstance(packs, str) else packs) if p]
    parts, sets = [], []
    for name in names:
        train = load(name, limit=limit).filter(split="train")
        if len(train) == 0:
            raise ValueError(f"{name} has no train split to learn from")
        races = train.groups("race")
        parts.append(Balanced(train, "race") if len(races) > 1 else train)
        sets.append(train)
    return Mixture(parts, [1.0] * len(parts)), sets
