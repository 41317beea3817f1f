"""Sheets to label malformed faces by eye (quality/malformed_labels.json), with one standard across files.

    python bench/label_sheet.py --model face-gan-text --weights CANDIDATE --prompt "..." --first-seed 0 --out DIR/readme0

Each seed's own face (no re-roll, unframed: no QA verdict to lead the eye), in four quadrants of
16 at 160 px a face (OUT-q0.png .. OUT-q3.png, numbered by seed). With `--beside OLD`, the labelled
file's face of the same seed sits on the left, a red corner on each face its labels call malformed:
continued training keeps a seed's face recognisably the same, so the old label of each face shows
the standard the new one is held to (session 16: a first pass without it counted every soft face).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from PIL import Image, ImageDraw

from portraitist.api import generate
from portraitist.quality.calibrate import LABELS_PATH

CELL = 160
GAP = 16  # between the old file's faces and the candidate's


def labelled_malformed(model: str, prompt: str, weights: str) -> set[int]:
    """The seeds labelled malformed on this prompt's sheets of exactly these weights (none if unlabelled)."""
    sha = hashlib.sha256(Path(weights).read_bytes()).hexdigest()
    sets = json.loads(LABELS_PATH.read_text())["sets"]
    chosen = [s for s in sets if (s["model"], s["prompt"], s["weights_sha256"]) == (model, prompt, sha)]
    return {i for s in chosen for sheet in s["sheets"] for i in sheet["malformed"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="face-gan-text")
    ap.add_argument("--weights", required=True, help="the file to label")
    ap.add_argument("--beside", help="the labelled file (its faces and labels on the left)")
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--out", required=True, help="path prefix: OUT-q0.png .. OUT-q3.png")
    args = ap.parse_args()
    files = [args.beside, args.weights] if args.beside else [args.weights]
    faces = [
        generate(args.prompt, seed=args.first_seed, num_images=64, model=args.model, weights=w, reroll=0)
        for w in files
    ]
    marked = labelled_malformed(args.model, args.prompt, args.beside) if args.beside else set()
    width = 4 * CELL * len(files) + GAP * (len(files) - 1)
    for q in range(4):
        rows, cols = range(4 * (q // 2), 4 * (q // 2) + 4), range(4 * (q % 2), 4 * (q % 2) + 4)
        cells = [8 * r + c for r in rows for c in cols]
        sheet = Image.new("RGB", (width, 4 * CELL), (30, 30, 30))
        draw = ImageDraw.Draw(sheet)
        for k, file_faces in enumerate(faces):
            for j, i in enumerate(cells):
                x, y = k * (4 * CELL + GAP) + (j % 4) * CELL, (j // 4) * CELL
                sheet.paste(
                    file_faces[i].resize((CELL - 4, CELL - 4), Image.Resampling.LANCZOS), (x + 2, y + 2)
                )
                seed = args.first_seed + i
                draw.text((x + 5, y + 4), str(seed), fill=(255, 255, 0))
                if k == 0 and seed in marked:
                    draw.rectangle((x + CELL - 22, y + 2, x + CELL - 3, y + 20), fill=(230, 0, 0))
        sheet.save(f"{args.out}-q{q}.png")
    print(f"wrote {args.out}-q0.png .. -q3.png")


if __name__ == "__main__":
    main()
