"""Hosted engines against local HTTP servers that follow each provider's documented protocol
(requests, responses and errors), on loopback: real HTTP, no network."""

from __future__ import annotations

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from PIL import Image

from portraitist.engines import EngineUnavailable, Request, Unsupported, get_engine
from portraitist.engines.hosted import HostedError, Http


def png_bytes(value: int, size: int = 48) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((size, size, 3), value, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


class FakeProvider:
    """A loopback server; `route(method, path, query, headers, body)` -> (status, headers, bytes)."""

    def __init__(self, route):
        self.calls: list[dict] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self, method):
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                call = {"method": method, "path": url.path, "query": parse_qs(url.query),
                        "headers": {k.lower(): v for k, v in self.headers.items()}, "body": json.loads(raw) if raw else None}  # fmt: skip
                provider.calls.append(call)
                status, headers, payload = route(call)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def js(status, obj, **headers):
    return status, {"Content-Type": "application/json", **headers}, json.dumps(obj).encode()


@pytest.fixture
def serve():
    servers = []

    def start(route):
        servers.append(FakeProvider(route))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def no_sleep_http(provider: str) -> Http:
    return Http(provider, timeout=5, retries=3, backoff=0.5, sleep=lambda s: None)


# --- Black Forest Labs ---------------------------------------------------------------------------


def bfl_route(base_holder, polls_before_ready=2, final="Ready", submit_errors=()):
    state = {"polls": {}, "submits": 0}
    errors = list(submit_errors)

    def route(call):
        if call["headers"].get("x-key") != "bfl-key" and not call["path"].startswith("/samples/"):
            return js(403, {"detail": "Not authenticated"})
        if call["method"] == "POST" and call["path"].startswith("/v1/flux-"):
            if errors:
                return errors.pop(0)
            state["submits"] += 1
            tid = f"task{state['submits']}"
            return js(200, {"id": tid, "polling_url": f"{base_holder[0]}/v1/get_result?id={tid}"})
        if call["path"] == "/v1/get_result":
            tid = call["query"]["id"][0]
            n = state["polls"][tid] = state["polls"].get(tid, 0) + 1
            if n <= polls_before_ready:
                return js(
                    200,
                    {
                        "id": tid,
                        "status": "Pending",
                        "result": None,
                        "progress": n / (polls_before_ready + 1),
                    },
                )
            if final != "Ready":
                return js(200, {"id": tid, "status": final, "result": None})
            return js(
                200,
                {"id": tid, "status": "Ready", "result": {"sample": f"{base_holder[0]}/samples/{tid}.png"}},
            )
        if call["path"].startswith("/samples/"):
            return 200, {"Content-Type": "image/png"}, png_bytes(10 * int(call["path"][13:-4]))
        return js(404, {"detail": "Not Found"})

    return route


def test_bfl_submits_polls_and_downloads(serve, monkeypatch):
    holder = [""]
    server = serve(bfl_route(holder))
    holder[0] = server.url
    monkeypatch.setenv("BFL_API_BASE", server.url)
    monkeypatch.setenv("BFL_API_KEY", "bfl-key")
    engine = get_engine("flux-pro-1.1", http=no_sleep_http("Black Forest Labs"), poll_interval=0)
    progress = []
    images = engine.generate(Request("portrait of a woman", seed=7, n=2, width=512, height=768),
                             callback=lambda i, n, p: progress.append(i))  # fmt: skip
    assert [img.getpixel((0, 0)) for img in images] == [(10, 10, 10), (20, 20, 20)]
    submits = [c for c in server.calls if c["method"] == "POST"]
    assert [c["body"]["seed"] for c in submits] == [7, 8]
    assert submits[0]["path"] == "/v1/flux-pro-1.1"
    assert (submits[0]["body"]["width"], submits[0]["body"]["height"], submits[0]["body"]["prompt"]) == (
        512,
        768,
        "portrait of a woman",
    )
    assert (
        images[0].info["model"] == "flux-pro-1.1"
        and images[0].info["task_id"] == "task1"
        and images[0].info["seed"] == 7
    )
    assert progress and max(progress) < 100


def test_bfl_ultra_sends_an_aspect_ratio_and_flux_pro_takes_steps(serve, monkeypatch):
    holder = [""]
    server = serve(bfl_route(holder, polls_before_ready=0))
    holder[0] = server.url
    monkeypatch.setenv("BFL_API_BASE", server.url)
    monkeypatch.setenv("BFL_API_KEY", "bfl-key")
    get_engine("flux-pro-1.1-ultra", http=no_sleep_http("BFL"), poll_interval=0).generate(Request("a man"))
    assert (
        server.calls[0]["path"] == "/v1/flux-pro-1.1-ultra"
        and server.calls[0]["body"]["aspect_ratio"] == "1:1"
    )
    get_engine("flux-pro", http=no_sleep_http("BFL"), poll_interval=0).generate(
        Request("a man", steps=30, guidance=3)
    )
    body = [c for c in server.calls if c["path"] == "/v1/flux-pro"][0]["body"]
    assert (body["steps"], body["guidance"]) == (30, 3.0)


def test_bfl_waits_out_rate_limits_then_succeeds(serve, monkeypatch):
    holder = [""]
    limited = js(429, {"detail": "Too many active tasks"}, **{"Retry-After": "2"})
    server = serve(bfl_route(holder, polls_before_ready=0, submit_errors=[limited, limited]))
    holder[0] = server.url
    monkeypatch.setenv("BFL_API_BASE", server.url)
    monkeypatch.setenv("BFL_API_KEY", "bfl-key")
    http = no_sleep_http("BFL")
    images = get_engine("flux-pro-1.1", http=http, poll_interval=0).generate(Request("a man"))
    assert len(images) == 1 and len(http.waits) == 2 and all(w >= 2 for w in http.waits)


def test_bfl_errors_are_clear(serve, monkeypatch):
    holder = [""]
    server = serve(bfl_route(holder, polls_before_ready=0, final="Content Moderated"))
    holder[0] = server.url
    monkeypatch.setenv("BFL_API_BASE", server.url)
    monkeypatch.setenv("BFL_API_KEY", "bfl-key")
    with pytest.raises(HostedError, match="Content Moderated"):
        get_engine("flux-pro-1.1", http=no_sleep_http("BFL"), poll_interval=0).generate(Request("a man"))
    monkeypatch.setenv("BFL_API_KEY", "wrong")
    before = len(server.calls)
    with pytest.raises(HostedError, match=r"API key was refused.*HTTP 403"):
        get_engine("flux-pro-1.1", http=no_sleep_http("BFL")).generate(Request("a man"))
    assert len(server.calls) == before + 1  # a refused key is not retried
    monkeypatch.delenv("BFL_API_KEY")
    with pytest.raises(EngineUnavailable, match="BFL_API_KEY"):
        get_engine("flux-pro-1.1").generate(Request("a man"))
    with pytest.raises(Unsupported, match="no negative prompt"):
        get_engine("flux-pro-1.1").generate(Request("a man", negative_prompt="glasses"))
    with pytest.raises(ValueError, match="multiples of 32"):
        monkeypatch.setenv("BFL_API_KEY", "bfl-key")
        get_engine("flux-pro-1.1", http=no_sleep_http("BFL")).generate(
            Request("a man", width=500, height=500)
        )


def test_bfl_gives_up_polling_after_its_timeout(serve, monkeypatch):
    holder = [""]
    server = serve(bfl_route(holder, polls_before_ready=10**6))
    holder[0] = server.url
    monkeypatch.setenv("BFL_API_BASE", server.url)
    monkeypatch.setenv("BFL_API_KEY", "bfl-key")
    ticks = iter(range(10**6))
    engine = get_engine(
        "flux-pro-1.1", http=no_sleep_http("BFL"), poll_interval=0, poll_timeout=5, clock=lambda: next(ticks)
    )
    with pytest.raises(HostedError, match="not ready after 5 s"):
        engine.generate(Request("a man"))


def test_server_errors_are_retried_and_unreachable_hosts_reported(serve, monkeypatch):
    server = serve(lambda call: js(502, {"detail": "bad gateway"}))
    monkeypatch.setenv("BFL_API_BASE", server.url)
    monkeypatch.setenv("BFL_API_KEY", "bfl-key")
    http = no_sleep_http("BFL")
    with pytest.raises(HostedError, match="HTTP 502"):
        get_engine("flux-pro-1.1", http=http).generate(Request("a man"))
    assert len(server.calls) == 4 and http.waits == sorted(http.waits)  # 1 + 3 retries, growing waits
    server.close()
    with pytest.raises(HostedError, match="cannot reach"):
        get_engine("flux-pro-1.1", http=no_sleep_http("BFL")).generate(Request("a man"))


# --- Imagen 4 (Gemini API) -------------------------------------------------------------------------


def imagen_route(drop=0, error=None):
    def route(call):
        if call["headers"].get("x-goog-api-key") != "g-key":
            return js(
                403, {"error": {"code": 403, "message": "API key not valid.", "status": "PERMISSION_DENIED"}}
            )
        if error:
            return error
        assert call["path"] == "/v1beta/models/imagen-4.0-generate-001:predict"
        n = call["body"]["parameters"]["sampleCount"]
        preds = [{"mimeType": "image/png", "bytesBase64Encoded": base64.b64encode(png_bytes(30 + i)).decode()}
                 for i in range(n - drop)]  # fmt: skip
        return js(200, {"predictions": preds})

    return route


def test_imagen_batches_by_four_and_reports_filtered_images(serve, monkeypatch):
    server = serve(imagen_route())
    monkeypatch.setenv("GEMINI_API_BASE", server.url)
    monkeypatch.setenv("GEMINI_API_KEY", "g-key")
    images = get_engine("imagen-4", http=no_sleep_http("Imagen")).generate(
        Request("portrait of an old man", n=6)
    )
    assert len(images) == 6 and [c["body"]["parameters"]["sampleCount"] for c in server.calls] == [4, 2]
    body = server.calls[0]["body"]
    assert body["instances"] == [{"prompt": "portrait of an old man"}]
    assert body["parameters"]["personGeneration"] == "allow_adult"
    assert images[0].info["model"] == "imagen-4" and "seed" not in images[0].info


def test_imagen_filtered_and_refused(serve, monkeypatch):
    server = serve(imagen_route(drop=1))
    monkeypatch.setenv("GEMINI_API_BASE", server.url)
    monkeypatch.setenv("GEMINI_API_KEY", "g-key")
    engine = get_engine("imagen-4", http=no_sleep_http("Imagen"))
    with pytest.raises(HostedError, match="safety filter"):
        engine.generate(Request("portrait", n=1))
    images = engine.generate(Request("portrait", n=3))
    assert len(images) == 2 and images[0].info["filtered_by_provider"] == 1
    with pytest.raises(Unsupported, match="no negative prompt"):
        engine.generate(Request("portrait", negative_prompt="blurry"))
    with pytest.raises(Unsupported, match="does not take a seed"):
        engine.generate(Request("portrait", seed=3))
    with pytest.raises(Unsupported, match="step count"):
        engine.generate(Request("portrait", steps=20))
    bad = js(
        400,
        {
            "error": {
                "code": 400,
                "message": "Image generation failed: prompt too long",
                "status": "INVALID_ARGUMENT",
            }
        },
    )
    server2 = serve(imagen_route(error=bad))
    monkeypatch.setenv("GEMINI_API_BASE", server2.url)
    with pytest.raises(HostedError, match="prompt too long"):
        engine.generate(Request("portrait"))


# --- Seedream 4 (BytePlus ModelArk) ----------------------------------------------------------------


def seedream_route(as_url=False, flaky=0):
    state = {"flaky": flaky}

    def route(call):
        if call["path"] == "/img.png":
            return 200, {"Content-Type": "image/png"}, png_bytes(77)
        if call["headers"].get("authorization") != "Bearer ark-key":
            return js(401, {"error": {"code": "AuthenticationError", "message": "the API key is invalid"}})
        if state["flaky"]:
            state["flaky"] -= 1
            return js(503, {"error": {"code": "ServiceUnavailable", "message": "busy"}})
        body = call["body"]
        if not body.get("prompt"):
            return js(400, {"error": {"code": "InvalidParameter", "message": "prompt is required"}})
        item = (
            {"url": f"http://{call['headers']['host']}/img.png"}
            if as_url
            else {"b64_json": base64.b64encode(png_bytes(50)).decode()}
        )
        return js(
            200, {"model": body["model"], "created": 1, "data": [item | {"size": "2048x2048"}], "usage": {}}
        )

    return route


def test_seedream_generates_with_b64_or_url_and_retries_when_busy(serve, monkeypatch):
    server = serve(seedream_route(flaky=1))
    monkeypatch.setenv("ARK_API_BASE", server.url)
    monkeypatch.setenv("ARK_API_KEY", "ark-key")
    http = no_sleep_http("Seedream")
    images = get_engine("seedream-4", http=http).generate(Request("a smiling woman", seed=5, n=2))
    assert [i.getpixel((0, 0)) for i in images] == [(50, 50, 50)] * 2 and len(http.waits) == 1
    sent = [c["body"] for c in server.calls if c["body"]]
    assert (
        sent[-1]["model"] == "seedream-4-0-250828"
        and sent[-1]["seed"] == 6
        and sent[-1]["watermark"] is False
    )
    assert server.calls[0]["path"] == "/api/v3/images/generations"
    server2 = serve(seedream_route(as_url=True))
    monkeypatch.setenv("ARK_API_BASE", server2.url)
    assert get_engine("seedream-4", http=http).generate(Request("a man"))[0].getpixel((0, 0)) == (77, 77, 77)
    monkeypatch.setenv("ARK_API_KEY", "nope")
    with pytest.raises(HostedError, match="API key was refused.*invalid"):
        get_engine("seedream-4", http=http).generate(Request("a man"))
    with pytest.raises(Unsupported, match="sampler"):
        get_engine("seedream-4").generate(Request("a man", sampler="euler"))


def test_a_provider_answering_garbage_gets_a_clear_error(serve, monkeypatch):
    server = serve(lambda call: (200, {"Content-Type": "text/html"}, b"<html>gateway login</html>"))
    monkeypatch.setenv("ARK_API_BASE", server.url)
    monkeypatch.setenv("ARK_API_KEY", "ark-key")
    with pytest.raises(HostedError, match="not JSON"):
        get_engine("seedream-4", http=no_sleep_http("Seedream")).generate(Request("a man"))


@pytest.mark.slow
def test_cli_generates_through_a_hosted_model(serve, monkeypatch, tmp_path, capsys):
    from portraitist.cli import main
    from portraitist.png import read_settings

    holder = [""]
    server = serve(bfl_route(holder, polls_before_ready=0))
    holder[0] = server.url
    monkeypatch.setenv("BFL_API_BASE", server.url)
    monkeypatch.setenv("BFL_API_KEY", "bfl-key")
    assert main(["generate", "headshot of a smiling man, 85mm", "--model", "flux-pro-1.1", "--seed", "3", "--n", "2",
                 "--width", "256", "--height", "256", "--out", str(tmp_path)]) == 0  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000003.png", "000004.png", "grid.png"]
    settings = read_settings(tmp_path / "000004.png")
    assert (settings["model"], settings["seed"], settings["prompt"]) == (
        "flux-pro-1.1",
        4,
        "headshot of a smiling man, 85mm",
    )
    assert (
        main(["generate", "a man", "--model", "flux-pro-1.1", "--negative", "hat", "--out", str(tmp_path)])
        == 2
    )
    assert "no negative prompt" in capsys.readouterr().err
    monkeypatch.delenv("BFL_API_KEY")
    assert main(["generate", "a man", "--model", "flux-pro-1.1", "--out", str(tmp_path)]) == 2
    assert "set BFL_API_KEY" in capsys.readouterr().err
