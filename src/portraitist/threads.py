"""How many threads torch should use: the cores no other process is busy on.

Measured on this 2-core machine with another process busy (bench/threads.py, docs/benchmarks.md):
two torch threads on one free core fight each other and the other process (one face 11.2 s),
one thread does not (5.0 s). So generation asks the load average how many cores are free,
unless the user decided (PORTRAITIST_THREADS, or OMP_NUM_THREADS as torch reads it).
"""

from __future__ import annotations

import os


def free_cores() -> int:
    """All cores less the 1-minute load average (other processes' runnable work), at least one."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # no load average on this platform
        return cores
    return max(1, min(cores, cores - round(load)))


def use_free_cores() -> int:
    """Set torch's thread count from PORTRAITIST_THREADS, else leave OMP_NUM_THREADS's choice, else
    use the free cores; returns the count in use."""
    import torch

    chosen = os.environ.get("PORTRAITIST_THREADS")
    if chosen:
        torch.set_num_threads(max(1, int(chosen)))
    elif not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(free_cores())
    return torch.get_num_threads()
