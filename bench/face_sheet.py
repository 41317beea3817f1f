"""The 8x8 sheet to judge by eye: seeds 0-63 of one prompt at 128 px a face, each face framed by its
QA verdict (green: passes every check; red: fails, with the failed checks named: face found,
mesh agrees, eyes match, symmetric, sharp, well formed).

    python bench/face_sheet.py [--model face-diffusion] [--weights PATH] [--prompt "..."] [--reroll K] --out docs/models/sheet.png

`--reroll K` regenerates the faces QA fails, up to K more times (what `generate --reroll` does);
by default the model's own K, so the sheet shows what the README command gives (`--reroll 0`: every
seed's own face, the model alone).

The default prompt is the README's first command's. The sheet's PNG metadata holds every face's
seed and verdict, so a count by eye can be set beside what QA flagged.
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image, ImageDraw

from portraitist.api import generate
from portraitist.engines import get_engine
from portraitist.png import save_png
from portraitist.quality.analysis import analyse
from portraitist.quality.checks import verdicts

README_PROMPT = "close-up portrait of a smiling woman with blond hair"
CELL = 128
CHECKS = ("face_found", "mesh_agrees", "eyes_match", "symmetric", "sharp", "well_formed")
SHORT = {"face_found": "face", "mesh_agrees": "mesh", "eyes_match": "eyes", "symmetric": "symmetry", "sharp": "blur",
         "well_formed": "malformed"}  # what a failed check is called on the sheet  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="face-diffusion")
    ap.add_argument("--weights")
    ap.add_argument("--prompt", default=README_PROMPT)
    ap.add_argument("--reroll", type=int, help="extra tries for faces failing QA (default: the model's, as the "
                    "README command; 0: every seed's own face)")  # fmt: skip
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.reroll is None:
        args.reroll = get_engine(args.model).card.default_reroll
    faces = generate(
        args.prompt, seed=0, num_images=64, model=args.model, weights=args.weights, reroll=args.reroll
    )
    arrays = np.stack([np.asarray(f) for f in faces])
    verdict = [v.as_dict() for v in verdicts(analyse(arrays))]
    sheet = Image.new("RGB", (8 * CELL, 8 * CELL), (30, 30, 30))
    draw = ImageDraw.Draw(sheet)
    for i, (face, v) in enumerate(zip(faces, verdict, strict=True)):
        x, y = (i % 8) * CELL, (i // 8) * CELL
        sheet.paste(face.resize((CELL - 6, CELL - 6), Image.Resampling.LANCZOS), (x + 3, y + 3))
        ok = v["passed"]
        draw.rectangle(
            (x + 1, y + 1, x + CELL - 2, y + CELL - 2),
            outline=(40, 200, 60) if ok else (230, 40, 40),
            width=2,
        )
        failed = [SHORT[k] for k in CHECKS if not v[k]]
        draw.text((x + 5, y + CELL - 14), f"{i} " + ",".join(failed), fill=(255, 255, 255))
    flagged = sum(not v["passed"] for v in verdict)
    info = {"prompt": args.prompt, "model": args.model, "weights": faces[0].info.get("weights"), "seeds": "0-63",
            "reroll": args.reroll, "qa_flagged": flagged, "verdicts": verdict}  # fmt: skip
    save_png(sheet, args.out, info)
    print(f"wrote {args.out}: {flagged} of 64 faces flagged by QA")


if __name__ == "__main__":
    main()
