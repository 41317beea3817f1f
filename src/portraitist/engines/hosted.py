"""What the hosted engines share: keys from the environment, HTTP with timeouts, retries with
exponential backoff (honouring Retry-After on 429 and 503), and errors that say what to do.

Standard library only (urllib), so that a hosted model costs no extra dependency.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

from ..errors import EngineUnavailable, PortraitistError

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_IMAGE_BYTES = 64 * 2**20


class HostedError(PortraitistError, RuntimeError):
    """The provider refused or failed; `status` is the HTTP status (0 = no response)."""

    def __init__(self, provider: str, status: int, message: str) -> None:
        super().__init__(f"{provider}: {message}" + (f" (HTTP {status})" if status else ""))
        self.provider, self.status = provider, status


@dataclass
class Http:
    """One provider's connection settings. `sleep` and `clock` are injectable for tests."""

    provider: str
    timeout: float = 60.0
    retries: int = 4
    backoff: float = 1.0  # first wait; doubles each retry, with jitter
    max_wait: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    waits: list[float] = field(default_factory=list)  # every backoff wait taken (for logs and tests)

    def request(
        self, method: str, url: str, headers: dict, body: dict | None = None
    ) -> tuple[int, dict, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json", **headers}
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return resp.status, dict(resp.headers), resp.read(MAX_IMAGE_BYTES + 1)
            except urllib.error.HTTPError as e:
                payload = e.read()
                if e.code not in RETRY_STATUSES or attempt == self.retries:
                    raise HostedError(self.provider, e.code, self.explain(e.code, payload)) from None
                self._wait(attempt, e.headers.get("Retry-After"))
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                if attempt == self.retries:
                    reason = getattr(e, "reason", e)
                    raise HostedError(self.provider, 0, f"cannot reach {url}: {reason}") from None
                self._wait(attempt, None)
        raise AssertionError("unreachable")

    def json(self, method: str, url: str, headers: dict, body: dict | None = None) -> dict:
        _, _, payload = self.request(method, url, headers, body)
        try:
            return json.loads(payload)
        except ValueError:
            raise HostedError(
                self.provider, 0, f"answered with something that is not JSON: {payload[:120]!r}"
            ) from None

    def image(self, url: str, headers: dict | None = None) -> Image.Image:
        _, _, payload = self.request("GET", url, headers or {})
        return decode_image(self.provider, payload)

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        wait = self.backoff * 2**attempt * (1 + 0.25 * random.random())
        if retry_after:
            with contextlib.suppress(ValueError):  # an HTTP date: keep the exponential wait
                wait = max(wait, float(retry_after))
        wait = min(wait, self.max_wait)
        self.waits.append(wait)
        self.sleep(wait)

    def explain(self, status: int, payload: bytes) -> str:
        detail = provider_message(payload)
        if status in (401, 403):
            return f"the API key was refused: check it and the account's access ({detail})"
        if status == 402:
            return f"the account is out of credits ({detail})"
        if status == 429:
            return f"rate limit: still refused after {self.retries} retries ({detail})"
        return detail or f"HTTP {status}"


def provider_message(payload: bytes) -> str:
    """The human message inside a provider's JSON error body, whatever its shape."""
    try:
        body = json.loads(payload)
    except ValueError:
        return payload[:200].decode(errors="replace").strip()
    if isinstance(body, dict):
        err = body.get("error", body.get("detail", body))
        if isinstance(err, dict):
            return str(err.get("message") or err.get("msg") or err)
        if isinstance(err, list) and err and isinstance(err[0], dict):  # FastAPI-style 422 detail
            return "; ".join(str(e.get("msg", e)) for e in err)
        return str(err)
    return str(body)


def decode_image(provider: str, payload: bytes) -> Image.Image:
    if len(payload) > MAX_IMAGE_BYTES:
        raise HostedError(provider, 0, f"image larger than {MAX_IMAGE_BYTES >> 20} MB")
    try:
        img = Image.open(io.BytesIO(payload))
        img.load()
    except Exception as e:
        raise HostedError(provider, 0, f"returned an image that cannot be decoded ({e})") from None
    return img.convert("RGB")


def api_key(variable: str, provider: str) -> str:
    key = os.environ.get(variable, "").strip()
    if not key:
        raise EngineUnavailable(f"{provider} needs an API key: set {variable}")
    return key
