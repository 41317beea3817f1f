"""The training mixture for the generators: CelebA, FairFace and UTKFace in equal thirds, FairFace
and UTKFace each drawn balanced across their race groups, so that neither CelebA's young,
light-skinned celebrities nor any one group dominates what the generators learn.

A pack may carry a weight, `celeba64:2,fairface64,utkface64` (half CelebA, a quarter each of the
others), where a model is scored against CelebA and the trade against balance is chosen on purpose."""

from __future__ import annotations

from ..data import Balanced, FaceSet, Mixture, load
from ..errors import InvalidInput

DEFAULT_PACKS = ("celeba64", "fairface64", "utkface64")


def training_mixture(
    packs: str | tuple[str, ...] = DEFAULT_PACKS, limit: int | None = None
) -> tuple[Mixture, list[FaceSet]]:
    """Each pack's train split; packs with race labels are sampled balanced by race."""
    names, weights = pack_weights(packs)
    parts, sets = [], []
    for name in names:
        train = load(name, limit=limit).filter(split="train")
        if len(train) == 0:
            raise InvalidInput(f"{name} has no train split to learn from")
        races = train.groups("race")
        parts.append(Balanced(train, "race") if len(races) > 1 else train)
        sets.append(train)
    return Mixture(parts, weights), sets


def pack_weights(packs: str | tuple[str, ...]) -> tuple[list[str], list[float]]:
    """'a:2,b,c' -> (['a', 'b', 'c'], [2.0, 1.0, 1.0])."""
    names, weights = [], []
    for item in packs.split(",") if isinstance(packs, str) else packs:
        if not item:
            continue
        name, _, weight = item.partition(":")
        try:
            w = float(weight) if weight else 1.0
        except ValueError:
            raise InvalidInput(f"pack weight must be a number: {item!r}") from None
        if not w > 0:
            raise InvalidInput(f"pack weight must be positive: {item!r}")
        names.append(name)
        weights.append(w)
    return names, weights
