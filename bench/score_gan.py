"""Score the shipped face GAN with the instruments, against the issue's targets and the peer.

    python bench/score_gan.py [--weights PATH] [--n 5000] [--sweep 0.5,0.7,0.85,1.0] [--out docs/eval/gan]

1. Speed: 64 faces in one call (target: under a second), and one face, timed here.
2. Truncation sweep: face rate, eyes, FD, precision/recall for 1,000 faces at each truncation.
3. At the default truncation, N faces scored against CelebA valid like the reference rows: QA,
   FD/KID, precision/recall, diversity, memorisation against CelebA train, bias audit.
4. Prompt control through steering: 50 faces for each adherence prompt (the diffusion model's
   test), measured by classifiers the directions were not fitted to for gender, age and smile.
5. Negative prompt: eyeglasses and smile rates without and with --negative, same seeds.
Prints JSON; the latest result is recorded in docs/models/face_gan.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from portraitist.data.schema import CELEBA_ATTRIBUTES
from portraitist.engines import Request
from portraitist.engines.embedded import FACE_GAN, FaceGANEngine
from portraitist.evaluation.adherence import ADHERENCE_PROMPTS, adherence
from portraitist.evaluation.evaluate import EvalConfig, ImageSet, evaluate
from portraitist.evaluation.predictors import predict
from portraitist.evaluation.report import write_report


def faces(engine: FaceGANEngine, prompt: str, seeds: list[int], truncation: float, negative=None, batch=250):
    """(N, 64, 64, 3) faces through the engine (steering included, no QA re-rolls: the model alone), in batches."""
    out = []
    for s in range(0, len(seeds), batch):
        chunk = seeds[s : s + batch]
        request = Request(prompt, negative, seed=chunk[0], n=len(chunk), truncation=truncation, reroll=0)
        out += [np.asarray(im) for im in engine.generate(request)]
    return np.stack(out)


def headline(res: dict) -> dict:
    s, q = res["set"], res["qa"]
    pick = {k: v for k, v in s.items() if k.startswith(("fd_effnet", "kid_effnet", "precision", "recall"))}
    return {"face_rate": q["face_rate"], "eyes_consistent": q["eyes_consistent_rate"],
            "symmetric": q["symmetric_rate"], **pick}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--sweep", default="0.5,0.7,0.85,1.0",
                    help="truncations to compare on 1,000 faces ('' to reuse the last sweep.json)")  # fmt: skip
    ap.add_argument("--sweep-only", action="store_true", help="stop after the sweep (to choose the default)")
    ap.add_argument("--truncation", type=float, default=FACE_GAN.default_truncation)
    ap.add_argument("--train-limit", type=int, default=10000)
    ap.add_argument("--out", type=Path, default=Path("docs/eval/gan"))
    args = ap.parse_args()
    engine = FaceGANEngine(args.weights)
    gan, _ = engine.load()
    report: dict = {"weights": gan.name, "train": gan.meta.get("train")}

    gan.generate(list(range(64)), truncation=args.truncation)  # warm-up
    times = []
    for r in range(5):
        t = time.perf_counter()
        gan.generate(list(range(r * 64, r * 64 + 64)), truncation=args.truncation)
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(20):
        gan.generate([i], truncation=args.truncation)
    report["seconds_64_faces"] = float(np.median(times))
    report["seconds_one_face"] = (time.perf_counter() - t) / 20
    print(
        f"speed: 64 faces {report['seconds_64_faces']:.3f} s, one face {report['seconds_one_face']:.4f} s",
        flush=True,
    )

    config = EvalConfig(train="celeba64", train_limit=args.train_limit)
    sweep_file = args.out / "sweep.json"
    if args.sweep:
        report["truncation_sweep"] = {}
        for psi in [float(x) for x in args.sweep.split(",") if x]:
            images = faces(engine, "a face", list(range(50_000, 51_000)), psi)
            res, _ = evaluate(ImageSet(f"gan-psi{psi}", images), EvalConfig())
            report["truncation_sweep"][psi] = headline(res)
            print(f"truncation {psi}: {report['truncation_sweep'][psi]}", flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        sweep_file.write_text(json.dumps(report["truncation_sweep"], indent=2, default=float))
    elif sweep_file.exists():  # an earlier --sweep-only run
        report["truncation_sweep"] = json.loads(sweep_file.read_text())
    if args.sweep_only:
        return

    t = time.perf_counter()
    images = faces(engine, "a face", list(range(args.n)), args.truncation)
    report["generate_seconds"] = time.perf_counter() - t
    res, art = evaluate(ImageSet("face-gan", images), config)
    write_report(res, art, args.out)
    report["evaluation"] = res

    prompts, seeds = [], []
    for k, prompt in enumerate(ADHERENCE_PROMPTS.values()):
        prompts += [prompt] * 50
        seeds += list(range(100000 + 1000 * k, 100000 + 1000 * k + 50))
    adh = np.concatenate([faces(engine, p, seeds[i : i + 50], args.truncation) for i, p in
                          zip(range(0, len(prompts), 50), ADHERENCE_PROMPTS.values(), strict=True)])  # fmt: skip
    report["adherence"] = adherence(prompts, [""] * len(prompts), predict(adh))
    unsteered = predict(faces(engine, "a face", seeds, args.truncation))
    report["adherence_unsteered"] = adherence(prompts, [""] * len(prompts), unsteered)

    glasses = CELEBA_ATTRIBUTES.index("Eyeglasses")
    seeds = list(range(200000, 200200))
    neg = {}
    for negative, read in [("eyeglasses", lambda p: p.celeba[:, glasses] >= 0.5),
                           ("smiling", lambda p: np.nan_to_num(p.smile) >= 0.5)]:  # fmt: skip
        before = read(predict(faces(engine, "portrait photo of a person", seeds, args.truncation)))
        after = read(predict(faces(engine, "portrait photo of a person", seeds, args.truncation, negative)))
        neg[negative] = {"without_negative": float(before.mean()), "with_negative": float(after.mean())}
    report["negative_prompt"] = neg

    (args.out / "score.json").write_text(json.dumps(report, indent=2, default=float))
    print(json.dumps({k: v for k, v in report.items() if k != "evaluation"}, indent=2, default=float))
    print(json.dumps({"qa": res["qa"], "set": res["set"], "memorisation": res.get("memorisation"),
                      "bias": res.get("bias")}, indent=2, default=float))  # fmt: skip


if __name__ == "__main__":
    main()
