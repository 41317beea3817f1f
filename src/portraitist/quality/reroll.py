"""Re-roll bad faces at generation time: regenerate the faces that fail QA with new seeds (or as
variations of the failed face), up to `tries` times each, and keep the first that passes (or the
best seen). Every image leaves with its QA result, for its PNG metadata. (Keeping the least
malformed of all tries instead was measured and set aside: it chose faces that ignore the prompt,
docs/evaluation.md.)"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import InvalidInput
from .analysis import analyse
from .checks import score, verdicts

DEFAULT_REQUIRE = ("face_found", "eyes_match", "well_formed")
RESEED = 1_000_003  # a retry's seed: seed + k * RESEED, so retries never collide with other seeds


def reroll(
    generate: Callable[[list[int]], np.ndarray],
    seeds: Sequence[int],
    tries: int = 4,
    require: Sequence[str] = DEFAULT_REQUIRE,
    retry: Callable[[list[int], list[int]], np.ndarray] | None = None,
) -> tuple[np.ndarray, list[dict]]:
    """`generate(seeds)` returns (len(seeds), H, W, 3) uint8 faces. Returns the kept faces and, per
    face, {"seed", "tries", "qa": verdict, "score", "ok"}. `tries=1` measures without regenerating.
    A retry is the retry seed's own face, or `retry(seeds, retry_seeds)`: a face drawn for each
    failing seed from its retry seed (a variation of the failed face, which keeps whom it drew)."""
    if tries < 1:
        raise InvalidInput(f"tries must be at least 1, got {tries}")
    seeds = list(seeds)
    best_img: list[np.ndarray | None] = [None] * len(seeds)
    info: list[dict] = [{} for _ in seeds]
    pending = list(range(len(seeds)))
    for attempt in range(tries):
        if not pending:
            break
        try_seeds = [seeds[i] + attempt * RESEED for i in pending]
        retried = attempt > 0 and retry is not None
        images = retry([seeds[i] for i in pending], try_seeds) if retried else generate(try_seeds)
        measures = analyse(images)
        still = []
        for k, (i, v) in enumerate(zip(pending, verdicts(measures), strict=True)):
            ok = all(getattr(v, name) for name in require)
            s = score(measures, k)
            if best_img[i] is None or ok or s > info[i]["score"]:
                best_img[i] = images[k]
                info[i] = {
                    "seed": try_seeds[k],
                    "tries": attempt + 1,
                    "qa": v.as_dict(),
                    "score": s,
                    "ok": ok,
                }
            info[i]["tries"] = attempt + 1
            if not ok:
                still.append(i)
        pending = still
    return np.stack(best_img), info
