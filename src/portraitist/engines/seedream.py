"""Seedream 4.0 through BytePlus ModelArk's image generation API (OpenAI-style).

Protocol: POST {base}/api/v3/images/generations with `Authorization: Bearer KEY` and
{"model", "prompt", "size", "seed", "sequential_image_generation": "disabled",
"response_format": "b64_json", "watermark": false} -> {"model", "created", "data": [{"b64_json"
| "url", "size"}], "usage"}; errors: {"error": {"code", "message"}}. No negative prompt, steps or
sampler. Key: $ARK_API_KEY; base URL: $ARK_API_BASE (default https://ark.ap-southeast.bytepluses.com).
"""

from __future__ import annotations

import base64
import os

from .base import Callback, ModelCard, Request, check_request, settings_info
from .hosted import HostedError, Http, api_key, decode_image

MODEL_ID = "seedream-4-0-250828"
CARD = ModelCard(
    name="seedream-4", title="Seedream 4.0 (BytePlus ModelArk)", engine="hosted",
    best_for="high-resolution portraits and consistent series, paid per image",
    style="photographic to stylised, vivid", native_resolution="2048x2048 (2K; 1K-4K or WxH)",
    speed="provider-side, about 10 s an image (not measured here: no network)",
    negative_prompt="no", licence="BytePlus ModelArk terms", weights="hosted by BytePlus: set ARK_API_KEY",
    seed=True, steps=None, guidance=None, samplers=(), max_images=8,
    partly={"focal_length_mm": "as a style cue, not optics", "aperture": "as a style cue"},
    notes="the seed is passed on; the provider documents it as best effort",
)  # fmt: skip


class SeedreamEngine:
    card = CARD

    def __init__(self, name: str = "seedream-4", http: Http | None = None) -> None:
        self.http = http or Http("Seedream (BytePlus)")

    @property
    def base(self) -> str:
        return os.environ.get("ARK_API_BASE", "https://ark.ap-southeast.bytepluses.com").rstrip("/")

    def availability(self) -> tuple[bool, str]:
        return (True, "ARK_API_KEY set") if os.environ.get("ARK_API_KEY") else (False, "set ARK_API_KEY")

    def generate(self, request: Request, callback: Callback | None = None) -> list:
        check_request(self.card, request)
        headers = {"Authorization": f"Bearer {api_key('ARK_API_KEY', 'Seedream (BytePlus)')}"}
        size = f"{request.width}x{request.height}" if request.width and request.height else "2K"
        images = []
        for k in range(request.n):
            seed = None if request.seed is None else int(request.seed) + k
            body = {"model": MODEL_ID, "prompt": request.prompt, "size": size,
                    "sequential_image_generation": "disabled", "response_format": "b64_json", "watermark": False}  # fmt: skip
            if seed is not None:
                body["seed"] = seed
            answer = self.http.json("POST", f"{self.base}/api/v3/images/generations", headers, body)
            if answer.get("error"):
                raise HostedError(self.http.provider, 0, str(answer["error"].get("message", answer["error"])))
            data = answer.get("data") or []
            if not data:
                raise HostedError(self.http.provider, 0, "answered without an image")
            item = data[0]
            if item.get("b64_json"):
                image = decode_image(self.http.provider, base64.b64decode(item["b64_json"]))
            elif item.get("url"):
                image = self.http.image(item["url"])
            else:
                raise HostedError(self.http.provider, 0, f"image entry has neither b64_json nor url: {item}")
            image.info = settings_info(self.card, request, seed, size=f"{image.width}x{image.height}")
            images.append(image)
            if callback:
                callback(k + 1, request.n, None)
        return images
