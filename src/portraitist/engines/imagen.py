"""Imagen 4 through Google's Gemini API.

Protocol: POST {base}/v1beta/models/{model}:predict with header `x-goog-api-key` and
{"instances": [{"prompt"}], "parameters": {"sampleCount", "aspectRatio", "personGeneration",
"imageSize"}} -> {"predictions": [{"bytesBase64Encoded", "mimeType"}]}; images the safety filter
removed are simply missing. Errors: {"error": {"code", "message", "status"}}.
The Gemini API's Imagen 4 takes no negative prompt and no seed (both were dropped after Imagen 3),
no steps and no guidance; the card says so and such requests are refused with that message.
Key: $GEMINI_API_KEY (or $GOOGLE_API_KEY); base URL: $GEMINI_API_BASE.
"""

from __future__ import annotations

import base64
import os

from .base import Callback, ModelCard, Request, check_request, settings_info
from .hosted import HostedError, Http, api_key, decode_image

MODELS = {
    "imagen-4": ("imagen-4.0-generate-001", 4, "1K"),
    "imagen-4-ultra": ("imagen-4.0-ultra-generate-001", 1, "1K"),
    "imagen-4-fast": ("imagen-4.0-fast-generate-001", 4, None),
}


def _card(name: str, model_id: str, per_call: int) -> ModelCard:
    return ModelCard(
        name=name, title=f"Imagen 4 ({model_id}, Gemini API)", engine="hosted",
        best_for="clean, well-lit commercial portraits from plain-language prompts",
        style="photographic, polished", native_resolution="1024x1024 (1K; 2K for standard/ultra)",
        speed="provider-side, a few seconds an image (not measured here: no network)",
        negative_prompt="no", licence="Google Gemini API terms; images carry a SynthID watermark",
        weights="hosted by Google: set GEMINI_API_KEY", seed=False, steps=None, guidance=None,
        samplers=(), max_images=8,
        partly={"focal_length_mm": "as a style cue, not optics", "aperture": "as a style cue"},
        notes=f"{per_call} image(s) per call; people: adults only by default (personGeneration=allow_adult)",
    )  # fmt: skip


class ImagenEngine:
    def __init__(self, name: str, http: Http | None = None) -> None:
        self.model_id, self.per_call, self.image_size = MODELS[name]
        self.card = _card(name, self.model_id, self.per_call)
        self.http = http or Http("Google Imagen")

    @property
    def base(self) -> str:
        return os.environ.get("GEMINI_API_BASE", "https://generativelanguage.googleapis.com").rstrip("/")

    def _key(self) -> str:
        if not os.environ.get("GEMINI_API_KEY") and os.environ.get("GOOGLE_API_KEY"):
            return api_key("GOOGLE_API_KEY", "Google Imagen")
        return api_key("GEMINI_API_KEY", "Google Imagen")

    def availability(self) -> tuple[bool, str]:
        if os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY"):
            return True, "GEMINI_API_KEY set"
        return False, "set GEMINI_API_KEY"

    def generate(self, request: Request, callback: Callback | None = None) -> list:
        check_request(self.card, request)
        headers = {"x-goog-api-key": self._key()}
        url = f"{self.base}/v1beta/models/{self.model_id}:predict"
        images, filtered = [], 0
        while len(images) + filtered < request.n:
            count = min(self.per_call, request.n - len(images) - filtered)
            parameters = {"sampleCount": count, "aspectRatio": "1:1", "personGeneration": "allow_adult"}
            if self.image_size:
                parameters["imageSize"] = self.image_size
            answer = self.http.json(
                "POST", url, headers, {"instances": [{"prompt": request.prompt}], "parameters": parameters}
            )
            predictions = [p for p in answer.get("predictions", []) if p.get("bytesBase64Encoded")]
            filtered += count - len(predictions)
            for p in predictions:
                image = decode_image(self.http.provider, base64.b64decode(p["bytesBase64Encoded"]))
                image.info = settings_info(self.card, request, None, size=f"{image.width}x{image.height}")
                images.append(image)
            if callback:
                callback(len(images) + filtered, request.n, None)
        if not images:
            raise HostedError(
                self.http.provider,
                0,
                f"all {request.n} images were removed by the provider's safety filter; rephrase the prompt",
            )
        for image in images:
            image.info["filtered_by_provider"] = filtered
        return images
