"""Failure-mode monitors for GAN training: each watches one symptom, warns in the log, and names the
action the trainer takes.

| failure | symptom watched | fires when | action |
|---|---|---|---|
| instability | losses and gradient norms | NaN/inf, or a value above `spike` x its running median | NaN: restore the last good checkpoint and halve the learning rates; spike: halve the learning rates |
| discriminator overfitting | ADA's r_t = E[sign D(real)], and the gap between D's mean logit on training and on held-out real faces | r_t > `rt_alarm` or gap > `gap_alarm` | raise augmentation p by `p_step` |
| mode collapse | diversity of a fixed probe batch (mean pairwise distance of 32 px images, over the same for real faces) | below `collapse_ratio` of its best so far, after warm-up | restore the last good checkpoint and halve the learning rates |

`HealthLog` keeps every observation for the training-health plot written beside the run.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F


@dataclass
class HealthConfig:
    spike: float = 8.0
    median_window: int = 50
    min_history: int = 1000  # no spike alarms before this many steps: early GAN training is jumpy
    cooldown: int = 100  # steps after a spike alarm before the next (one spike spans several steps)
    rt_alarm: float = 0.9
    gap_alarm: float = 1.5
    p_step: float = 0.1
    collapse_ratio: float = 0.5
    warmup_checks: int = 3


@dataclass
class Event:
    step: int
    failure: str  # "instability" | "overfitting" | "mode_collapse"
    message: str
    action: str  # "restore" | "lower_lr" | "raise_augment"


def diversity(images: torch.Tensor) -> float:
    """Mean pairwise Euclidean distance between images at 32 px (per pixel-channel RMS)."""
    x = F.interpolate(images.float(), size=(32, 32), mode="area").flatten(1)
    d = torch.cdist(x, x) / math.sqrt(x.shape[1])
    n = len(x)
    return float(d.sum() / (n * (n - 1)))


@dataclass
class HealthLog:
    config: HealthConfig = field(default_factory=HealthConfig)
    series: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    best_diversity: float = 0.0
    diversity_checks: int = 0
    last_spike: int = -(10**9)

    def _record(self, step: int, name: str, value: float) -> None:
        self.series.setdefault(name, []).append((step, float(value)))

    def _median(self, name: str) -> float | None:
        history = self.series.get(name, [])
        if len(history) <= self.config.min_history:
            return None
        values = [v for _, v in history[-self.config.median_window - 1 : -1] if math.isfinite(v)]
        return float(np.median(values)) if values else None

    def _fire(self, step: int, failure: str, message: str, action: str) -> Event:
        event = Event(step, failure, message, action)
        self.events.append(event)
        print(f"warning: step {step}: {failure}: {message} -> {action}", flush=True)
        return event

    def observe_step(self, step: int, **values: float) -> list[Event]:
        """Losses and gradient norms of one step (e.g. d_loss=, g_loss=, d_grad=, g_grad=)."""
        fired = []
        for name, value in values.items():
            self._record(step, name, value)
            if not math.isfinite(value):
                fired.append(self._fire(step, "instability", f"{name} is {value}", "restore"))
                break
            median = self._median(name)
            cooling = step - self.last_spike < self.config.cooldown
            if not cooling and median is not None and abs(value) > self.config.spike * max(abs(median), 1e-3):
                self.last_spike = step
                fired.append(
                    self._fire(
                        step,
                        "instability",
                        f"{name} {value:.3g} is over {self.config.spike:g}x its running median {median:.3g}",
                        "lower_lr",
                    )
                )
                break
        return fired

    def observe_overfitting(
        self, step: int, rt: float, logit_train: float | None = None, logit_heldout: float | None = None
    ) -> list[Event]:
        self._record(step, "r_t", rt)
        fired = []
        if logit_train is not None and logit_heldout is not None:
            gap = logit_train - logit_heldout
            self._record(step, "logit_gap", gap)
            if gap > self.config.gap_alarm:
                fired.append(
                    self._fire(
                        step,
                        "overfitting",
                        f"D scores training faces {gap:.2f} logits above held-out real faces",
                        "raise_augment",
                    )
                )
        # r_t is ADA's proxy for overfitting when there is no held-out set to compare with; early
        # in training it is high simply because the generator is still poor, so the direct
        # measure (the train vs held-out gap) decides whenever it is available.
        if not fired and logit_heldout is None and rt > self.config.rt_alarm:
            fired.append(
                self._fire(
                    step, "overfitting", f"r_t = {rt:.2f}: D is sure of every real face", "raise_augment"
                )
            )
        return fired

    def observe_diversity(self, step: int, value: float, real: float) -> list[Event]:
        ratio = value / max(real, 1e-8)
        self._record(step, "diversity", ratio)
        self.diversity_checks += 1
        fired = []
        if (
            self.diversity_checks > self.config.warmup_checks
            and ratio < self.config.collapse_ratio * self.best_diversity
        ):
            fired.append(
                self._fire(
                    step,
                    "mode_collapse",
                    f"probe diversity {ratio:.2f} of real, down from {self.best_diversity:.2f}",
                    "restore",
                )
            )
        self.best_diversity = max(self.best_diversity, ratio)
        return fired

    def record(self, step: int, **values: float) -> None:
        for name, value in values.items():
            self._record(step, name, value)

    def to_json(self, path: Path) -> None:
        from ..checkpoints import save_json

        save_json({"config": asdict(self.config), "series": self.series, "events": [asdict(e) for e in self.events],
                   "best_diversity": self.best_diversity, "diversity_checks": self.diversity_checks}, path)  # fmt: skip

    @classmethod
    def from_json(cls, path: Path) -> HealthLog:
        d = json.loads(Path(path).read_text())
        log = cls(HealthConfig(**d["config"]))
        log.series = {k: [tuple(v) for v in vs] for k, vs in d["series"].items()}
        log.events = [Event(**e) for e in d["events"]]
        log.best_diversity, log.diversity_checks = d["best_diversity"], d["diversity_checks"]
        return log

    def plot(self, path: Path) -> Path:
        """Losses, gradient norms, r_t and augmentation p, probe diversity, with every event marked."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        panels = [("losses", ("d_loss", "g_loss")), ("gradient norms", ("d_grad", "g_grad")),
                  ("overfitting", ("r_t", "p", "logit_gap")), ("probe diversity / real", ("diversity",))]  # fmt: skip
        fig, axes = plt.subplots(len(panels), 1, figsize=(9, 10), sharex=True)
        colours = {"instability": "red", "overfitting": "orange", "mode_collapse": "purple"}
        for ax, (title, names) in zip(axes, panels, strict=True):
            for name in names:
                if self.series.get(name):
                    steps, values = zip(*self.series[name], strict=True)
                    ax.plot(steps, values, label=name, lw=1)
            for e in self.events:
                ax.axvline(e.step, color=colours[e.failure], alpha=0.5, lw=1)
            ax.set_title(title, fontsize=10)
            if any(self.series.get(n) for n in names):
                ax.legend(fontsize=8, loc="upper right")
        axes[-1].set_xlabel("step (vertical lines: red instability, orange overfitting, purple collapse)")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=90)
        plt.close(fig)
        return path
