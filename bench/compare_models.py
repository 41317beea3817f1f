"""The GAN-vs-diffusion table, measured: our face GAN and our face diffusion model side by side on
image diversity, training stability, realism, prompt control, facial anatomy, speed and edits,
with the figures and sample grids behind them. One command regenerates all of it:

    python bench/compare_models.py [--n 2000] [--out docs/gan_vs_diffusion]

Writes docs/gan_vs_diffusion.md (the table), and under --out: the sample grids, the training
curves (training.png) and the edit plot (edits.png) with their numbers (comparison.json).
Both models are scored by the same instruments against the same reference (CelebA valid): the
diffusion model prompted with held-out CelebA captions, the GAN unprompted at its default truncation.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from portraitist.captions import caption
from portraitist.contact_sheet import contact_sheet
from portraitist.data import load
from portraitist.engines import Request
from portraitist.engines.embedded import FACE_DIFFUSION, FACE_GAN, FaceGANEngine
from portraitist.evaluation.adherence import ADHERENCE_PROMPTS, adherence
from portraitist.evaluation.evaluate import EvalConfig, ImageSet, evaluate, metric
from portraitist.evaluation.predictors import predict
from portraitist.pipelines.face_diffusion import FaceDiffusion

DOCS = Path(__file__).resolve().parents[1] / "docs"
GAN_HEALTH = DOCS / "models" / "face_gan_health.json"
DIFFUSION_LOSS = DOCS / "models" / "face_diffusion_loss.json"
ASPECTS = {  # what is usually said of each, to be checked against the measurement
    "diversity": "GANs drop modes (low recall); diffusion covers the distribution",
    "stability": "GAN training is unstable (needs monitors); diffusion training is a plain regression",
    "realism": "GANs are sharp; diffusion is as realistic or more",
    "prompt control": "diffusion follows text; an unconditional GAN cannot",
    "anatomy": "GAN faces show artefacts (mismatched eyes, asymmetry)",
    "speed": "a GAN is one forward pass; diffusion takes many steps",
}


class Models:
    def __init__(self) -> None:
        self.gan = FaceGANEngine()
        self.diffusion = FaceDiffusion.from_pretrained()

    def gan_faces(self, prompt: str, seeds: list[int]) -> np.ndarray:
        out = []
        for s in range(0, len(seeds), 250):
            chunk = seeds[s : s + 250]
            out += [
                np.asarray(im)
                for im in self.gan.generate(Request(prompt, seed=chunk[0], n=len(chunk), reroll=0))
            ]
        return np.stack(out)

    def diffusion_faces(self, prompts: str | list[str], seeds: list[int]) -> np.ndarray:
        prompts = [prompts] * len(seeds) if isinstance(prompts, str) else prompts
        settings = (FACE_DIFFUSION.default_steps, FACE_DIFFUSION.default_guidance)
        return np.concatenate([self.diffusion.generate_seeds(prompts[s : s + 64], None, *settings, seeds[s : s + 64],
                                                             FACE_DIFFUSION.default_sampler) for s in range(0, len(seeds), 64)])  # fmt: skip


def timed(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def stability() -> dict:
    """From the shipped models' training records: monitor events (GAN) and loss roughness."""
    out = {}
    if GAN_HEALTH.exists():
        h = json.loads(GAN_HEALTH.read_text())
        events = h["events"]
        out["face-gan"] = {
            "monitor_events": len(events),
            "by_failure": {f: sum(e["failure"] == f for e in events) for f in ("instability", "overfitting", "mode_collapse")},
            "lr_halvings": sum(e["action"] in ("lower_lr", "restore") for e in events),
            "series": {k: h["series"][k] for k in ("d_loss", "g_loss") if k in h["series"]},
        }  # fmt: skip
    if DIFFUSION_LOSS.exists():
        d = json.loads(DIFFUSION_LOSS.read_text())
        loss = np.array(d["loss"])
        rises = np.diff(loss) / loss[:-1]
        out["face-diffusion"] = {"monitor_events": 0, "largest_rise": float(rises.max()),
                                 "first_loss": float(loss[0]), "last_loss": float(loss[-1]),
                                 "series": {"loss": list(zip(d["images"], d["loss"], strict=True))}}  # fmt: skip
    return out


def plot_training(stab: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    if "face-gan" in stab:
        for name, pts in stab["face-gan"]["series"].items():
            steps, values = zip(*pts, strict=True)
            k = max(1, len(values) // 400)
            axes[0].plot(steps[::k], np.convolve(values, np.ones(50) / 50, mode="same")[::k], label=name)
        axes[0].set_title(
            f"face-gan: losses (50-step mean); {stab['face-gan']['monitor_events']} monitor events"
        )
        axes[0].set_xlabel("step")
        axes[0].legend()
    if "face-diffusion" in stab:
        images, loss = zip(*stab["face-diffusion"]["series"]["loss"], strict=True)
        axes[1].plot(images, loss)
        axes[1].set_title("face-diffusion: EDM loss (200-step mean)")
        axes[1].set_xlabel("images seen")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="faces per model for realism, diversity and anatomy")
    ap.add_argument("--adherence", type=int, default=30, help="faces per adherence prompt")
    ap.add_argument("--edit-faces", type=int, default=60)
    ap.add_argument("--train-limit", type=int, default=5000)
    ap.add_argument("--out", type=Path, default=DOCS / "gan_vs_diffusion")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    m = Models()
    report: dict = {"n": args.n}

    report["speed"] = {
        "face-gan": {"one": timed(lambda: m.gan_faces("a face", [1])), "64": timed(lambda: m.gan_faces("a face", list(range(64))))},
        "face-diffusion": {"one": timed(lambda: m.diffusion_faces("a face", [1])),
                           "64": timed(lambda: m.diffusion_faces("a face", list(range(64))), repeats=2)},
    }  # fmt: skip
    print("speed", report["speed"], flush=True)

    rng = random.Random(0)
    celeba = load("celeba64", progress=False).filter(split="valid")
    prompts = [caption(celeba.labels[rng.choice(celeba.index)], rng) for _ in range(args.n)]
    samples = {"face-gan": m.gan_faces("a face", list(range(args.n))),
               "face-diffusion": m.diffusion_faces(prompts, list(range(args.n)))}  # fmt: skip
    config = EvalConfig(train="celeba64", train_limit=args.train_limit)
    report["scores"] = {}
    for name, images in samples.items():
        res, _ = evaluate(ImageSet(name, images), config)
        report["scores"][name] = {
            "qa": res["qa"],
            "set": res["set"],
            "memorisation": res.get("memorisation", {}).get("samples"),
        }
        contact_sheet(images[:32], cell=96, columns=8).save(args.out / f"{name}-samples.png")
        print(name, res["qa"]["face_rate"], metric(res["set"], "fd_effnet"), flush=True)

    adh_prompts = [p for p in ADHERENCE_PROMPTS.values() for _ in range(args.adherence)]
    seeds = list(range(100000, 100000 + len(adh_prompts)))
    gan_adh = np.concatenate([m.gan_faces(p, seeds[i : i + args.adherence])
                              for i, p in zip(range(0, len(adh_prompts), args.adherence), ADHERENCE_PROMPTS.values(), strict=True)])  # fmt: skip
    report["adherence"] = {
        "face-gan": adherence(adh_prompts, [""] * len(adh_prompts), predict(gan_adh)),
        "face-diffusion": adherence(adh_prompts, [""] * len(adh_prompts), predict(m.diffusion_faces(adh_prompts, seeds))),
    }  # fmt: skip
    contact_sheet(gan_adh[:: args.adherence][:10], list(ADHERENCE_PROMPTS), cell=96, columns=5).save(
        args.out / "face-gan-prompts.png"
    )

    from edit_cleanliness import run_all, summary, table

    edits = run_all(args.edit_faces, [1.0, 2.0], args.out)
    report["edits"] = {"summary": summary(edits), "table": table(edits)}
    report["stability"] = stability()
    plot_training(report["stability"], args.out / "training.png")
    for s in report["stability"].values():
        s.pop("series", None)
    (args.out / "comparison.json").write_text(json.dumps(report, indent=2, default=float))
    (DOCS / "gan_vs_diffusion.md").write_text(render(report, args))
    print(f"wrote {DOCS / 'gan_vs_diffusion.md'} and {args.out}/")


def render(r: dict, args) -> str:
    g, d = r["scores"]["face-gan"], r["scores"]["face-diffusion"]
    sg, sd = r["stability"].get("face-gan", {}), r["stability"].get("face-diffusion", {})
    eg, ed = r["edits"]["summary"]["face-gan"], r["edits"]["summary"]["face-diffusion"]
    ag, ad = r["adherence"]["face-gan"], r["adherence"]["face-diffusion"]
    rel = args.out.resolve().relative_to(DOCS) if args.out.resolve().is_relative_to(DOCS) else args.out

    def pair(key: str, fmt: str = "{:.3f}") -> tuple[str, str]:
        return fmt.format(metric(g["set"], key)), fmt.format(metric(d["set"], key))

    rows = [
        ("diversity", "recall", *pair("recall")),
        ("diversity", "mode-collapse score (lower is better)", f"{g['set'].get('mode_collapse_score', 0):.3f}", f"{d['set'].get('mode_collapse_score', 0):.3f}"),
        ("diversity", "identity match with CelebA train (memorisation)", f"{(g['memorisation'] or {}).get('identity_match_rate', float('nan')):.4f}",
         f"{(d['memorisation'] or {}).get('identity_match_rate', float('nan')):.4f}"),
        ("stability", "monitor events in the shipped run", str(sg.get("monitor_events", "n/a")), str(sd.get("monitor_events", "n/a"))),
        ("stability", "learning-rate cuts by the monitors", str(sg.get("lr_halvings", "n/a")), "0 (no monitor needed)"),
        ("realism", "FD, EfficientNet-Lite0 (lower is better)", *pair("fd_effnet", "{:.1f}")),
        ("realism", "KID", *pair("kid_effnet", "{:.4f}")),
        ("realism", "precision", *pair("precision")),
        ("prompt control", "adherence over the 10 prompts", f"{ag['overall']:.3f}", f"{ad['overall']:.3f}"),
        ("anatomy", "face found", f"{g['qa']['face_rate']:.3f}", f"{d['qa']['face_rate']:.3f}"),
        ("anatomy", "eyes consistent", f"{g['qa']['eyes_consistent_rate']:.3f}", f"{d['qa']['eyes_consistent_rate']:.3f}"),
        ("anatomy", "symmetric", f"{g['qa']['symmetric_rate']:.3f}", f"{d['qa']['symmetric_rate']:.3f}"),
        ("speed", "one face (s)", f"{r['speed']['face-gan']['one']:.4f}", f"{r['speed']['face-diffusion']['one']:.3f}"),
        ("speed", "64 faces (s)", f"{r['speed']['face-gan']['64']:.3f}", f"{r['speed']['face-diffusion']['64']:.2f}"),
        ("edits", "changed as asked (mean over edits, strengths 1 and 2)", f"{eg['changed']:.2f}", f"{ed['changed']:.2f}"),
        ("edits", "identity kept, SFace cosine", f"{eg['identity_similarity']:.2f}", f"{ed['identity_similarity']:.2f}"),
    ]  # fmt: skip
    table = "\n".join(f"| {a} | {b} | {c} | {e} |" for a, b, c, e in rows)
    claims = "\n".join(f"| {k} | {v} |" for k, v in ASPECTS.items())
    per_prompt = "\n".join(f"| {k} | {ag['by_request'].get(k, {}).get('rate', float('nan')):.2f} | {ad['by_request'].get(k, {}).get('rate', float('nan')):.2f} |"
                           for k in sorted(set(ag["by_request"]) | set(ad["by_request"])))  # fmt: skip
    return f"""# GAN vs diffusion, measured

Regenerate everything on this page: `python bench/compare_models.py --n {args.n}` (2-core CPU;
the numbers below are its latest output). Both are the shipped models: `face-gan`
(docs/models/face_gan.md) and `face-diffusion` (docs/models/face_diffusion.md). Realism, diversity
and anatomy: {args.n} faces each against CelebA valid (the diffusion model prompted with held-out
CelebA captions, the GAN unprompted at truncation {FACE_GAN.default_truncation}); prompt control:
{args.adherence} faces per prompt, the GAN steered along its W directions; edits:
{args.edit_faces} faces per edit (bench/edit_cleanliness.py).

| aspect | measure | face-gan | face-diffusion |
|---|---|---:|---:|
{table}

What is usually said, for comparison with the measurements above:

| aspect | the usual claim |
|---|---|
{claims}

Adherence by request (share of faces the classifiers see as asked):

| request | face-gan | face-diffusion |
|---|---:|---:|
{per_prompt}

Edits in detail (changed as asked, with how many faces could change; identity kept; gender kept):

{r["edits"]["table"]}

Figures: ![samples, GAN]({rel}/face-gan-samples.png) ![samples, diffusion]({rel}/face-diffusion-samples.png)
![GAN steered by the adherence prompts]({rel}/face-gan-prompts.png) ![training]({rel}/training.png)
![edits]({rel}/edits.png)
"""


if __name__ == "__main__":
    main()
