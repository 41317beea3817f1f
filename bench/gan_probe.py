"""A GAN run's preview probe through several generator files, side by side, to see by eye whether
a continued run keeps its faces: the trainer's own probe (32 latents of seed 1234, with the captions
of the faces its data draws with seed 1234), rows of 8, one block of rows per file, truncation 0.7.

    python bench/gan_probe.py --out probe.png src/portraitist/weights/face_gan_text.safetensors RUN/now.safetensors \
        [--train-args "--captions --per-pack 20000 ..."]

`--train-args` are the run's data options (the probe's captions depend on them); the default is
face-gan-text's. A campaign pack's EMA is read too.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from portraitist.checkpoints import load_weights
from portraitist.contact_sheet import contact_sheet
from portraitist.nets.stylegan import Generator
from portraitist.pipelines.face_gan import FaceGAN
from portraitist.training import gan as trainer
from portraitist.training.autoencoder import to_uint8

FACE_GAN_TEXT = ("--data celeba64:2,fairface64,utkface64 --base 16 --cap 256 --captions --per-pack 20000 "
                 "--boost eyeglasses=0.06,blond=0.05")  # fmt: skip


def generator(path: str) -> Generator:
    tensors, meta = load_weights(path)
    if meta.get("kind") != trainer.PACK_KIND:
        return FaceGAN.from_pretrained(path).G
    G = Generator(**meta["config"])
    G.load_state_dict({k[4:]: v.float() for k, v in tensors.items() if k.startswith("ema.")})
    return G.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", help="exported generators or campaign packs")
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=3, help="rows of 8 faces per file")
    ap.add_argument("--train-args", default=FACE_GAN_TEXT)
    args = ap.parse_args()
    run = trainer.parse(args.train_args.split())
    z = torch.randn(trainer.PROBE, run.z_dim, generator=torch.Generator().manual_seed(1234))
    c = (
        trainer.CaptionedFaces(run, None).sample(trainer.PROBE, np.random.default_rng(1234))[1]
        if run.captions
        else None
    )
    n = min(8 * args.rows, trainer.PROBE)
    blocks = []
    for path in args.files:
        with torch.no_grad():
            blocks.append(to_uint8(generator(path)(z[:n], truncation=0.7, c=None if c is None else c[:n])))
    contact_sheet(np.concatenate(blocks), cell=96, columns=8).save(args.out)
    print(f"wrote {args.out}: {len(args.files)} files x {n} faces, in the order given")


if __name__ == "__main__":
    main()
