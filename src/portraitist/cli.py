"""The `portraitist` command. Each subcommand is a thin wrapper over the Python API."""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import __version__
from .engines.registry import DEFAULT_MODEL
from .errors import InvalidInput
from .files import writable_folder

MAX_UPSCALE = 16  # 64 px faces shown at up to 1024 px


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


def cmd_data_align(args: argparse.Namespace) -> int:
    from .data.align import align_source

    out = writable_folder(args.out)
    report = align_source(args.pack, out, size=args.size, kind=args.kind, limit=args.limit)
    total = report.aligned + len(report.not_aligned)
    print(f"aligned {report.aligned} of {total} faces into {out} (images.zip + labels.csv)")
    if report.not_aligned:
        reasons: dict[str, int] = {}
        for _, why in report.not_aligned:
            reasons[why.split(":")[0]] = reasons.get(why.split(":")[0], 0) + 1
        print(f"not aligned: {len(report.not_aligned)} (" + ", ".join(f"{n} {k}" for k, n in reasons.items())
              + f"), listed in {out / 'not_aligned.csv'}")  # fmt: skip
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluation.evaluate import EvalConfig, evaluate, load_samples
    from .evaluation.report import write_report

    writable_folder(args.out)
    samples = load_samples(args.samples, limit=args.limit)
    for name, why in samples.skipped:
        print(f"skipped {name}: {why}", file=sys.stderr)
    if samples.skipped:
        print(
            f"skipped {len(samples.skipped)} unreadable image(s); scoring {len(samples.images)}",
            file=sys.stderr,
        )
    if args.prompts:
        text = Path(args.prompts).read_text(encoding="utf-8")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(lines) not in (1, len(samples.images)):
            raise InvalidInput(f"{args.prompts} has {len(lines)} prompts for {len(samples.images)} samples")
        samples.prompts = lines * len(samples.images) if len(lines) == 1 else lines
        samples.negatives = [args.negative or ""] * len(samples.images)
    config = EvalConfig(ref=args.ref, ref_limit=args.ref_limit, train=args.train, train_limit=args.train_limit or None,
                        balanced_ref=None if args.no_bias else "fairface64")  # fmt: skip
    results, art = evaluate(samples, config)
    json_path, html_path = write_report(results, art, args.out)
    s = results["set"]
    headline = {k: round(v, 4) for k, v in s.items() if k.startswith(("fd_effnet", "precision", "recall"))}
    print(f"face rate {results['qa']['face_rate']:.3f}, eyes consistent {results['qa']['eyes_consistent_rate']:.3f}, "
          + ", ".join(f"{k} {v}" for k, v in headline.items()))  # fmt: skip
    print(f"wrote {json_path} and {html_path}")
    return 0


def _coverage_notes(model: str, prompt: str, negative: str | None) -> None:
    """Tell the user which parts of the prompt this model cannot honour, instead of ignoring them."""
    from .engines import coverage, get_engine

    for row in coverage(get_engine(model).card, prompt, negative):
        if row["honoured"] in ("no", "partly"):
            value = ", ".join(map(str, row["value"])) if isinstance(row["value"], list) else row["value"]
            how = "cannot honour" if row["honoured"] == "no" else "honours only part of"
            print(f"note: {model} {how} {row['part']} '{value}'" + (f" ({row['note']})" if row["note"] else ""),
                  file=sys.stderr)  # fmt: skip


def cmd_generate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .api import as_reference, save
    from .engines import Request, get_engine
    from .prompting import negative_prompt
    from .reference import StartImage
    from .threads import use_free_cores

    if not 1 <= args.upscale <= MAX_UPSCALE:
        raise InvalidInput(f"--upscale enlarges 1 to {MAX_UPSCALE} times, not {args.upscale}")
    writable_folder(args.out)  # before the faces are computed, not after
    if bool(args.c2pa_cert) != bool(args.c2pa_key):
        raise InvalidInput(
            "Content Credentials need both --c2pa-cert (PEM chain) and --c2pa-key (PEM private key)"
        )
    c2pa = (args.c2pa_cert, args.c2pa_key) if args.c2pa_cert else None
    negative = (
        negative_prompt(*args.negative_preset, extra=args.negative) if args.negative_preset else args.negative
    )
    args.reference = as_reference(args.face)  # a photo without one face fails here, before any work
    args.init_image = StartImage.from_file(args.init_image) if args.init_image else None
    if args.from_image:
        negative = _settings_from(args, negative)
    elif not args.prompt:
        raise InvalidInput("give a prompt (or --from IMAGE.png to regenerate a saved image)")
    args.model, args.seed, args.n = args.model or DEFAULT_MODEL, args.seed or 0, args.n or 4
    _coverage_notes(args.model, args.prompt, negative)
    bar = tqdm(desc=f"{args.model}", unit="step", leave=False, disable=not sys.stderr.isatty())

    def progress(step: int, total: int, _preview) -> None:
        bar.total = total
        bar.n = step
        bar.refresh()

    options = {}
    if args.weights:
        if get_engine(args.model).card.engine == "hosted":
            raise InvalidInput(f"{args.model} is hosted: it has no --weights")
        options["weights"] = args.weights
    if args.download:
        if get_engine(args.model).card.engine != "open-weights":
            raise InvalidInput("--download fetches open-weight models only")
        options["allow_download"] = True
    use_free_cores()  # not more threads than free cores: oversubscription doubles the time
    request = Request(args.prompt, negative_prompt=negative, seed=args.seed, steps=args.steps,
                      guidance=args.guidance, sampler=args.sampler, n=args.n, width=args.width,
                      height=args.height, truncation=args.truncation, reroll=args.reroll,
                      reference=args.reference, identity_guidance=args.identity_guidance,
                      variation_of=args.variation_of, variation_strength=args.variation_strength,
                      style=args.style, init_image=args.init_image, strength=args.strength,
                      invert=bool(args.invert), branch_from=args.branch_from)  # fmt: skip
    images = get_engine(args.model, **options).generate(request, callback=progress)
    bar.close()
    paths = save(images, args.out, upscale=args.upscale, c2pa=c2pa)
    native = f"{images[0].width}x{images[0].height}"
    note = f", shown at {images[0].width * args.upscale}px" if args.upscale > 1 else ""
    made_by = images[0].info.get("model", args.model)  # the card follows the weights: face-gan-text's file
    print(f"wrote {len(images)} images (native {native}{note}) from {made_by} to {args.out}: "
          + ", ".join(p.name for p in paths[:5]))  # fmt: skip
    return 0


def cmd_series(args: argparse.Namespace) -> int:
    from .api import save, series
    from .prompting import negative_prompt
    from .threads import use_free_cores

    if not 1 <= args.upscale <= MAX_UPSCALE:
        raise InvalidInput(f"--upscale enlarges 1 to {MAX_UPSCALE} times, not {args.upscale}")
    writable_folder(args.out)
    prompts = [p.strip() for p in args.prompts.split("|")]
    if not all(prompts):
        raise InvalidInput('--prompts: give the portraits separated by "|", none of them empty')
    negative = (
        negative_prompt(*args.negative_preset, extra=args.negative) if args.negative_preset else args.negative
    )
    use_free_cores()
    images = series(prompts, face=args.face, seed=args.seed, negative_prompt=negative,
                    num_inference_steps=args.steps, guidance_scale=args.guidance,
                    identity_guidance=args.identity_guidance, model=args.model, weights=args.weights,
                    truncation=args.truncation, style=args.style, strength=args.strength)  # fmt: skip
    paths = save(images, args.out, upscale=args.upscale, captions=prompts)
    who = f"the face in {args.face}" if args.face else f"the person of seed {args.seed}"
    print(f"wrote {len(images)} portraits of {who} to {args.out}: {paths[-1].name} and the PNGs")
    return 0


def cmd_styles(args: argparse.Namespace) -> int:
    """The styles (shipped and the user's), and which of their parts --model cannot honour."""
    from .engines import get_engine
    from .engines.base import STYLE_BASE_PROMPT, style_gaps
    from .prompting.styles import styles, user_folder

    card = get_engine(args.model).card
    for s in styles().values():
        prompt, _ = s.apply(STYLE_BASE_PROMPT, None)
        gaps = [f"{r['part']} ({r['honoured']})" for r in style_gaps(card, s)]
        print(f"{s.name:16} {s.title}: {s.description}")
        print(f"{'':16} adds: {prompt.removeprefix(STYLE_BASE_PROMPT + ', ')}")
        if gaps:
            print(f"{'':16} {card.name} cannot fully honour: {', '.join(gaps)}")
    print(f"add your own as NAME.toml in {user_folder()} (format: see docs/styles.md)")
    return 0


def cmd_grid(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .api import grid, save_grid
    from .prompting import negative_prompt
    from .threads import use_free_cores

    writable_folder(args.out)
    negative = (
        negative_prompt(*args.negative_preset, extra=args.negative) if args.negative_preset else args.negative
    )
    use_free_cores()
    bar = tqdm(desc="grid", unit="cell", disable=not sys.stderr.isatty())

    def progress(done: int, total: int) -> None:
        bar.total, bar.n = total, done
        bar.refresh()

    sheet, cells = grid(args.prompt, args.x, args.y, model=args.model, weights=args.weights, progress=progress,
                        negative_prompt=negative, seed=args.seed, num_inference_steps=args.steps,
                        guidance_scale=args.guidance, sampler=args.sampler, truncation=args.truncation,
                        face=args.face, identity_guidance=args.identity_guidance, style=args.style)  # fmt: skip
    bar.close()
    save_grid(sheet, cells, args.out, args.x, args.y)
    missing = [c for c in cells if c.image is None]
    print(f"wrote {args.out}/grid.png: {len(cells) - len(missing)} of {len(cells)} cells made"
          + (f"; {len(missing)} marked n/a (the model cannot honour them: {missing[0].error})" if missing else ""))  # fmt: skip
    return 0


def _settings_from(args: argparse.Namespace, negative: str | None) -> str | None:
    """Fill the options not given on the command line from the settings saved in --from's PNG;
    returns the negative prompt to use."""
    from .png import read_settings

    path = Path(args.from_image)
    try:
        saved = read_settings(path)
    except FileNotFoundError:
        raise InvalidInput(f"no image at {path}") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise InvalidInput(f"{path}: its settings cannot be read ({e})") from None
    if not saved.get("prompt"):
        raise InvalidInput(f"{path} carries no portraitist settings to regenerate it from")
    for key in ("prompt", "model", "seed", "steps", "guidance", "sampler", "truncation", "identity_guidance",
                "variation_of", "variation_strength", "style", "strength", "invert", "branch_from"):  # fmt: skip
        if getattr(args, key) is None:
            setattr(args, key, saved.get(key))
    if args.reroll is None:  # the saved seed made that face (a re-rolled one records its own)
        args.reroll = 0
    if args.reference is None:
        from .reference import Reference

        args.reference = Reference.from_settings(saved)
    if saved.get("init_image") and args.init_image is None:
        raise InvalidInput(
            f"{path} was made from the photo {saved['init_image']}: give it again with --init-image"
        )
    if args.init_image is not None and saved.get("init_image"):
        digest = str(saved["init_image"]).rpartition("sha256 ")[2].rstrip(")")
        if digest != args.init_image.digest:
            print(
                f"note: --init-image is not the photo {path} was made from ({saved['init_image']})",
                file=sys.stderr,
            )
    args.n = args.n or 1
    from .engines.embedded import SHIPPED_WEIGHTS

    shipped = {None} | {path.stem for path in SHIPPED_WEIGHTS}  # images name their weights by file stem
    if not (args.weights or saved.get("weights") in shipped):
        print(f"note: {path} was made with weights {saved['weights']!r}; regenerating with the shipped ones "
              "(give --weights FILE for the same pixels)", file=sys.stderr)  # fmt: skip
    return negative if negative is not None else saved.get("negative_prompt")


def cmd_info(args: argparse.Namespace) -> int:
    """The settings an image was made with, and the marks it carries (synthetic, model, reference)."""
    from PIL import Image, UnidentifiedImageError

    from .png import read_marks, read_settings
    from .provenance import read_credentials

    path = Path(args.image)
    try:
        settings, marks = read_settings(path), read_marks(path)
        credentials = read_credentials(path)
    except FileNotFoundError:
        raise InvalidInput(f"no image at {path}") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise InvalidInput(f"{path} is not a readable image: {e}") from None
    except json.JSONDecodeError as e:
        raise InvalidInput(
            f"{path} carries damaged portraitist settings ({e}); its pixels are intact"
        ) from None
    if args.json:
        print(json.dumps({"settings": settings, "marks": marks, "c2pa": credentials}, indent=2, default=str))
        return 0
    with Image.open(path) as img:
        print(f"{path}: {img.width}x{img.height} {img.format}")
    if not settings:
        print("no portraitist settings in this image (made elsewhere, or its metadata was stripped)")
    for key, value in settings.items():
        print(f"  {key}: {json.dumps(value, default=str) if isinstance(value, dict | list) else value}")
    if marks:
        print("marks: " + ", ".join(f"{k} {v}" for k, v in marks.items()))
    else:
        print("marks: none (no IPTC digital source type)")
    if credentials:
        actions = [a for x in credentials["manifest"].get("assertions", []) if x["label"].startswith("c2pa.actions")
                   for a in x["data"]["actions"]]  # fmt: skip
        kinds = ", ".join(a.get("digitalSourceType", "").rsplit("/", 1)[-1] for a in actions)
        print(f"C2PA: {credentials['validation_state']} manifest, signed by "
              f"{credentials['manifest'].get('signature_info', {}).get('issuer', '?')}; source: {kinds}")  # fmt: skip
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .engines import list_models

    rows = list_models()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        mark = "ready" if r["available"] else "not here"
        print(
            f"{r['name']:<20} {r['engine']:<13} {mark:<9} {r['native_resolution']:<28} negative prompt: {r['negative_prompt']}"
        )
        print(f"{'':<20} best for: {r['best_for']}")
        print(f"{'':<20} speed: {r['speed']}")
        print(f"{'':<20} licence: {r['licence']}; weights: {r['weights']}")
        print(f"{'':<20} {r['why']}\n")
    return 0


def cmd_prompt(args: argparse.Namespace) -> int:
    """Build a prompt from brief parts (or read one), lint it and show what a model can honour."""
    from .engines import coverage, get_engine
    from .prompting import PortraitBrief, lint, negative_prompt

    if args.text:
        prompt = args.text
    else:
        brief = PortraitBrief(shot=args.shot, gender=args.subject, age=args.age, ethnicity=args.ethnicity,
                              hair_colour=args.hair, eye_colour=args.eyes, features=args.feature or [],
                              expression=args.expression, light_direction=args.light, light_quality=args.light_quality,
                              focal_length_mm=args.lens, aperture=args.aperture, film=args.film,
                              quality=args.quality or [])  # fmt: skip
        prompt = brief.to_prompt()
    negative = (
        negative_prompt(*args.negative_preset, extra=args.negative) if args.negative_preset else args.negative
    )
    if args.style:  # the style's parts join the prompt, so the lint and coverage below include them
        from .prompting.styles import style

        prompt, negative = style(args.style).apply(prompt, negative)
    hints = lint(prompt)
    rows = coverage(get_engine(args.model).card, prompt, negative)
    if args.json:
        print(json.dumps({"prompt": prompt, "negative_prompt": negative, "hints": [h.__dict__ for h in hints],
                          "coverage": rows}, indent=2, default=str))  # fmt: skip
        return 0
    print(prompt)
    if negative:
        print(f"Negative prompt: {negative}")
    for h in hints:
        print(f"  {h}")
    print(f"\nwhat {args.model} can honour:")
    for r in rows:
        value = ", ".join(map(str, r["value"])) if isinstance(r["value"], list) else r["value"]
        print(f"  {r['honoured']:<8} {r['part']:<16} {value}" + (f"  ({r['note']})" if r["note"] else ""))
    return 0


def _parse_edits(pairs: list[str]) -> dict[str, float]:
    edits = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            edits[name.strip()] = float(value)
        except ValueError:
            raise InvalidInput(f"--direction takes NAME=STRENGTH (e.g. age=+2), got {pair!r}") from None
    return edits


def _engine(model: str, weights: str | None = None, **options):
    """The engine for `model`, with a user's weights file (and other options) where given."""
    from .engines import get_engine

    given = {"weights": weights} | options
    return get_engine(model, **{k: v for k, v in given.items() if v is not None})


def cmd_edit(args: argparse.Namespace) -> int:
    """One face before and after latent edits: a PNG pair plus a side-by-side strip."""
    from PIL import Image

    from .contact_sheet import contact_sheet
    from .engines.base import require
    from .png import COMPOSITE, save_png

    edits = _parse_edits(args.direction)
    out = writable_folder(args.out)
    engine = _engine(args.model, args.weights, directions=args.directions)
    require(engine.card, "edit")
    settings = {"model": engine.card.name, "prompt": args.prompt, "negative_prompt": args.negative,
                "seed": args.seed, "truncation": args.truncation, "edits": edits}  # fmt: skip
    settings = {k: v for k, v in settings.items() if v is not None}
    latent = None
    if args.image:
        from .reference import StartImage

        require(engine.card, "project")
        photo = StartImage.from_file(args.image).face  # its one face, aligned like the training faces
        steps = {"steps": args.project_steps} if args.project_steps else {}
        print(f"projecting {args.image} ...", file=sys.stderr)
        latent, before, psnr = engine.project(photo, seed=args.seed, **steps)
        settings |= {"projected_from": Path(args.image).name, "projection_psnr_db": round(psnr, 2),
                     "projection_steps": args.project_steps}  # fmt: skip
        print(f"projected {args.image}: reconstruction PSNR {psnr:.1f} dB")
    else:
        before = engine.edit(settings, {})
    after = engine.edit(settings, edits, latent=latent)
    save_png(Image.fromarray(before), out / "before.png", settings | {"edits": {}})
    save_png(Image.fromarray(after), out / "after.png", settings)
    faces, labels = [before, after], ["before", ", ".join(f"{k} {v:+g}" for k, v in edits.items())]
    if args.image:
        faces, labels = [photo, *faces], ["photo", "projected", labels[1]]
    strip = contact_sheet(np.stack(faces), labels, cell=192)
    save_png(strip, out / "edit.png", settings, source_type=COMPOSITE if args.image else None)
    print(f"wrote {out / 'before.png'}, {out / 'after.png'} and {out / 'edit.png'}")
    return 0


def cmd_directions(args: argparse.Namespace) -> int:
    """Find a GAN's edit directions (InterFaceGAN boundaries from the instruments' labels, GANSpace
    PCA) and write them beside its weights, with a preview sheet of each direction."""
    from .contact_sheet import contact_sheet
    from .engines.embedded import FACE_GAN
    from .latent.gan_directions import edit_w, find_directions
    from .pipelines.face_gan import FaceGAN
    from .png import save_png

    if not (args.out or args.weights):
        raise InvalidInput("the shipped model's directions live inside the installed package, which portraitist "
                           "never overwrites: give --out FILE (or --weights for a GAN of your own)")  # fmt: skip
    out = Path(args.out) if args.out else FaceGAN.directions_path_of(args.weights)
    writable_folder(out.parent, "--out")
    gan = FaceGAN.from_pretrained(args.weights)
    directions = find_directions(gan, n=args.n, seed=args.seed)
    directions.save(out)
    seeds = [7, 8, 9]
    names = list(directions.vectors)
    strengths = (-2.0, -1.0, 0.0, 1.0, 2.0)
    w = gan.ws(seeds, FACE_GAN.default_truncation)
    cells = [gan.synthesize(edit_w(w, directions, {name: s}), seeds)[k]
             for name in names for k in range(len(seeds)) for s in strengths]  # fmt: skip
    labels = [
        f"{name} {s:+g}" if k == 0 else "" for name in names for k in range(len(seeds)) for s in strengths
    ]
    sheet = contact_sheet(np.stack(cells), labels, cell=64, columns=len(strengths) * len(seeds))
    preview = save_png(sheet, out.with_suffix(".png"), {"model": gan.name, "directions": names})
    for name in names:
        side = directions.sides.get(name)
        where = f", sides {side[0]:+.2f} / {side[1]:+.2f}" if side else ""
        print(f"{name:<12} spread {directions.spread[name]:.3f}{where}")
    print(f"wrote {out} and {preview}")
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    """A strip (PNG) and a GIF from one face to another."""
    from .contact_sheet import contact_sheet
    from .engines.base import require
    from .latent.gan_directions import save_gif
    from .png import save_png

    engine = _engine(args.model, args.weights)
    require(engine.card, "interpolate")
    a = {"prompt": args.prompt, "seed": args.seed_a}
    b = {"prompt": args.prompt_b or args.prompt, "seed": args.seed_a if args.prompt_b else args.seed_b}
    out = writable_folder(args.out)
    frames = engine.interpolate(a, b, args.frames, space=args.space)
    settings = {"model": engine.card.name, "prompt": args.prompt, "prompt_b": args.prompt_b,
                "seed_a": args.seed_a, "seed_b": b["seed"], "space": args.space}  # fmt: skip
    settings = {k: v for k, v in settings.items() if v is not None}
    save_png(contact_sheet(frames, cell=128, columns=len(frames)), out / "strip.png", settings)
    save_gif(frames, out / "interpolation.gif", settings)
    print(f"wrote {out / 'strip.png'} and {out / 'interpolation.gif'} ({len(frames)} frames)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .studio.server import serve

    if args.host not in ("127.0.0.1", "localhost", "::1") and not (
        args.api_key or os.environ.get("PORTRAITIST_API_KEY")
    ):
        raise InvalidInput("serving beyond localhost needs an API key: --api-key or PORTRAITIST_API_KEY")
    print(
        f"portraitist studio on http://{args.host}:{args.port}/ (API docs at /docs), gallery in {args.gallery}"
    )
    serve(args.host, args.port, gallery_dir=args.gallery, weights=args.weights, gan_weights=args.gan_weights,
          api_key=args.api_key or os.environ.get("PORTRAITIST_API_KEY"), cors_origins=tuple(args.cors_origin),
          workers=args.workers, max_queued=args.max_queued)  # fmt: skip
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

    al = data.add_parser(
        "align", help="align faces to CelebA-64's framing (five landmarks, similarity transform)"
    )
    al.add_argument("pack", help="a pack name, or any folder of photos (official layouts too)")
    al.add_argument("--out", required=True, help="folder for the aligned pack")
    al.add_argument("--size", type=int, default=64, help="output size in px (default 64)")
    al.add_argument("--kind", choices=("pack", "celeba", "fairface", "utkface", "ffhq", "folder"))
    al.add_argument("--limit", type=int, help="align only the first N records")
    al.set_defaults(func=cmd_data_align)

    ev = sub.add_parser("evaluate", help="score generated faces against real ones; JSON + HTML report")
    ev.add_argument("samples", help="a folder of generated PNGs, or any dataset folder / pack")
    ev.add_argument("--ref", default="celeba64", help="pack whose held-out split is the real reference")
    ev.add_argument("--ref-limit", type=int, default=5000, help="at most this many reference faces")
    ev.add_argument("--train", help="pack whose train split is checked for memorised faces")
    ev.add_argument("--train-limit", type=int, default=10000,
                    help="check against this many random training faces (default 10000, about 4 min the first "
                         "time; 0: all of them)")  # fmt: skip
    ev.add_argument("--prompts", help="text file: one prompt per sample (sorted file order), or one for all")
    ev.add_argument("--negative", help="the negative prompt used with --prompts")
    ev.add_argument("--limit", type=int, help="score only the first N samples")
    ev.add_argument("--no-bias", action="store_true", help="skip the bias audit against FairFace")
    ev.add_argument("--out", default="evaluation", help="folder for metrics.json and report.html")
    ev.set_defaults(func=cmd_evaluate)

    from .engines import DEFAULT_MODEL, model_names
    from .engines.embedded import FACE_DIFFUSION as FD
    from .prompting import PRESETS

    def face_args(q: argparse.ArgumentParser) -> None:
        q.add_argument("--face", help="a photo or generated face: portraits of this person (models whose card "
                       "lists 'reference')")  # fmt: skip
        q.add_argument("--identity-guidance", type=float,
                       help="with --face: how strongly the person is kept, apart from the text (default: as --guidance)")  # fmt: skip

    def negative_args(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--style", help="a named look: light, camera, film and negatives (see `portraitist styles`)"
        )
        q.add_argument("--negative", help="what the face must not have, e.g. 'eyeglasses, blurry'")
        q.add_argument("--negative-preset", action="append", choices=sorted(PRESETS), default=[],
                       help="add a named negative-prompt preset (repeatable)")  # fmt: skip

    gen = sub.add_parser(
        "generate", help="images from a text prompt (PNG files with their settings + a grid)"
    )
    gen.add_argument("prompt", nargs="?", help="what to generate (optional with --from)")
    gen.add_argument("--from", dest="from_image", metavar="IMAGE.png",
                     help="regenerate an image from the settings saved in it; options given here override them")  # fmt: skip
    negative_args(gen)
    gen.add_argument(
        "--model", choices=model_names(), help=f"see `portraitist models` (default {DEFAULT_MODEL})"
    )
    gen.add_argument("--seed", type=int, help="default 0")
    gen.add_argument(
        "--steps",
        type=int,
        help=f"default: the model's own ({FD.default_steps} for face-diffusion)",
    )
    gen.add_argument(
        "--guidance",
        type=float,
        help=f"default: the model's own ({FD.default_guidance} for face-diffusion)",
    )
    gen.add_argument(
        "--sampler",
        help=f"default: the model's own ({FD.default_sampler} for face-diffusion; {', '.join(FD.samplers)})",
    )
    gen.add_argument("--n", type=int, help="how many images (seeds seed..seed+n-1; default 4, 1 with --from)")
    gen.add_argument("--width", type=int, help="output width where the model takes one")
    gen.add_argument("--height", type=int, help="output height where the model takes one")
    gen.add_argument("--reroll", type=int,
                     help="regenerate faces failing QA up to K more times (default: the model's own, "
                          "default_reroll in `portraitist models --json`; 0 turns it off)")  # fmt: skip
    gen.add_argument(
        "--truncation", type=float, help="face-gan: pull faces towards the average (default 0.85)"
    )
    gen.add_argument(
        "--upscale",
        type=int,
        default=1,
        help=f"also enlarge 1-{MAX_UPSCALE}x for viewing (the native size is kept in the metadata)",
    )
    gen.add_argument(
        "--weights", help="a model file (face-diffusion, face-gan) or weights folder (open-weight models)"
    )
    gen.add_argument(
        "--download", action="store_true", help="open-weight models: download from the hub if not on disk"
    )
    gen.add_argument("--out", default="out", help="folder for the PNGs")
    gen.add_argument(
        "--c2pa-cert", help="sign C2PA Content Credentials with this PEM certificate chain (ES256)"
    )
    gen.add_argument("--c2pa-key", help="... and this PEM private key")
    face_args(gen)
    gen.add_argument("--variation-of", type=int, metavar="SEED",
                     help="variations of the face this seed made: its noise mixed with the new seeds' (--seed, --n)")  # fmt: skip
    gen.add_argument("--variation-strength", type=float,
                     help="0: that face; 1: the new seeds' own faces (default 0.2)")  # fmt: skip
    gen.add_argument("--init-image", metavar="PHOTO",
                     help="start from this photo's face (aligned first): diffusion noises and re-denoises it, the GAN "
                     "starts from its projection")  # fmt: skip
    gen.add_argument(
        "--strength",
        type=float,
        help="with --init-image: 0 keeps the photo, 1 ignores it (default 0.6; with --invert or "
        "--branch-from, chosen by what the prompt asks: 0.5 for a smile, 0.75 for glasses); with "
        "--branch-from: the share of the steps drawn under the prompt",
    )
    gen.add_argument("--invert", action="store_true", default=None,
                     help="with --init-image (face-diffusion): start from the photo inverted, not noised, which keeps "
                     "much more of its person")  # fmt: skip
    gen.add_argument("--branch-from", metavar="PROMPT",
                     help="(face-diffusion) draw the first steps under this prompt, the rest under the prompt: "
                     "each seed's face for PROMPT, changed only as much as the last steps allow")  # fmt: skip
    gen.set_defaults(func=cmd_generate)

    st = sub.add_parser("styles", help="named looks for --style, and what a model cannot honour of each")
    st.add_argument("--model", default=DEFAULT_MODEL, choices=model_names())
    st.set_defaults(func=cmd_styles)

    gr = sub.add_parser("grid", help="a labelled comparison sheet: one setting along x, another along y")
    gr.add_argument("prompt")
    gr.add_argument(
        "--x", required=True, help="SETTING=V1,V2,... e.g. steps=4,8,16 or prompt=smiling,serious"
    )
    gr.add_argument("--y", help="a second setting, e.g. guidance=1.5,3,5 or model=face-diffusion,face-gan")
    negative_args(gr)
    gr.add_argument("--model", default=DEFAULT_MODEL, choices=model_names())
    gr.add_argument("--weights", help="a model file for --model other than the shipped one")
    gr.add_argument("--seed", type=int, default=0)
    gr.add_argument("--steps", type=int)
    gr.add_argument("--guidance", type=float)
    gr.add_argument("--sampler")
    gr.add_argument("--truncation", type=float)
    face_args(gr)
    gr.add_argument("--out", default="grid")
    gr.set_defaults(func=cmd_grid)

    se = sub.add_parser("series", help="one person in several portraits: a sheet and the PNGs")
    who = se.add_mutually_exclusive_group()
    who.add_argument("--seed", type=int, default=0, help="the person the seed makes (default 0)")
    who.add_argument("--face", help="a photo or generated face: portraits of this person")
    se.add_argument("--prompts", required=True,
                    help='the portraits, separated by "|": "smiling|serious|lit from the left|in her sixties"')  # fmt: skip
    negative_args(se)
    se.add_argument("--model", default=DEFAULT_MODEL, choices=model_names(),
                    help="a model whose card lists 'series' (see `portraitist models`)")  # fmt: skip
    se.add_argument("--weights", help="a model file other than the shipped one")
    se.add_argument("--steps", type=int)
    se.add_argument("--guidance", type=float)
    se.add_argument("--identity-guidance", type=float,
                    help="how strongly the person is kept, apart from the text (default: as --guidance)")  # fmt: skip
    se.add_argument("--truncation", type=float, help="face-gan: truncation")
    se.add_argument("--strength", type=float, help="a diffusion model without an identity input: how far each "
                    "portrait moves from the face it starts from (a photo's inversion, or the seed's own path), "
                    "0-1 (default: by what each prompt asks, 0.5 for a smile to 0.75 for glasses)")  # fmt: skip
    se.add_argument("--upscale", type=int, default=1, help=f"also enlarge 1-{MAX_UPSCALE}x for viewing")
    se.add_argument("--out", default="series")
    se.set_defaults(func=cmd_series)

    ed = sub.add_parser("edit", help="move a face along latent directions (age, smile, hair, light ...)")
    ed.add_argument("--model", default=DEFAULT_MODEL, choices=model_names(),
                    help="a model whose card lists 'edit' (see `portraitist models`)")  # fmt: skip
    ed.add_argument("--prompt", help="face-diffusion: the face's prompt")
    ed.add_argument("--negative")
    ed.add_argument("--seed", type=int, default=0)
    ed.add_argument(
        "--direction", action="append", default=[], help="NAME=STRENGTH, e.g. age=+2 (repeatable)"
    )
    ed.add_argument("--truncation", type=float, help="gan: truncation of the face (default 0.85)")
    ed.add_argument("--weights", help="a model file other than the shipped one")
    ed.add_argument("--directions", help="gan: directions file (default: beside the weights)")
    ed.add_argument(
        "--image", help="a real face photo to edit: face-gan projects it into W, face-diffusion inverts it"
    )
    ed.add_argument("--project-steps", type=int,
                    help="--image: face-gan optimisation steps (default 300); face-diffusion inversion steps (16)")  # fmt: skip
    ed.add_argument("--out", default="edit")
    ed.set_defaults(func=cmd_edit)

    it = sub.add_parser("interpolate", help="a strip and a GIF from one face to another")
    it.add_argument("--model", default=DEFAULT_MODEL, choices=model_names(),
                    help="a model whose card lists 'interpolate' (see `portraitist models`)")  # fmt: skip
    it.add_argument("--prompt", help="face-diffusion: the prompt (or the first prompt, with --prompt-b)")
    it.add_argument("--prompt-b", help="face-diffusion: interpolate from --prompt to this at --seed-a")
    it.add_argument("--seed-a", type=int, default=0)
    it.add_argument("--seed-b", type=int, default=1)
    it.add_argument("--frames", type=int, default=8)
    it.add_argument("--space", choices=("w", "z"), help="face-gan: lerp in W (default) or slerp in Z")
    it.add_argument("--weights")
    it.add_argument("--out", default="interpolation")
    it.set_defaults(func=cmd_interpolate)

    dr = sub.add_parser("directions", help="find a GAN's edit directions (age, smile, hair, light ...)")
    dr.add_argument("--weights", help="a GAN file other than the shipped one")
    dr.add_argument("--n", type=int, default=4000, help="faces generated and labelled")
    dr.add_argument("--seed", type=int, default=0)
    dr.add_argument("--out", help="default: beside the weights (NAME.directions.safetensors)")
    dr.set_defaults(func=cmd_directions)

    sv = sub.add_parser("serve", help="the studio: HTTP API and browser UI on localhost")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8765)
    sv.add_argument("--gallery", default="portraitist-gallery", help="folder for the gallery (SQLite + PNGs)")
    sv.add_argument("--weights", help="a face-diffusion model file other than the shipped one")
    sv.add_argument("--gan-weights", help="a face-gan model file other than the shipped one")
    sv.add_argument("--api-key", help="require this key (X-API-Key header); default $PORTRAITIST_API_KEY")
    sv.add_argument(
        "--cors-origin", action="append", default=[], help="allow this browser origin (repeatable)"
    )
    sv.add_argument("--workers", type=int, default=1, help="jobs generated at once")
    sv.add_argument("--max-queued", type=int, default=8, help="waiting jobs before new ones get 429")
    sv.set_defaults(func=cmd_serve)

    inf = sub.add_parser("info", help="the settings an image was made with, and the marks it carries")
    inf.add_argument("image")
    inf.add_argument("--json", action="store_true")
    inf.set_defaults(func=cmd_info)

    models = sub.add_parser("models", help="every model with its card, and whether it runs here now")
    models.add_argument("--json", action="store_true")
    models.set_defaults(func=cmd_models)

    pr = sub.add_parser(
        "prompt", help="build a prompt from a photographer's brief, lint it, show model coverage"
    )
    pr.add_argument("text", nargs="?", help="a prompt to lint (instead of building one from the options)")
    pr.add_argument("--shot", help="close-up, headshot, head and shoulders ...")
    pr.add_argument("--subject", help="woman, man, person")
    pr.add_argument("--age", help="'34-year-old', 'in her thirties', 'elderly'")
    pr.add_argument("--ethnicity")
    pr.add_argument("--hair", help="hair colour")
    pr.add_argument("--eyes", help="eye colour")
    pr.add_argument("--feature", action="append", help="freckles, glasses, beard ... (repeatable)")
    pr.add_argument("--expression")
    pr.add_argument("--light", help="direction: 'from the left', 'rim light', 'Rembrandt lighting'")
    pr.add_argument("--light-quality", help="'soft window light', 'golden hour', 'low-key lighting'")
    pr.add_argument("--lens", type=int, help="focal length in mm")
    pr.add_argument("--aperture", type=float, help="f-number")
    pr.add_argument("--film", help="'Kodak Portra 400', 'black and white'")
    pr.add_argument("--quality", action="append", help="'sharp focus', 'natural skin texture' (repeatable)")
    pr.add_argument("--model", default=DEFAULT_MODEL, choices=model_names())
    negative_args(pr)
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=cmd_prompt)

    tr = sub.add_parser("train", help="train a model (pass --help after the name for its options)")
    tr.add_argument("what", choices=("autoencoder", "diffusion", "gan", "attributes", "plausibility"))
    tr.set_defaults(func=cmd_train, passthrough=True)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from .errors import PortraitistError

    args, rest = build_parser().parse_known_args(argv)
    if rest and not getattr(args, "passthrough", False):
        build_parser().parse_args(argv)  # reports the unknown arguments the usual way
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda m, *a, **k: print(f"warning: {m}", file=sys.stderr)
        try:
            return args.func(args, rest) if getattr(args, "passthrough", False) else args.func(args)
        except (PortraitistError, FileNotFoundError) as e:
            # our own errors (and a named file that is not there) are the user's to fix: one line;
            # anything else is a bug, and its traceback is what a report needs
            print(f"error: {e}", file=sys.stderr)
            return 2
        except BrokenPipeError:  # `portraitist styles | head`: the reader left, nothing is wrong
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0


if __name__ == "__main__":
    sys.exit(main())
