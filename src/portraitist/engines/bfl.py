"""FLUX Pro models through the Black Forest Labs API (docs.bfl.ai).

Protocol: POST {base}/v1/{endpoint} with header `x-key` and a JSON body -> {"id", "polling_url"};
GET polling_url (with `x-key`) until "status" is "Ready" ({"result": {"sample": URL}}), or a
failure ("Error", "Request Moderated", "Content Moderated", "Task not found"); then GET the
signed sample URL. Key: $BFL_API_KEY; base URL: $BFL_API_BASE (default https://api.bfl.ai).
"""

from __future__ import annotations

import os
import time

from ..errors import InvalidInput
from .base import Callback, ModelCard, Request, check_request, settings_info
from .hosted import HostedError, Http, api_key

FAILED = {"Error", "Request Moderated", "Content Moderated", "Task not found", "Failed"}


def _card(name, title, endpoint_notes, steps=None, guidance=None) -> ModelCard:
    return ModelCard(
        name=name, title=title, engine="hosted",
        best_for="top photoreal portraits without a GPU, paid per image",
        style="photographic", native_resolution=endpoint_notes,
        speed="provider-side, typically 5-15 s an image (not measured here: no network)",
        negative_prompt="no", licence="BFL API terms (commercial use allowed)",
        weights="hosted by Black Forest Labs: set BFL_API_KEY", seed=True, steps=steps,
        guidance=guidance, samplers=(), max_images=8,
        partly={"focal_length_mm": "as a style cue, not optics", "aperture": "as a style cue"},
    )  # fmt: skip


ENDPOINTS = {
    "flux-pro": ("flux-pro", _card("flux-pro", "FLUX.1 [pro] (BFL API)", "1024x1024 (256-1440, multiples of 32)",
                                   (1, 50), (1.5, 5.0))),
    "flux-pro-1.1": ("flux-pro-1.1", _card("flux-pro-1.1", "FLUX 1.1 [pro] (BFL API)",
                                           "1024x1024 (256-1440, multiples of 32)")),
    "flux-pro-1.1-ultra": ("flux-pro-1.1-ultra", _card("flux-pro-1.1-ultra", "FLUX 1.1 [pro] Ultra (BFL API)",
                                                       "up to 4 MP (aspect ratio 1:1 by default)")),
}  # fmt: skip


class BflEngine:
    def __init__(self, name: str, http: Http | None = None, poll_interval: float = 0.5,
                 poll_timeout: float = 300.0, clock=time.monotonic) -> None:  # fmt: skip
        self.endpoint, self.card = ENDPOINTS[name]
        self.http = http or Http("Black Forest Labs")
        self.poll_interval, self.poll_timeout, self.clock = poll_interval, poll_timeout, clock

    @property
    def base(self) -> str:
        return os.environ.get("BFL_API_BASE", "https://api.bfl.ai").rstrip("/")

    def availability(self) -> tuple[bool, str]:
        return (True, "BFL_API_KEY set") if os.environ.get("BFL_API_KEY") else (False, "set BFL_API_KEY")

    def body(self, r: Request, seed: int | None) -> dict:
        body: dict = {"prompt": r.prompt, "output_format": "png", "safety_tolerance": 2}
        if seed is not None:
            body["seed"] = seed
        if self.endpoint == "flux-pro-1.1-ultra":
            body["aspect_ratio"] = "1:1" if not (r.width and r.height) else f"{r.width}:{r.height}"
        else:
            body["width"], body["height"] = r.width or 1024, r.height or 1024
            for side in (body["width"], body["height"]):
                if not (256 <= side <= 1440 and side % 32 == 0):
                    raise InvalidInput(
                        f"{self.card.name} takes sides of 256-1440 px in multiples of 32, not {side}"
                    )
        if r.steps is not None:
            body["steps"] = int(r.steps)
        if r.guidance is not None:
            body["guidance"] = float(r.guidance)
        return body

    def generate(self, request: Request, callback: Callback | None = None) -> list:
        check_request(self.card, request)
        headers = {"x-key": api_key("BFL_API_KEY", "Black Forest Labs")}
        images = []
        for k in range(request.n):
            seed = None if request.seed is None else int(request.seed) + k
            task = self.http.json(
                "POST", f"{self.base}/v1/{self.endpoint}", headers, self.body(request, seed)
            )
            if "id" not in task:
                raise HostedError(self.http.provider, 0, f"no task id in the answer: {task}")
            url = task.get("polling_url") or f"{self.base}/v1/get_result?id={task['id']}"
            sample = self._poll(url, headers, task["id"], callback)
            image = self.http.image(sample)
            image.info = settings_info(self.card, request, seed, task_id=task["id"],
                                       size=f"{image.width}x{image.height}")  # fmt: skip
            images.append(image)
        return images

    def _poll(self, url: str, headers: dict, task_id: str, callback: Callback | None) -> str:
        deadline = self.clock() + self.poll_timeout
        while True:
            result = self.http.json("GET", url, headers)
            status = result.get("status")
            if status == "Ready":
                sample = (result.get("result") or {}).get("sample")
                if not sample:
                    raise HostedError(self.http.provider, 0, f"task {task_id} is ready but has no sample URL")
                return sample
            if status in FAILED:
                detail = result.get("details") or result.get("result") or ""
                raise HostedError(self.http.provider, 0, f"task {task_id}: {status} {detail}".strip())
            if callback and isinstance(result.get("progress"), int | float):
                callback(round(100 * float(result["progress"])), 100, None)
            if self.clock() > deadline:
                raise HostedError(
                    self.http.provider,
                    0,
                    f"task {task_id} not ready after {self.poll_timeout:g} s (last status {status!r})",
                )
            self.http.sleep(self.poll_interval)
