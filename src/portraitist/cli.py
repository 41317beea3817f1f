"""The `portraitist` command. Each subcommand is a thin wrapper over the Python API."""

from __future__ import annotations

import argparse
import json
import random
import sys
import warnings
from collections.abc import Sequence

import numpy as np

from . import __version__


def _bar(count: int, total: int, width: int = 30) -> str:
    return "#" * round(width * count / total) if total else ""


def cmd_data_info(args: argparse.Namespace) -> int:
    from .data import LABEL_NAMES, load

    faces = load(args.pack, size=args.size, kind=args.kind, limit=args.limit)
    if args.split:
        faces = faces.filter(split=args.split)
    hist = {}
    for name in LABEL_NAMES:
        if name in ("age_low", "age_high"):
            continue
        h = faces.histogram(name)
        if set(h) != {None}:
            hist[name] = h
    if args.json:
        out = {
            "name": faces.name,
            "images": len(faces),
            "splits": faces.split_counts(),
            "notes": list(faces.notes),
            "labels": {k: {str(v): c for v, c in h.items()} for k, h in hist.items()},
        }
        print(json.dumps(out, indent=2))
        return 0
    print(f"{faces.name}: {len(faces)} images at {faces.size}x{faces.size}")
    print("splits: " + ", ".join(f"{k} {v}" for k, v in faces.split_counts().items()))
    for note in faces.notes:
        print(f"note: {note}")
    unlabelled = [n for n in LABEL_NAMES if n not in hist and n not in ("age_low", "age_high")]
    if unlabelled:
        print("not labelled here (unknown): " + ", ".join(unlabelled))
    for name, h in hist.items():
        if name == "age":
            ages = np.array([v for v in h.elements() if v is not None])
            edges = [0, 3, 10, 20, 30, 40, 50, 60, 70, 200]
            counts, _ = np.histogram(ages, bins=edges)
            rows = [
                (f"{lo}-{hi - 1}" if hi < 200 else f"{lo}+", int(c))
                for lo, hi, c in zip(edges, edges[1:], counts, strict=False)
            ]
            rows.append(("unknown", h[None]))
        else:
            rows = sorted(((str(v) if v is not None else "unknown"), c) for v, c in h.items())
        print(f"\n{name}")
        for value, c in rows:
            if c:
                print(f"  {value:>16} {c:7d} {100 * c / len(faces):5.1f}% {_bar(c, len(faces))}")
    return 0


def cmd_data_preview(args: argparse.Namespace) -> int:
    from .captions import caption
    from .contact_sheet import contact_sheet
    from .data import load
    from .png import save_png

    faces = load(args.pack, size=args.size, kind=args.kind, limit=args.limit)
    if args.split:
        faces = faces.filter(split=args.split)
    if len(faces) == 0:
        raise SystemExit(f"error: {faces.name} has no images in that selection")
    rng = np.random.default_rng(args.seed)
    rows = rng.choice(len(faces), size=min(args.n, len(faces)), replace=False)
    pairs = [faces[int(i)] for i in rows]
    images = np.stack([img for img, _ in pairs])
    text_rng = random.Random(args.seed)
    captions = [caption(lab, text_rng) for _, lab in pairs]
    sheet = contact_sheet(images, captions, cell=args.cell)
    settings = {
        "prompt": f"data preview of {faces.name}",
        "seed": args.seed,
        "images": len(images),
        "native_resolution": f"{faces.size}x{faces.size}",
        "files": [faces.files[faces.index[int(i)]] for i in rows],
        "captions": captions,
    }
    path = save_png(sheet, args.out, settings)
    print(
        f"wrote {path} ({len(images)} faces from {faces.name}, native {faces.size}px, shown at {args.cell}px)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="portraitist", description=__doc__)
    p.add_argument("--version", action="version", version=f"portraitist {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="inspect face datasets").add_subparsers(
        dest="data_command", required=True
    )

    def dataset_args(q: argparse.ArgumentParser) -> None:
        q.add_argument("pack", help="a pack name (celeba64, fairface64, utkface64) or a dataset folder")
        q.add_argument(
            "--kind",
            choices=("pack", "celeba", "fairface", "utkface", "ffhq", "folder"),
            help="dataset layout (detected when omitted)",
        )
        q.add_argument("--size", type=int, default=64, help="decode size in px (default 64)")
        q.add_argument("--limit", type=int, help="read only the first N records")
        q.add_argument("--split", choices=("train", "valid", "test"))

    info = data.add_parser("info", help="counts and label histograms")
    dataset_args(info)
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(func=cmd_data_info)

    preview = data.add_parser("preview", help="a captioned contact sheet")
    dataset_args(preview)
    preview.add_argument("--out", default="preview.png", help="PNG to write (default preview.png)")
    preview.add_argument("--n", type=int, default=16, help="faces on the sheet (default 16)")
    preview.add_argument("--seed", type=int, default=0)
    preview.add_argument("--cell", type=int, default=160, help="display size of each face in px")
    preview.set_defaults(func=cmd_data_preview)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda m, *a, **k: print(f"warning: {m}", file=sys.stderr)
        try:
            return args.func(args)
        except (FileNotFoundError, ValueError) as e:  # DataError and ImageDecodeError are ValueErrors
            print(f"error: {e}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
