"""One face with 1 and with 2 torch threads, on an idle machine and beside one busy process, side by
side in one run (the thread count generation picks is threads.free_cores()).

    python bench/threads.py [--repeat 5]

Prints Markdown; the latest result is recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch

from portraitist.engines.embedded import FACE_DIFFUSION as CARD
from portraitist.pipelines.face_diffusion import FaceDiffusion
from portraitist.threads import free_cores


def one_face_seconds(pipe: FaceDiffusion, threads: int, repeat: int) -> float:
    torch.set_num_threads(threads)
    times = []
    for seed in range(repeat):
        t = time.perf_counter()
        pipe("a face", None, CARD.default_steps, CARD.default_guidance, [seed], CARD.default_sampler)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    pipe = FaceDiffusion.from_pretrained()
    pipe("a face", None, 2, 3.0, [0], "euler")  # warm-up
    print("| machine | 1 thread s | 2 threads s | free_cores() |")
    print("|---|---:|---:|---:|")
    for label, busy in (("idle", False), ("one busy process", True)):
        burner = None
        if busy:
            burner = subprocess.Popen([sys.executable, "-c", "while True: sum(i * i for i in range(10_000))"])
            time.sleep(3)
        try:
            one, two = one_face_seconds(pipe, 1, args.repeat), one_face_seconds(pipe, 2, args.repeat)
            print(f"| {label} | {one:.3f} | {two:.3f} | {free_cores()} |", flush=True)
        finally:
            if burner:
                burner.kill()


if __name__ == "__main__":
    main()
