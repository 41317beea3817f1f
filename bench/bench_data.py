"""Data-layer throughput: decoding JPEGs on the fly vs reading the decoded cache, side by side.

    python bench/bench_data.py [--pack celeba64] [--n 20000] [--batch 64]

Prints a Markdown table; the latest result is recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from portraitist.data import decode, decode_image, load, open_source, to_tensor


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pack", default="celeba64")
    ap.add_argument("--n", type=int, default=20000, help="images to decode for the cold run")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--batches", type=int, default=300)
    args = ap.parse_args()
    rows = []
    src = open_source(args.pack, limit=args.n)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        decode(src, 64, progress=False, root=Path(tmp))
        cold = time.perf_counter() - t
        rows.append(("cold: decode + measure + write cache", args.n / cold, f"{cold:.1f} s for {args.n}"))

        t = time.perf_counter()
        faces = load(args.pack, limit=args.n, progress=False, cache_root=Path(tmp))
        warm = time.perf_counter() - t
        rows.append(("warm open (cache + labels)", args.n / warm, f"{warm:.2f} s"))

        rng = np.random.default_rng(0)
        t = time.perf_counter()
        for _ in range(args.batches):
            images, _ = faces.sample(args.batch, rng, flip=True)
            to_tensor(images)
        cached = time.perf_counter() - t
        rows.append(("random batches from cache (flip, to tensor)", args.batches * args.batch / cached, ""))

        t = time.perf_counter()
        m = args.batches // 10
        for _ in range(m):
            idx = rng.integers(0, len(src), size=args.batch)
            batch = np.stack([decode_image(src.read(src.files[i]), 64) for i in idx])
            to_tensor(batch[:, :, ::-1])
        fly = time.perf_counter() - t
        rows.append(("random batches decoding JPEGs on the fly", m * args.batch / fly, ""))
    print(
        f"pack {args.pack}, {args.n} images, batch {args.batch}, {platform.processor() or platform.machine()}"
    )
    print("| path | images/s | note |\n|---|---:|---|")
    for name, rate, note in rows:
        print(f"| {name} | {rate:,.0f} | {note} |")
    print(f"\ncached batches are {rows[2][1] / rows[3][1]:.0f}x faster than decoding on the fly")


if __name__ == "__main__":
    main()
