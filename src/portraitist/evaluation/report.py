"""One self-contained HTML report (plots inlined as PNG) plus the JSON it was made from."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np

from ..contact_sheet import contact_sheet
from ..quality.checks import score


def _png(fig_or_image) -> str:
    buf = io.BytesIO()
    if hasattr(fig_or_image, "savefig"):
        fig_or_image.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(fig_or_image)
    else:
        fig_or_image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _table(rows: dict, title: str) -> str:
    cells = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{_fmt(v)}</td></tr>"
        for k, v in rows.items()
        if not isinstance(v, dict)
    )
    return f"<h2>{html.escape(title)}</h2><table>{cells}</table>"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))


def _histograms(s, r):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["face_score", "iris_ratio", "openness_ratio", "gaze_diff", "asymmetry", "sharpness", "ita"]
    fig, axes = plt.subplots(2, 4, figsize=(14, 6))
    for ax, name in zip(axes.flat, names, strict=False):
        a, b = getattr(s.measures, name), getattr(r.measures, name)
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        lo, hi = np.percentile(np.concatenate([a, b]), [0.5, 99.5]) if len(a) + len(b) else (0, 1)
        bins = np.linspace(lo, hi, 40)
        ax.hist(b, bins=bins, alpha=0.5, density=True, label="real (reference)")
        ax.hist(a, bins=bins, alpha=0.5, density=True, label="samples")
        ax.set_title(name)
    axes.flat[0].legend()
    axes.flat[-1].axis("off")
    fig.suptitle("Per-face measures: samples vs held-out real faces")
    return fig


def _group_bars(bias_result: dict):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    sets = [("samples", bias_result["samples"]), ("balanced reference", bias_result["balanced_reference"])]
    if "training_data" in bias_result:
        sets.insert(1, ("training data", bias_result["training_data"]))
    for ax, key in zip(axes, ("skin_tone_ita", "race_groups", "age_groups"), strict=True):
        cats = list(sets[0][1][key])
        x = np.arange(len(cats))
        w = 0.8 / len(sets)
        for k, (label, prof) in enumerate(sets):
            ax.bar(x + k * w, [prof[key][c] for c in cats], w, label=label)
        ax.set_xticks(x + 0.4 - w / 2, cats, rotation=40, ha="right")
        ax.set_title(key.replace("_", " "))
    axes[0].legend()
    return fig


def write_report(results: dict, art: dict, out_dir: str | Path) -> tuple[Path, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "metrics.json"
    json_path.write_text(json.dumps(results, indent=2, default=float) + "\n")
    s, r, samples = art["s"], art["r"], art["samples"]
    parts = [
        "<!doctype html><meta charset='utf-8'><title>portraitist evaluation</title>",
        "<style>body{font:14px system-ui;margin:2em;max-width:1100px}table{border-collapse:collapse}"
        "td{border:1px solid #ccc;padding:3px 8px}h2{margin-top:1.5em}</style>",
        f"<h1>Evaluation of {html.escape(str(results['samples']))}</h1>",
        f"<p>{results['n']} samples against {html.escape(results['reference'])}; {results['seconds']} s. "
        "Fréchet distances are in EfficientNet-Lite0 (effnet) or SFace features, not Inception: they are not FID.</p>",
        _table(results["set"], "Set metrics"),
        _table(results["qa"], "Per-face QA (samples)"),
        _table(results["qa_reference"], "Per-face QA (held-out real faces)"),
        f"<img src='{_png(_histograms(s, r))}' width='100%'>",
    ]
    order = sorted(range(len(samples.images)), key=lambda i: score(s.measures, i))[:16]
    worst = contact_sheet(samples.images[order], [f"#{i} qa {score(s.measures, i):.2f}" for i in order], cell=96,
                          caption_lines=1)  # fmt: skip
    parts += ["<h2>Worst faces by QA margin</h2>", f"<img src='{_png(worst)}'>"]
    if "memorisation" in results:
        mem, tr = art["memorisation"], art["train_faces"]
        parts.append(_table(results["memorisation"]["samples"], "Memorisation (samples)"))
        parts.append(
            _table(results["memorisation"]["held_out_real"], "Memorisation (held-out real, for comparison)")
        )
        pairs = mem.closest_pairs(8)
        imgs = np.concatenate([[samples.images[i], tr.images[j]] for i, j, _ in pairs])
        caps = [c for i, j, d in pairs for c in (f"sample #{i}", f"train rms {d:.3f}")]
        parts += ["<h2>Closest training pairs (pixels)</h2>",
                  f"<img src='{_png(contact_sheet(imgs, caps, cell=96, columns=8, caption_lines=1))}'>"]  # fmt: skip
    if "adherence" in results:
        rows = {k: f"{v['rate']:.2%} of {v['n']}" for k, v in results["adherence"]["by_request"].items()}
        rows["overall"] = results["adherence"]["overall"]
        parts.append(_table(rows, "Attribute adherence"))
    if "bias" in results:
        b = results["bias"]
        parts.append(
            _table({k: v for k, v in b.items() if "gap" in k}, "Bias: distribution gaps (total variation)")
        )
        parts.append(f"<img src='{_png(_group_bars(b))}' width='100%'>")
        rows = {
            g: ", ".join(f"{k} {_fmt(v)}" for k, v in e.items()) for g, e in b["per_group_quality"].items()
        }
        parts.append(_table(rows, "Per-group quality (perceived FairFace race group)"))
    html_path = out / "report.html"
    html_path.write_text("\n".join(parts))
    return json_path, html_path
