"""Which model edits faces more cleanly: the attribute change an edit achieves against the
identity it keeps (SFace cosine similarity between the face before and after) and the other
attributes it leaves alone (gender, for the edits that are not about gender).

    python bench/edit_cleanliness.py [--n 100] [--strengths 1,2,3] [--out docs/eval/edits]
        [--diffusion-weights FILE] [--models face-gan,face-diffusion,face-diffusion+person]

GAN: W-space directions (InterFaceGAN boundaries) at `strength` standard deviations of W.
Diffusion: prompt-arithmetic edits at `strength` (the same seed and initial noise);
"face-diffusion+person" also gives a model with an identity input the unedited face as the
reference face (latent/prompt_edits.py), to compare at equal attribute change.
Both measured by the same instruments on the same number of faces; prints a Markdown table and
writes edits.json and edits.png (attribute change against identity kept, per model).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from portraitist.evaluation.adherence import observed
from portraitist.evaluation.features import sface_features
from portraitist.evaluation.predictors import predict

# edit name (the studio's) -> the attribute and value the edit should produce, as `observed` reads it
TARGETS = {
    "age": ("age", "old"),
    "smile": ("smiling", True),
    "glasses": ("eyeglasses", True),
    "hair": ("hair", "blond"),
    "gender": ("gender", "male"),
}


def gan_editor(weights: str | None):
    from portraitist.engines.embedded import FACE_GAN, FaceGANEngine
    from portraitist.latent.gan_directions import edit_w
    from portraitist.vocabulary import GAN_DIRECTION_OF_EDIT

    gan, directions = FaceGANEngine(weights).load()

    def run(seeds: list[int], edit: dict[str, float]) -> np.ndarray:
        w = gan.ws(seeds, FACE_GAN.default_truncation)
        named = {GAN_DIRECTION_OF_EDIT.get(k, k): v for k, v in edit.items()}
        return gan.synthesize(edit_w(w, directions, named), seeds)  # synthesize runs in inference mode

    return run


def diffusion_editor(weights: str | None, keep_person: bool = False):
    from portraitist.engines.embedded import FACE_DIFFUSION as card
    from portraitist.latent.prompt_edits import edit
    from portraitist.pipelines.face_diffusion import FaceDiffusion

    model = FaceDiffusion.from_pretrained(weights)
    if keep_person and not model.takes_reference:
        raise SystemExit(
            f"{weights or 'the shipped model'} has no identity input: face-diffusion+person needs one"
        )
    settings = (None, card.default_steps, card.default_guidance, card.default_sampler)

    def run(seeds: list[int], edits: dict[str, float]) -> np.ndarray:
        prompt = "portrait photo of a person"
        return np.stack([edit(model, prompt, s, edits, *settings, keep_person=keep_person) for s in seeds])

    return run


def measure(run, n: int, strengths: list[float], seed0: int = 300_000) -> list[dict]:
    seeds = list(range(seed0, seed0 + n))
    before = run(seeds, {})
    pb = predict(before)
    ident_before, found_before = sface_features(before)
    seen_before = [observed(pb, i) for i in range(n)]
    rows = []
    for name, (attr, value) in TARGETS.items():
        for strength in strengths:
            after = run(seeds, {name: strength})
            pa = predict(after)
            seen_after = [observed(pa, i) for i in range(n)]
            ident_after, found_after = sface_features(after)
            both = found_before & found_after
            sim = (ident_before * ident_after).sum(1)[both]
            todo = [i for i in range(n) if seen_before[i].get(attr) != value and attr in seen_after[i]]
            changed = [seen_after[i][attr] == value for i in todo]
            others = [seen_after[i].get("gender") == seen_before[i].get("gender") for i in range(n)
                      if seen_before[i].get("gender") and seen_after[i].get("gender")]  # fmt: skip
            rows.append({
                "edit": name, "strength": strength, "faces": n,
                "changed": float(np.mean(changed)) if changed else None, "could_change": len(todo),
                "identity_similarity": float(np.mean(sim)) if len(sim) else None,
                "gender_kept": float(np.mean(others)) if name != "gender" and others else None,
            })  # fmt: skip
            print(rows[-1], flush=True)
    return rows


def plot(results: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for (model, rows), marker in zip(results.items(), "os", strict=False):
        for name in TARGETS:
            pts = [
                (r["changed"], r["identity_similarity"])
                for r in rows
                if r["edit"] == name and r["changed"] is not None
            ]
            if pts:
                xs, ys = zip(*pts, strict=True)
                ax.plot(xs, ys, marker=marker, label=f"{model}: {name}")
    ax.set_xlabel("share of faces the edit changed as asked")
    ax.set_ylabel("identity kept (SFace cosine, before vs after)")
    ax.set_title("Edit cleanliness: up and to the right is better")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def table(results: dict[str, list[dict]]) -> str:
    lines = ["| model | edit | strength | changed as asked | identity kept (SFace) | gender kept |",
             "|---|---|---:|---:|---:|---:|"]  # fmt: skip
    fmt = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
    for model, rows in results.items():
        for r in rows:
            lines.append(f"| {model} | {r['edit']} | {r['strength']:g} | {fmt(r['changed'])} ({r['could_change']}) "
                         f"| {fmt(r['identity_similarity'])} | {fmt(r['gender_kept'])} |")  # fmt: skip
    return "\n".join(lines)


def summary(results: dict[str, list[dict]]) -> dict[str, dict]:
    """Per model, averaged over edits and strengths: change achieved and identity kept."""
    out = {}
    for model, rows in results.items():
        ok = [r for r in rows if r["changed"] is not None and r["identity_similarity"] is not None]
        out[model] = {"changed": float(np.mean([r["changed"] for r in ok])),
                      "identity_similarity": float(np.mean([r["identity_similarity"] for r in ok]))}  # fmt: skip
    return out


def run_all(n: int, strengths: list[float], out: Path, gan_weights=None, diffusion_weights=None,
            models=("face-gan", "face-diffusion")) -> dict:  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    editors = {"face-gan": lambda: gan_editor(gan_weights),
               "face-diffusion": lambda: diffusion_editor(diffusion_weights),
               "face-diffusion+person": lambda: diffusion_editor(diffusion_weights, keep_person=True)}  # fmt: skip
    results = {m: measure(editors[m](), n, strengths) for m in models}
    (out / "edits.json").write_text(json.dumps({"rows": results, "summary": summary(results)}, indent=2))
    plot(results, out / "edits.png")
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--strengths", default="1,2,3")
    ap.add_argument("--out", type=Path, default=Path("docs/eval/edits"))
    ap.add_argument("--gan-weights")
    ap.add_argument("--diffusion-weights")
    ap.add_argument("--models", default="face-gan,face-diffusion")
    args = ap.parse_args()
    results = run_all(args.n, [float(s) for s in args.strengths.split(",")], args.out, args.gan_weights,
                      args.diffusion_weights, args.models.split(","))  # fmt: skip
    print(table(results))
    print(json.dumps(summary(results), indent=2))


if __name__ == "__main__":
    main()
