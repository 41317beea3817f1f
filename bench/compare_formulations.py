"""EDM against rectified flow at equal compute: the same UNet width, latents, captions, batch,
learning rate, seed and wall-clock minutes, each trained from scratch by
`portraitist train diffusion --formulation edm|flow`, then sampled the same way (DPM-Solver++(2M)
on the same sigma schedule: diffusion/edm.py expresses a flow model in the EDM frame) and scored
like bench/tune_sampling.py (1,000 faces prompted with held-out CelebA captions, 10 x 10 faces
for adherence).

    python bench/compare_formulations.py --autoencoder runs/dec2/ae.safetensors --minutes 8 --out runs/formulations

The faces are encoded once into the cache before either run starts (`--steps 0`), so both runs
spend their minutes on training alone.

A finished run (its exported model exists) is not trained again, so the script can be rerun for
scores alone. Prints Markdown (recorded in docs/diffusion.md) and writes scores.json into --out.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from tune_sampling import HEADER, evaluation_prompts, markdown_row, score_setting

from portraitist.diffusion.edm import FORMULATIONS
from portraitist.pipelines.face_diffusion import FaceDiffusion


def train(formulation: str, args) -> Path:
    run = args.out / formulation
    model = run / "model.safetensors"
    if model.exists():
        return model
    run.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "portraitist.cli", "train", "diffusion", "--autoencoder", str(args.autoencoder),
           "--formulation", formulation, "--minutes", str(args.minutes), "--channels", str(args.channels),
           "--batch", str(args.batch), "--lr", str(args.lr), "--per-pack", str(args.per_pack),
           "--sample-minutes", str(args.minutes), "--out", str(run), "--export", str(model)]  # fmt: skip
    subprocess.run(cmd, check=True)
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--autoencoder", type=Path, required=True)
    ap.add_argument("--minutes", type=float, default=8)
    ap.add_argument("--channels", type=int, default=48)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--per-pack", type=int, default=20000)
    ap.add_argument("--settings", default="8:2,8:3", help="steps:guidance,...")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--adherence-per-prompt", type=int, default=10)
    ap.add_argument("--out", type=Path, default=Path("runs/formulations"))
    args = ap.parse_args()
    prepare = [sys.executable, "-m", "portraitist.cli", "train", "diffusion", "--autoencoder", str(args.autoencoder),
               "--per-pack", str(args.per_pack), "--steps", "0", "--out", str(args.out / "prepare")]  # fmt: skip
    subprocess.run(prepare, check=True)  # encode the faces into the cache, outside both runs' minutes
    models = {f: train(f, args) for f in FORMULATIONS}
    prompts, adh_prompts = evaluation_prompts(args.n, args.adherence_per_prompt)
    rows = []
    head, rule = HEADER.split("\n")
    print(f"| formulation | steps trained {head}\n|---|---:{rule}")
    for formulation, path in models.items():
        model = FaceDiffusion.from_pretrained(path)
        trained = model.meta["train"]["step"]
        for steps, guidance in (x.split(":") for x in args.settings.split(",")):
            r = score_setting(model, prompts, adh_prompts, int(steps), float(guidance))
            rows.append({"formulation": formulation, "train_steps": trained} | r)
            print(f"| {formulation} | {trained} {markdown_row(r)}", flush=True)
    (args.out / "scores.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                      "rows": rows}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
