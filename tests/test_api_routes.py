"""The HTTP API's routes, in process (FastAPI's TestClient) with an injected runner: request checks,
job lifecycle, gallery, edits and security limits, without starting a server or loading a model.
The real-server tests (tests/test_studio.py, slow tier) cover the same paths end to end."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from portraitist.engines import Request, get_engine  # noqa: E402
from portraitist.studio.server import create_app  # noqa: E402


def flat_faces(job, on_image, on_step) -> None:
    """A runner that makes one flat grey 64x64 image per seed, with the settings an engine writes."""
    r = job.request
    for i in range(job.image_index, r["n"]):
        on_step(1, 1, None)
        image = Image.fromarray(np.full((64, 64, 3), 100 + i, np.uint8))
        request = Request(
            r["prompt"], r.get("negative_prompt"), r["seed"] + i, r.get("steps"), r.get("guidance")
        )
        card = get_engine(r["model"]).card
        image.info = {"prompt": r["prompt"], "model": card.name, **vars(request.resolve(card))}
        on_image(image, None)


@pytest.fixture
def client(tmp_path):
    app = create_app(tmp_path / "gallery", runner=flat_faces)
    with TestClient(app) as c:
        yield c
    app.state.jobs.shutdown()


def wait(client, job_id: str) -> dict:
    for _ in range(500):  # a bounded poll; each job here takes milliseconds
        state = client.get(f"/api/jobs/{job_id}").json()
        if state["status"] in ("done", "failed", "cancelled"):
            return state
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish: {state}")


def test_models_carry_their_limits_and_capabilities(client):
    models = {m["name"]: m for m in client.get("/api/models").json()}
    fd, gan = models["face-diffusion"], models["face-gan"]
    assert fd["steps"] == [1, 200] and fd["default_steps"] == 8 and fd["default_sampler"] == "dpmpp_2m"
    assert fd["limits"]["prompt_chars"] == 2000 and fd["limits"]["max_images"] == 64
    assert fd["capabilities"] == [
        "generate",
        "edit",
        "project",
        "interpolate",
        "series",
        "variations",
        "init-image",
        "invert",
        "branch",
    ]
    assert (
        gan["capabilities"]
        == ["generate", "edit", "project", "interpolate", "series", "variations", "init-image"]
        and gan["steps"] is None
    )
    assert gan["default_truncation"] == 0.85
    text = models["face-gan-text"]  # the shipped text-conditioned GAN: prompts, guidance, no steps
    assert text["available"] and text["steps"] is None and text["guidance"] == [0.0, 5.0]
    assert list(models)[:3] == ["face-diffusion", "face-gan-text", "face-gan"]  # the default first


def test_a_job_runs_to_the_gallery(client):
    res = client.post("/api/jobs", json={"prompt": "a smiling man", "seed": 40, "n": 2})
    assert res.status_code == 202 and res.headers["location"] == f"/api/jobs/{res.json()['id']}"
    done = wait(client, res.json()["id"])
    assert done["status"] == "done" and [i["seed"] for i in done["images"]] == [40, 41]
    settings = done["images"][0]["settings"]
    assert (settings["steps"], settings["guidance"], settings["sampler"]) == (
        8,
        3.0,
        "dpmpp_2m",
    )  # the card's
    png = client.get(done["images"][0]["url"])
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/api/gallery", params={"q": "smiling"}).json()["total"] == 2


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"prompt": ""}, 422, "prompt is empty"),
        ({"prompt": "a" * 2001}, 422, "limit is 2000"),
        ({"prompt": "a man", "steps": 1000}, 422, "takes 1 to 200 steps"),
        ({"prompt": "a man", "n": 500}, 422, "makes 1 to 64 images"),
        ({"prompt": "a man", "seed": -1}, 422, "seed must be"),
        ({"prompt": "a man", "evil": 1}, 422, "Extra inputs"),
        ({"prompt": "a man", "model": "dalle"}, 422, "unknown model"),
        ({"prompt": "a man", "sampler": "plms"}, 422, "no sampler 'plms'"),
        ({"prompt": "a man", "model": "face-gan", "steps": 8}, 422, "step count"),
        ({"prompt": "a man", "negative_presets": ["nope"]}, 422, "unknown negative preset"),
    ],
)
def test_bad_jobs_are_refused_with_the_cards_message(client, body, status, message):
    res = client.post("/api/jobs", json=body)
    assert res.status_code == status and message in res.text


def test_nan_is_a_clear_422_not_a_500(client):
    """JSON has no NaN, but Python's parser reads it: the range check refuses it, and the error
    response itself still serialises."""
    for raw in ('{"prompt": "a man", "guidance": NaN}', '{"prompt": "a man", "steps": NaN}'):
        res = client.post("/api/jobs", content=raw, headers={"content-type": "application/json"})
        assert res.status_code == 422, res.text
        assert "number" in res.text


def test_edits_follow_the_card(client):
    done = wait(
        client, client.post("/api/jobs", json={"prompt": "a woman", "model": "face-gan"}).json()["id"]
    )
    image_id = done["images"][0]["id"]
    res = client.post("/api/edit", json={"image_id": image_id, "edits": {"nose": 1}})
    assert res.status_code == 422 and "unknown direction 'nose'" in res.text
    assert client.post("/api/edit", json={"image_id": 999, "edits": {"age": 1}}).status_code == 404


def test_security_limits(tmp_path):
    app = create_app(tmp_path / "g", runner=flat_faces, api_key="sesame")
    with TestClient(app) as c:
        assert c.post("/api/jobs", json={"prompt": "a man"}).status_code == 401
        assert c.get("/api/models", headers={"X-API-Key": "sesame"}).status_code == 200
        big = c.post("/api/jobs", content=b"{" + b" " * 70_000 + b"}", headers={"X-API-Key": "sesame"})
        assert big.status_code == 413
        for path in ("/api/images/..%2F..%2Fgallery.sqlite3.png", "/api/jobs/..%2Fx"):
            res = c.get(path, headers={"X-API-Key": "sesame"})
            assert res.status_code in (404, 422) and b"SQLite" not in res.content
    app.state.jobs.shutdown()


def test_a_text_conditioned_gan_file_serves_face_gan_text(tmp_path):
    """--gan-weights with a text-conditioned file: its jobs run as face-gan-text, with that file."""
    import torch

    from portraitist.nets.stylegan import Generator
    from portraitist.pipelines.face_gan import FaceGAN

    torch.manual_seed(0)
    path = FaceGAN(Generator(16, z_dim=32, w_dim=32, base=8, c_dim=384), {}).save_pretrained(
        tmp_path / "mine.safetensors"
    )
    app = create_app(tmp_path / "gallery", gan_weights=str(path))
    with TestClient(app) as client:
        res = client.post(
            "/api/jobs", json={"prompt": "a smiling woman", "model": "face-gan-text", "n": 1, "reroll": 0}
        )
        done = wait(client, res.json()["id"])
        assert done["status"] == "done", done
        image = client.get("/api/gallery").json()["images"][0]
        assert image["model"] == "face-gan-text" and image["settings"]["weights"] == "mine"
    app.state.jobs.shutdown()
