"""Start-up of the `portraitist` command: wall time of commands that should not load torch, side by
side with one that must (generating a face), median of --repeat runs each, in one run of this script;
and, for a fresh Python process, the time from launching it to the model's first sampler step
(imports, loading the text encoder and the model: what a creator waits for before any work).

    python bench/startup.py [--repeat 5] [--pack PATH]

Prints Markdown; the latest result is recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time


def timed(args: list[str]) -> tuple[float, bool]:
    """Seconds to run `python -X importtime -m portraitist.cli ARGS`, and whether torch was imported."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "portraitist.cli", *args],
                          capture_output=True, text=True)  # fmt: skip
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"portraitist {' '.join(args)} failed: {proc.stderr[-2000:]}")
    return seconds, any(line.rstrip().endswith("| torch") for line in proc.stderr.splitlines())


FIRST_STEP = """
import sys, time
launched = float(sys.argv[1])
from portraitist import generate
first = []
generate("a face", callback=lambda step, total, preview: first or first.append(time.time()))
print(first[0] - launched)
"""


def to_first_step() -> float:
    launched = time.time()
    proc = subprocess.run([sys.executable, "-c", FIRST_STEP, repr(launched)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"first-step probe failed: {proc.stderr[-2000:]}")
    return float(proc.stdout.split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--pack", default="utkface64", help="a pack for `data info` (name or folder)")
    args = ap.parse_args()
    out = tempfile.mkdtemp()
    commands = {
        "portraitist --help": ["--help"],
        f"portraitist data info {args.pack} --limit 100": ["data", "info", args.pack, "--limit", "100"],
        "portraitist generate 'a face' --n 1": ["generate", "a face", "--n", "1", "--out", out],
    }
    print("| command | median s | torch imported |")
    print("|---|---:|---|")
    for name, argv in commands.items():
        runs = [timed(argv) for _ in range(args.repeat)]
        print(f"| `{name}` | {statistics.median(s for s, _ in runs):.2f} | {'yes' if runs[0][1] else 'no'} |",
              flush=True)  # fmt: skip
    first = statistics.median(to_first_step() for _ in range(args.repeat))
    print(f"| new process to the first sampler step (`generate('a face')`) | {first:.2f} | yes |")


if __name__ == "__main__":
    main()
