"""The `portraitist` command. Each subcommand is a thin wrapper over the Python API."""

from __future__ import annotations

import argparse
import json
import random
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

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


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluation.evaluate import EvalConfig, evaluate, load_samples
    from .evaluation.report import write_report

    samples = load_samples(args.samples, limit=args.limit)
    if args.prompts:
        text = Path(args.prompts).read_text(encoding="utf-8")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(lines) not in (1, len(samples.images)):
            raise ValueError(f"{args.prompts} has {len(lines)} prompts for {len(samples.images)} samples")
        samples.prompts = lines * len(samples.images) if len(lines) == 1 else lines
        samples.negatives = [args.negative or ""] * len(samples.images)
    config = EvalConfig(ref=args.ref, ref_limit=args.ref_limit, train=args.train, train_limit=args.train_limit,
                        balanced_ref=None if args.no_bias else "fairface64")  # fmt: skip
    results, art = evaluate(samples, config)
    json_path, html_path = write_report(results, art, args.out)
    s = results["set"]
    headline = {k: round(v, 4) for k, v in s.items() if k.startswith(("fd_effnet", "precision", "recall"))}
    print(f"face rate {results['qa']['face_rate']:.3f}, eyes consistent {results['qa']['eyes_consistent_rate']:.3f}, "
          + ", ".join(f"{k} {v}" for k, v in headline.items()))  # fmt: skip
    print(f"wrote {json_path} and {html_path}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from .generate import FaceDiffusion, generate, save

    model = FaceDiffusion.load(args.weights) if args.weights else None
    images = generate(args.prompt, negative_prompt=args.negative, num_inference_steps=args.steps,
                      guidance_scale=args.guidance, seed=args.seed, sampler=args.sampler, num_images=args.n,
                      reroll=args.reroll, model=model)  # fmt: skip
    paths = save(images, args.out, upscale=args.upscale)
    note = f", shown at {64 * args.upscale}px" if args.upscale > 1 else ""
    print(
        f"wrote {len(images)} faces (native 64x64{note}) to {args.out}: "
        + ", ".join(p.name for p in paths[:5])
    )
    return 0


def cmd_train(args: argparse.Namespace, rest: list[str]) -> int:
    from importlib import import_module

    module = import_module(f".training.{args.what}", __package__)
    module.main(rest)
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

    ev = sub.add_parser("evaluate", help="score generated faces against real ones; JSON + HTML report")
    ev.add_argument("samples", help="a folder of generated PNGs, or any dataset folder / pack")
    ev.add_argument("--ref", default="celeba64", help="pack whose held-out split is the real reference")
    ev.add_argument("--ref-limit", type=int, default=5000, help="at most this many reference faces")
    ev.add_argument("--train", help="pack whose train split is checked for memorised faces")
    ev.add_argument("--train-limit", type=int, help="check against a random subset of the training set")
    ev.add_argument("--prompts", help="text file: one prompt per sample (sorted file order), or one for all")
    ev.add_argument("--negative", help="the negative prompt used with --prompts")
    ev.add_argument("--limit", type=int, help="score only the first N samples")
    ev.add_argument("--no-bias", action="store_true", help="skip the bias audit against FairFace")
    ev.add_argument("--out", default="evaluation", help="folder for metrics.json and report.html")
    ev.set_defaults(func=cmd_evaluate)

    from .diffusion.samplers import SAMPLERS
    from .generate import DEFAULTS

    gen = sub.add_parser("generate", help="faces from a text prompt (PNG files with their settings + a grid)")
    gen.add_argument("prompt")
    gen.add_argument("--negative", help="what the face must not have, e.g. 'eyeglasses, blurry'")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--steps", type=int, default=DEFAULTS["num_inference_steps"])
    gen.add_argument("--guidance", type=float, default=DEFAULTS["guidance_scale"])
    gen.add_argument("--sampler", choices=sorted(SAMPLERS), default=DEFAULTS["sampler"])
    gen.add_argument("--n", type=int, default=4, help="how many faces (seeds seed..seed+n-1)")
    gen.add_argument("--reroll", type=int, default=0, help="regenerate faces failing QA up to K more times")
    gen.add_argument("--upscale", type=int, default=1, help="also enlarge for viewing (native stays 64x64)")
    gen.add_argument("--weights", help="a model file other than the shipped one")
    gen.add_argument("--out", default="out", help="folder for the PNGs")
    gen.set_defaults(func=cmd_generate)

    tr = sub.add_parser("train", help="train a model (pass --help after the name for its options)")
    tr.add_argument("what", choices=("autoencoder", "diffusion", "attributes"))
    tr.set_defaults(func=cmd_train, passthrough=True)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args, rest = build_parser().parse_known_args(argv)
    if rest and not getattr(args, "passthrough", False):
        build_parser().parse_args(argv)  # reports the unknown arguments the usual way
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda m, *a, **k: print(f"warning: {m}", file=sys.stderr)
        try:
            return args.func(args, rest) if getattr(args, "passthrough", False) else args.func(args)
        except (FileNotFoundError, ValueError) as e:  # DataError and ImageDecodeError are ValueErrors
            print(f"error: {e}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
