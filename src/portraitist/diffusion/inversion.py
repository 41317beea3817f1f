"""Inversion: the starting noise from which a deterministic sampler would draw a given latent, found
by running the probability-flow ODE upwards (DDIM inversion, in the EDM frame). Editing a real
photo is then: align, encode, invert with its prompt, and sample again from that noise with the
edited prompt (latent/prompt_edits.py).

Each upward step is the Euler sampler's step run backwards: x_next = x + (x_next - D(x_next)) /
s_next * (s_next - s), implicit in x_next, solved by `iterations` fixed-point rounds (the first
round is plain DDIM inversion). Measured on 8 CelebA faces, 16 steps, the shipped model, guidance
1 (the autoencoder alone: 28.1 dB): plain inversion then Euler sampling gives back 13.0 dB, three
rounds 24.9 dB.
"""

from __future__ import annotations

import torch

from .samplers import Model

# the neutral prompt a photo is inverted under (guidance 1), and the steps it takes by default:
# at 8 a real photo keeps its person less often (docs/identity.md)
INVERSION_PROMPT = "close-up portrait photo of a person"
INVERSION_STEPS = 16

# How far up the schedule a photo is inverted before the prompt takes over, by what the prompt asks:
# a smile shows from half way, glasses and blond hair need three quarters. Fitted on the shipped
# model, 40 held-out CelebA people (`bench/same_person.py --invert ... --people 1`): the shallowest
# depth at which the asked attribute shows in 80% of portraits, else the shallowest within 0.05 of
# its best (docs/identity.md). A prompt asking several takes the deepest; anything else the default.
INVERSION_DEPTHS = {
    ("smiling", True): 0.5,
    ("smiling", False): 0.75,
    ("eyeglasses", True): 0.75,
    ("age", "old"): 0.625,
    ("hair", "blond"): 0.75,
}
DEFAULT_INVERSION_DEPTH = 0.625


def inversion_depth(prompt: str, negative_prompt: str | None = None) -> float:
    """The depth (strength) an inversion start takes for this prompt when the request names none."""
    from ..prompting.requested import requested

    asked = requested(prompt, negative_prompt).wanted.items()
    return max(
        (INVERSION_DEPTHS.get(kv, DEFAULT_INVERSION_DEPTH) for kv in asked), default=DEFAULT_INVERSION_DEPTH
    )


@torch.no_grad()
def invert(model: Model, x0: torch.Tensor, sigmas: torch.Tensor, iterations: int = 3) -> torch.Tensor:
    """`sigmas` as sampling uses them (descending, ending at 0); returns x at sigmas[0], from which
    `sample_euler` on the same sigmas draws (close to) x0."""
    up = sigmas.flip(0)
    x = x0
    for i in range(len(up) - 1):
        s0, s1 = up[i], up[i + 1]
        nxt = x
        for _ in range(iterations):
            nxt = x + (nxt - model(nxt, s1.expand(len(x)))) / s1 * (s1 - s0)
        x = nxt
    return x
