"""Same person, new portrait: does a model with an identity input keep the person of a reference face
while following the prompt? The issue's targets, measured by instruments independent of the model:
SFace on YuNet-detected faces (cosine >= 0.363: OpenCV's same-person threshold) and the attribute
predictors of the adherence bench.

    python bench/same_person.py --weights campaign/face_diffusion_v4_wip.safetensors [--n 40] \
        [--identity-guidance 3,5] [--out docs/eval/same_person]
    python bench/same_person.py --model face-gan [--weights FILE] [--shift 1,1.5] [--layers 2:6]
    python bench/same_person.py --start-strength 0.5,0.7 [--weights FILE]
    python bench/same_person.py --invert 0.625,0.6875,auto [--steps 16] [--sampler euler] [--people 1]
    python bench/same_person.py --branch 0.5,0.625,auto

`--start-strength S` rows need no identity input (the shipped model does them): each portrait
starts from the reference face itself, encoded and noised S of the way up the schedule, then
denoised under the series prompt (SDEdit, `init` / `strength`): what the studio's "start from
this face" does. Low S keeps the face and may ignore the prompt; high S the reverse.

`--invert S` rows need no identity input either: the reference is inverted instead of noised (the
probability-flow ODE run upwards under a neutral prompt at guidance 1, diffusion/inversion.py) to
the level S of the way up the schedule, then drawn down under the series prompt (`invert_init`,
what the studio's "keep the person" start does). S = 1 is full inversion; `auto` takes the depth the
product picks for each prompt (diffusion/inversion.py, fitted with `--people 1`). Rows also report
each prompt's rates.

`--branch S` rows (generated references only: a real photo has no path to branch from) draw each
portrait along the seed's own path under BASE_PROMPT and follow the series prompt for the last S
of the steps (`branch_from`, what `series --seed` does on a model without an identity input): the
reference is exactly where that path ends, so nothing is lost to an inversion's error.

A GAN's series keeps the seed: "none" rows are the engine's own series (an unconditional GAN
steered, a text-conditioned one prompted: its w mapped under each prompt). For a text-conditioned
GAN, `--shift S` rows keep the face's w (the seed's under the base prompt, or a real reference
projected into W+, 200 steps) and move it by S times the difference between the prompt's average
w and the base prompt's (FaceGAN.shift): the same step for every face; `--layers A:B` moves only
the synthesis layers A to B-1 (the others keep the face's own w), to find layers that carry the
attribute but not the person.

Cases, each over `--n` people and the five SERIES prompts:
- generated: the reference is the face the seed makes for BASE_PROMPT; the series uses that seed.
- real: the reference is a held-out CelebA photo (valid split: identities never trained on).
- none: the same seeds and prompts without a reference (what a seed alone keeps of the person).
Also: pixel L2 (64 px, 0-1 scale) from each output to its reference against two real photos of
one CelebA person (valid split), so a model that copies its reference shows up.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from portraitist.diffusion.inversion import inversion_depth
from portraitist.evaluation.adherence import observed, requested
from portraitist.evaluation.predictors import predict
from portraitist.quality.identity import sface_features

BASE_PROMPT = "close-up portrait photo of a person"
SERIES = [
    "portrait photo of a smiling person",
    "portrait photo of a serious person",
    "portrait photo of a person wearing glasses",
    "portrait photo of an elderly person",
    "portrait photo of a person with blond hair",
]
SAME = 0.363
AUTO = -1.0  # `--invert auto`: the depth the product picks for each prompt (diffusion/inversion.py)


def attribute_hits(images: np.ndarray, prompt: str) -> list[bool]:
    """Per face: does it show every attribute the prompt asks for (as the classifiers see it)?"""
    pred, asked = predict(images), requested(prompt)
    hits = []
    for i in range(len(images)):
        seen = observed(pred, i)
        checks = [(seen[k.rstrip("!")] != v) if k.endswith("!") else (seen[k] == v)
                  for k, v in asked.items() if k.rstrip("!") in seen]  # fmt: skip
        hits.append(all(checks))
    return hits


def real_pairs(n: int, seed: int = 0):
    """n held-out CelebA people: two photos each (reference, other)."""
    from collections import defaultdict

    from portraitist.data import load

    valid = load("celeba64", progress=False).filter(split="valid")
    by_person = defaultdict(list)
    for k in valid.index:
        by_person[valid.identities[k]].append(k)
    people = sorted(p for p, rows in by_person.items() if len(rows) >= 2)
    chosen = np.random.default_rng(seed).choice(len(people), n, replace=False)
    a = np.asarray(valid.images[[by_person[people[c]][0] for c in chosen]])
    b = np.asarray(valid.images[[by_person[people[c]][1] for c in chosen]])
    return a, b


def cosine_to(refs: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SFace cosine of each face to its reference, and where both were detected."""
    fr, mr = sface_features(refs)
    ff, mf = sface_features(faces)
    return (fr * ff).sum(1), mr & mf


def l2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(((a.astype(np.float32) / 255 - b.astype(np.float32) / 255) ** 2).mean(axis=(1, 2, 3)))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=("face-diffusion", "face-gan"), default="face-diffusion")
    ap.add_argument(
        "--weights", help="a face-diffusion file with an identity input; a face-gan file (default shipped)"
    )
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--identity-guidance", default="3", help="comma-separated scales to compare")
    ap.add_argument("--start-strength", help="face-diffusion: comma-separated strengths; each portrait starts "
                    "from the reference face (SDEdit) instead of using an identity input")  # fmt: skip
    ap.add_argument("--invert", help="face-diffusion: comma-separated depths; each portrait starts from the "
                    "reference inverted that far up the schedule (DDIM inversion)")  # fmt: skip
    ap.add_argument("--branch", help="face-diffusion: comma-separated depths (or auto); each portrait follows "
                    "the seed's path under the base prompt, then the series prompt for that share of the steps")  # fmt: skip
    ap.add_argument("--sampler", default="dpmpp_2m", help="face-diffusion: the sampler of every row")
    ap.add_argument("--shift", default="1", help="a text-conditioned GAN: comma-separated shift strengths")
    ap.add_argument("--layers", help="a text-conditioned GAN: A:B, shift only synthesis layers A to B-1")
    ap.add_argument("--people", type=int, default=0, help="which people: 0 (the bench's), or another draw "
                    "of held-out people and seeds, to fit a setting on people it is not then measured on")  # fmt: skip
    ap.add_argument("--out", type=Path, default=Path("docs/eval/same_person"))
    args = ap.parse_args(argv)

    from portraitist.contact_sheet import contact_sheet
    from portraitist.pipelines.face_diffusion import FaceDiffusion
    from portraitist.reference import Reference

    seeds = list(range(500_000 + 1000 * args.people, 500_000 + 1000 * args.people + args.n))
    real, real_other = real_pairs(args.n, seed=args.people)
    if args.model == "face-gan":  # a GAN's series keeps the seed (steered, or prompted if text-conditioned)
        from portraitist import api
        from portraitist.engines import Request

        engine = api.engine("face-gan", args.weights)
        gan, _ = engine.load()
        truncation = engine.card.default_truncation
        args.steps = args.guidance = None
        generated = np.stack(engine.generate(Request(BASE_PROMPT, seed=seeds[0], n=args.n, reroll=0)))
        cases, scales = {"generated": generated}, []
        if gan.conditional:
            from portraitist.latent.gan_directions import project

            scales = [float(s) for s in args.shift.split(",")]
            start = {"generated": gan.ws(seeds, truncation, BASE_PROMPT),
                     "real": torch.cat([project(gan, f, steps=200, seed=s)[0] for f, s in zip(real, seeds, strict=True)])}  # fmt: skip
            cases["real"] = real

        layers = slice(*(int(x) for x in args.layers.split(":"))) if args.layers else slice(None)

        def faces(prompt, case=None, scale=None):
            if scale is None:
                return np.stack(engine.generate(Request(prompt, seed=seeds[0], n=len(seeds), reroll=0)))
            w = start[case] if start[case].dim() == 3 else start[case].unsqueeze(1).repeat(1, gan.G.num_ws, 1)
            w = w.clone()
            w[:, layers] = gan.shift(w[:, layers], prompt, BASE_PROMPT, scale)
            return gan.synthesize(w, seeds)
    else:
        pipe = FaceDiffusion.from_pretrained(args.weights)  # no --weights: the shipped model
        starts = args.start_strength or args.invert or args.branch
        if not starts and not pipe.takes_reference:
            raise SystemExit(f"{args.weights or 'the shipped model'} has no identity input (train with "
                             "--identity), so only --start-strength, --invert or --branch can keep a person")  # fmt: skip

        def faces(prompt, case=None, scale=None):
            if scale is not None and starts:
                depth = inversion_depth(prompt) if scale == AUTO else scale  # the product's depth for it
                if args.branch:
                    start = {"strength": depth, "branch_from": BASE_PROMPT}
                else:
                    start = {"init": cases[case], "strength": depth, "invert_init": bool(args.invert)}
                return pipe(prompt, None, args.steps, args.guidance, seeds, args.sampler, **start)
            identity = None if scale is None else embed[case]
            return pipe(prompt, None, args.steps, args.guidance, seeds, args.sampler, None, identity, scale)

        cases = {"generated": faces(BASE_PROMPT)} | ({} if args.branch else {"real": real})
        scales = [AUTO if s == "auto" else float(s)
                  for s in (starts or args.identity_guidance).split(",")]  # fmt: skip
    # generated faces are framed like the training faces already; real CelebA photos too
    embed = {
        k: np.stack([Reference.from_aligned(f, k).embedding for f in v])
        for k, v in (cases | {"real": real}).items()
    }
    pair_cos, pair_ok = cosine_to(real, real_other)
    # the conditioning embedding (fixed template warp, no detection) on the same pairs
    other = np.stack([Reference.from_aligned(f, "other").embedding for f in real_other])
    template_cos = (embed["real"] * other).sum(1)
    results = {
        "model": args.model, "weights": str(args.weights), "layers": args.layers, "start_strength": args.start_strength, "invert": args.invert, "branch": args.branch, "sampler": args.sampler, "people": args.people, "n": args.n, "steps": args.steps, "guidance": args.guidance,
        "real_pairs": {"same_person_rate": float((pair_cos[pair_ok] >= SAME).mean()),
                       "same_person_rate_template": float((template_cos >= SAME).mean()),
                       "pixel_l2": float(l2(real, real_other).mean())},
        "rows": [],
    }  # fmt: skip
    sheet, captions = [], []  # per case: the references, then each prompt at the first scale (or none)
    for case, refs in cases.items():
        sheet += list(refs[:8])
        captions += [f"{case} reference"] * min(8, len(refs))
        for scale in [None, *scales]:
            how = ("shift" if args.model == "face-gan" else "invert" if args.invert else "branch" if args.branch
                   else "start" if args.start_strength else "identity")  # fmt: skip
            label = "none" if scale is None else f"{how} {'auto' if scale == AUTO else f'{scale:g}'}"
            if case == "real" and scale is None:
                continue  # without a reference, a seed has nothing to do with a real person
            same, attr, dist, by_prompt = [], [], [], {}
            for prompt in SERIES:
                out = faces(prompt, case, scale)
                cos, ok = cosine_to(refs, out)
                kept, shown = np.where(ok, cos >= SAME, False), attribute_hits(out, prompt)
                by_prompt[prompt] = {
                    "same_person_rate": float(np.mean(kept)),
                    "attribute_rate": float(np.mean(shown)),
                }
                same += list(kept)
                attr += shown
                dist += list(l2(refs, out))
                if scale == (scales[0] if scales else None):
                    sheet += list(out[:8])
                    captions += [prompt.removeprefix("portrait photo of ")] * min(8, len(out))
            row = {"case": case, "reference": label, "same_person_rate": float(np.mean(same)),
                   "attribute_rate": float(np.mean(attr)), "pixel_l2": float(np.mean(dist)), "by_prompt": by_prompt}  # fmt: skip
            results["rows"].append(row)
            print(row, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "same_person.json").write_text(json.dumps(results, indent=2))
    contact_sheet(np.stack(sheet), captions, cell=96, columns=8, caption_lines=2).save(
        args.out / "same_person.png"
    )
    print(
        "\n| reference | scale | same person | attribute present | pixel L2 to reference |\n|---|---|---:|---:|---:|"
    )
    for r in results["rows"]:
        print(f"| {r['case']} | {r['reference']} | {r['same_person_rate']:.2f} | {r['attribute_rate']:.2f} | "
              f"{r['pixel_l2']:.3f} |")  # fmt: skip
    print("\nBy prompt (same person / attribute present):\n| reference | scale | "
          + " | ".join(p.removeprefix("portrait photo of ") for p in SERIES) + " |\n|---|---|" + "---:|" * len(SERIES))  # fmt: skip
    for r in results["rows"]:
        cells = (
            f"{r['by_prompt'][p]['same_person_rate']:.2f} / {r['by_prompt'][p]['attribute_rate']:.2f}"
            for p in SERIES
        )
        print(f"| {r['case']} | {r['reference']} | " + " | ".join(cells) + " |")
    rp = results["real_pairs"]
    print(f"| two real photos of one person | - | {rp['same_person_rate']:.2f} | - | {rp['pixel_l2']:.3f} |")
    print(
        f"(the same pairs by the conditioning embedding, template-warped: same person {rp['same_person_rate_template']:.2f})"
    )
    return results


if __name__ == "__main__":
    main()
