"""The studio's HTTP API against real servers on loopback (each a `portraitist serve` process, with
a tiny random model of the shipped classes so jobs take seconds): jobs, progress events, gallery,
edits, QA, validation, security, backpressure, cancellation, and a server killed mid-job."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from portraitist.png import read_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, gallery: Path, weights: Path, *extra: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.headers: dict[str, str] = {}  # sent with every call (an API key)
        self.log = open(gallery.parent / f"server-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "-m", "portraitist.cli", "serve", "--port", str(self.port),
                                      "--gallery", str(gallery), "--weights", str(weights), *extra],
                                     stdout=self.log, stderr=subprocess.STDOUT)  # fmt: skip
        while self.proc.poll() is None:  # no clock: a busy machine only starts it later
            try:
                self.get("/api/health")
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(
            f"server did not start: {(gallery.parent / f'server-{self.port}.log').read_text()[-2000:]}"
        )

    def call(self, method: str, path: str, body=None, headers=None, raw: bytes | None = None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **self.headers, **(headers or {})})  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                payload = r.read()
                return r.status, {k.lower(): v for k, v in r.headers.items()}, payload
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def get(self, path: str, **kw):
        status, _, payload = self.call("GET", path, **kw)
        return status, json.loads(payload) if payload[:1] in (b"{", b"[") else payload

    def post(self, path: str, body, **kw):
        status, headers, payload = self.call("POST", path, body, **kw)
        return status, headers, json.loads(payload) if payload else None

    def wait(
        self,
        job_id: str,
        until=lambda job: job["status"] in ("done", "failed", "cancelled"),
        stall: float = 300,
    ) -> dict:
        """Poll until `until(job)`. Fails only when the job stops moving (no new step, image or
        status for `stall` seconds), never because a busy machine makes it slow."""
        seen, moved = None, time.time()
        while True:
            _, job = self.get(f"/api/jobs/{job_id}")
            if until(job):
                return job
            progress = (job["status"], job["step"], job["image_index"])
            if progress != seen:
                seen, moved = progress, time.time()
            elif time.time() - moved > stall:
                raise TimeoutError(f"job stalled: {job}")
            time.sleep(0.2)

    def stop(self, sig=signal.SIGTERM) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)
        self.log.close()


slow = pytest.mark.slow  # every test with a real server


@pytest.fixture(scope="module")
def server(model_file, gan_file, tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("studio") / "gallery", model_file, "--gan-weights", str(gan_file))
    yield s
    s.stop()


@slow
def test_openapi_models_and_prompt_help(server):
    status, spec = server.get("/openapi.json")
    assert status == 200 and {
        "/api/jobs",
        "/api/jobs/{job_id}/events",
        "/api/gallery",
        "/api/edit",
        "/api/evaluate",
    } <= set(spec["paths"])
    status, models = server.get("/api/models")
    assert status == 200 and models[0]["name"] == "face-diffusion" and models[0]["available"]
    status, _, res = server.post("/api/prompt", {"brief": {"gender": "woman", "age": "in her thirties", "hair_colour": "auburn",
                                                           "focal_length_mm": 85}, "negative_presets": ["blurry"]})  # fmt: skip
    assert status == 200 and res["prompt"].startswith(
        "close-up portrait photo of a woman in her thirties with auburn hair"
    )
    assert res["negative_prompt"].startswith("blurry") and any(
        h["part"] == "expression" for h in res["hints"]
    )
    assert {r["part"]: r["honoured"] for r in res["coverage"]}["focal_length_mm"] == "no"


@slow
def test_a_job_runs_to_the_gallery_with_progress_events(server):
    status, headers, job = server.post("/api/jobs", {"prompt": "portrait of a smiling man", "negative_presets": ["blurry"],
                                                     "seed": 40, "steps": 4, "n": 3, "reroll": 0})  # fmt: skip
    assert status == 202 and headers["location"] == f"/api/jobs/{job['id']}"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("GET", f"/api/jobs/{job['id']}/events")
    resp = conn.getresponse()
    assert resp.getheader("Content-Type").startswith("text/event-stream")
    events = []
    for line in resp:
        line = line.decode().strip()
        if line.startswith("event:"):
            events.append(line[7:])
        if line.startswith("data:"):
            last = json.loads(line[5:])
        if events and events[-1] in ("done", "failed", "cancelled"):
            break
    conn.close()
    assert events[-1] == "done" and last["image_index"] == 3
    assert last["preview"].startswith("data:image/png;base64,")
    images = last["images"]
    assert [img["seed"] for img in images] == [40, 41, 42]
    status, listing = server.get(f"/api/gallery?job={job['id']}")
    assert listing["total"] == 3
    status, _, png = server.call("GET", images[0]["url"])
    assert status == 200 and png[:8] == b"\x89PNG\r\n\x1a\n"
    row = images[0]
    assert row["settings"]["negative_prompt"].startswith("blurry") and row["settings"]["steps"] == 4
    if row["face_found"] is not None:  # the QA instruments are installed
        assert "qa" in row["settings"] and isinstance(row["eyes_match"], bool)
    status, found = server.get("/api/gallery?q=smiling%20man")
    assert found["total"] >= 3
    status, none = server.get("/api/gallery?q=%25")  # a literal %, not a wildcard
    assert none["total"] == 0


@slow
def test_png_metadata_on_disk(server, tmp_path):
    _, _, job = server.post(
        "/api/jobs", {"prompt": "headshot of an old woman", "seed": 7, "steps": 3, "reroll": 0}
    )
    done = server.wait(job["id"])
    status, _, png = server.call("GET", done["images"][0]["url"])
    (tmp_path / "x.png").write_bytes(png)
    settings = read_settings(tmp_path / "x.png")
    assert (settings["prompt"], settings["seed"], settings["steps"], settings["model"]) == (
        "headshot of an old woman",
        7,
        3,
        "face-diffusion",
    )


@slow
def test_edits_and_batch_qa(server):
    _, _, job = server.post("/api/jobs", {"prompt": "portrait of a woman", "seed": 3, "steps": 3, "n": 2})
    images = server.wait(job["id"])["images"]
    status, _, res = server.post(
        "/api/edit", {"image_id": images[0]["id"], "edits": {"age": 1.5, "smile": -1}}
    )
    assert status == 200 and res["preview"].startswith("data:image/png;base64,") and "image" not in res
    status, _, saved = server.post(
        "/api/edit", {"image_id": images[0]["id"], "edits": {"age": 1.5}, "save": True}
    )
    assert (
        saved["image"]["settings"]["edits"] == {"age": 1.5}
        and saved["image"]["settings"]["edited_from"] == images[0]["id"]
    )
    status, _, bad = server.post("/api/edit", {"image_id": images[0]["id"], "edits": {"nose": 1}})
    assert status == 422 and "unknown direction" in bad["detail"]
    status, _, bad = server.post("/api/edit", {"image_id": images[0]["id"], "edits": {"age": 50}})
    assert status == 422
    status, _, qa = server.post("/api/evaluate", {"image_ids": [i["id"] for i in images]})
    if status == 501:
        pytest.skip("QA instruments not installed")
    assert status == 200 and len(qa["images"]) == 2 and 0 <= qa["summary"]["face_found_rate"] <= 1


@slow
def test_gan_jobs_steer_by_prompt_and_edit_from_their_settings(server):
    _, _, job = server.post("/api/jobs", {"prompt": "a smiling man", "model": "face-gan", "seed": 5, "n": 2,
                                          "truncation": 0.6, "reroll": 1})  # fmt: skip
    done = server.wait(job["id"])
    assert done["status"] == "done", done
    s = done["images"][1]["settings"]
    assert (s["model"], s["truncation"], s["steered"]) == ("face-gan", 0.6, {"gender": 1, "smile": 1})
    assert s["seed"] in (6, 6 + 1_000_003)  # re-rolled faces take the next seed of their own
    status, _, res = server.post("/api/edit", {"image_id": done["images"][0]["id"], "edits": {"smile": 2}})
    assert status == 200 and res["preview"].startswith("data:image/png;base64,")
    status, _, bad = server.post("/api/edit", {"image_id": done["images"][0]["id"], "edits": {"age": 1}})
    assert status == 422 and "unknown direction 'age'" in bad["detail"]
    status, _, bad = server.post("/api/jobs", {"prompt": "a man", "model": "face-gan", "steps": 8})
    assert status == 422 and "step count" in bad["detail"]


@slow
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"prompt": ""}, "prompt is empty"),
        ({"prompt": "a" * 2001}, "limit is 2000"),
        ({"prompt": "a man", "steps": 1000}, "takes 1 to 200 steps"),
        ({"prompt": "a man", "n": 500}, "makes 1 to 64 images"),
        ({"prompt": "a man", "evil": 1}, "Extra inputs"),
        ({"prompt": "a man", "model": "dalle"}, "unknown model"),
        ({"prompt": "a man", "sampler": "plms"}, "no sampler 'plms'"),
        ({"prompt": "a man", "negative_presets": ["nope"]}, "unknown negative preset"),
    ],
)
def test_bad_requests_get_clear_errors(server, body, message):
    status, _, res = server.post("/api/jobs", body)
    assert status == 422 and message in json.dumps(res)


@slow
def test_security_limits(server, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    status, _, res = server.post("/api/jobs", {"prompt": "a man", "model": "imagen-4"})
    assert status in (409, 422)  # not usable here (no key), or its settings refused
    status, _, _ = server.call("POST", "/api/jobs", raw=b"{" + b" " * 70_000 + b"}")
    assert status == 413
    for path in ("/api/images/..%2F..%2Fgallery.sqlite3.png", "/api/images/1%2F..%2F..%2Fetc.png", "/../../etc/passwd",
                 "/api/jobs/..%2Fx", "/static/../../gallery.sqlite3"):  # fmt: skip
        status, _, payload = server.call("GET", path)
        assert status in (404, 422) and b"SQLite" not in payload, path
    status, headers, _ = server.call("OPTIONS", "/api/jobs", headers={"Origin": "http://evil.example",
                                                                       "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert "access-control-allow-origin" not in headers


@slow
def test_api_key_backpressure_cancellation_and_disconnects(model_file, tmp_path):
    s = Server(tmp_path / "gallery", model_file, "--api-key", "sesame", "--max-queued", "1")
    key = {"X-API-Key": "sesame"}
    try:
        assert s.post("/api/jobs", {"prompt": "a man"})[0] == 401
        assert s.get("/api/models", headers={"Authorization": "Bearer sesame"})[0] == 200
        s.headers = key
        long = {"prompt": "a man", "steps": 100, "n": 16}
        answers = [s.post("/api/jobs", long) for _ in range(4)]
        codes = [a[0] for a in answers]
        assert codes.count(202) >= 1 and 429 in codes
        refused = next(a for a in answers if a[0] == 429)
        assert int(refused[1]["retry-after"]) >= 1
        accepted = [a[2]["id"] for a in answers if a[0] == 202]
        for job_id in accepted:
            assert s.call("DELETE", f"/api/jobs/{job_id}")[0] == 200
        for job_id in accepted:
            state = s.wait(job_id)
            assert state["status"] == "cancelled" and len(state["images"]) < 16
        # a client that walks away: the job still finishes
        _, _, job = s.post("/api/jobs", {"prompt": "a woman", "steps": 3, "n": 2})
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        conn.request("GET", f"/api/jobs/{job['id']}/events", headers=key)
        conn.getresponse().read(10)
        conn.close()
        assert len(s.wait(job["id"])["images"]) == 2
    finally:
        s.stop()


@slow
def test_a_server_killed_mid_job_loses_no_finished_image(model_file, tmp_path):
    gallery = tmp_path / "gallery"
    s = Server(gallery, model_file)
    _, _, job = s.post(
        "/api/jobs", {"prompt": "portrait of a man", "steps": 60, "n": 8, "seed": 100, "reroll": 0}
    )
    s.wait(job["id"], until=lambda j: len(j["images"]) >= 2)
    before = s.get(f"/api/jobs/{job['id']}")[1]["images"]
    s.stop(signal.SIGKILL)
    assert 2 <= len(before) < 8
    on_disk = sorted(p.name for p in (gallery / "images").glob("*.png"))
    s2 = Server(gallery, model_file)
    try:
        _, health = s2.get("/api/health")
        assert health["resumed_jobs"] == 1
        done = s2.wait(job["id"])
        assert done["status"] == "done" and [i["seed"] for i in done["images"]] == list(range(100, 108))
        kept = {i["file"]: i["id"] for i in done["images"]}
        for img in before:  # the images finished before the kill are still there, same ids
            assert kept[img["file"]] == img["id"]
        assert set(on_disk) <= set(kept)
        assert s2.get("/api/gallery?limit=200")[1]["total"] == 8
    finally:
        s2.stop()


def test_gallery_reindexes_a_png_written_before_a_crash(tmp_path):
    from PIL import Image

    from portraitist.png import save_png
    from portraitist.studio.gallery import Gallery

    g = Gallery(tmp_path)
    save_png(
        Image.new("RGB", (64, 64)),
        g.images_dir / "job1-000.png",
        {"prompt": "lost face", "seed": 9, "model": "face-diffusion"},
    )
    (g.images_dir / "job1-001.png.abc123.tmp").write_bytes(b"half")
    assert g.repair() == 1
    rows, total = g.search("lost")
    assert total == 1 and rows[0]["seed"] == 9
    assert not list(g.images_dir.glob("*.tmp"))
    assert os.path.exists(g.path(rows[0]))


def test_gallery_records_the_malformed_verdict_and_upgrades_an_old_database(tmp_path):
    import sqlite3

    from PIL import Image

    from portraitist.studio.gallery import Gallery

    old = sqlite3.connect(tmp_path / "gallery.sqlite3")  # a gallery from before the plausibility check
    old.executescript(
        "CREATE TABLE images (id INTEGER PRIMARY KEY AUTOINCREMENT, file TEXT UNIQUE NOT NULL, job_id TEXT,"
        " created REAL NOT NULL, prompt TEXT NOT NULL, negative_prompt TEXT, model TEXT NOT NULL, seed INTEGER,"
        " width INTEGER, height INTEGER, face_found INTEGER, eyes_match INTEGER, settings TEXT NOT NULL);"
        "INSERT INTO images (file, created, prompt, model, face_found, eyes_match, settings)"
        " VALUES ('old.png', 0, 'old face', 'face-gan', 1, 1, '{}');"
    )
    old.commit()
    old.close()
    g = Gallery(tmp_path)
    face = Image.new("RGB", (64, 64))
    g.add(face, "j", 0, {"face_found": True, "eyes_match": True, "well_formed": False})
    g.add(face, "j", 1, {"face_found": True, "eyes_match": True, "well_formed": True})
    ok, total_ok = g.search(qa_ok=True)
    bad, total_bad = g.search(qa_ok=False)
    assert total_ok == 2 and {r["file"] for r in ok} == {"old.png", "j-001.png"}  # unknown is not a failure
    assert total_bad == 1 and bad[0]["well_formed"] is False


@slow
def test_bounded_load_every_client_served_or_cleanly_refused(model_file, tmp_path):
    import threading

    s = Server(tmp_path / "gallery", model_file, "--max-queued", "3")
    results: list[tuple[int, dict]] = []

    def client(k: int) -> None:
        status, headers, body = s.post(
            "/api/jobs", {"prompt": f"portrait of person {k}", "seed": k, "steps": 4, "n": 2}
        )
        if status == 202:
            body = s.wait(body["id"])
        results.append((status, headers if status == 429 else body))

    try:
        threads = [threading.Thread(target=client, args=(k,)) for k in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        accepted = [b for code, b in results if code == 202]
        refused = [h for code, h in results if code == 429]
        assert len(results) == 12 and len(accepted) + len(refused) == 12
        assert accepted and refused and all(int(h["retry-after"]) >= 1 for h in refused)
        assert all(b["status"] == "done" and len(b["images"]) == 2 for b in accepted)
        assert s.get("/api/gallery?limit=200")[1]["total"] == 2 * len(accepted)
    finally:
        s.stop()
