"""The studio's HTTP API and the browser studio, served by one FastAPI app.

    portraitist serve [--port 8765] [--gallery ~/portraitist-gallery] [--api-key KEY]

Endpoints (OpenAPI at /docs and /openapi.json):
  GET  /api/models                  model cards, and whether each runs here now
  POST /api/prompt                  a brief (or text) -> prompt, lint hints, coverage for a model
  POST /api/references              a photo's bytes -> its face, aligned: a job's "reference" or "init_image"
  POST /api/settings                a PNG's bytes -> the settings it was made with (to continue from)
  GET  /api/styles                  styles, and what a model cannot honour of each
  GET  /api/styles/{name}/preview.png  one face in that style (rendered once, kept)
  POST /api/grid                    a comparison grid: one setting along x, another along y
  POST /api/jobs                    submit a generation job -> 202 {id}; 429 + Retry-After when full
  GET  /api/jobs/{id}               status, progress, finished images
  GET  /api/jobs/{id}/events        server-sent events: progress with step previews, then done
  DELETE /api/jobs/{id}             cancel
  GET  /api/gallery                 list and search finished images (text, model, QA filters)
  GET  /api/images/{id}.png         an image file (with its PNG metadata)
  POST /api/edit                    a latent edit of a gallery face (age, smile, hair, light ...)
  POST /api/evaluate                QA of a batch of gallery images (face found, eyes match, ...)
Security: inputs validated with caps, integer image ids only (no paths from clients), an optional
API key (X-API-Key or Bearer), CORS closed unless origins are given, request bodies capped.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import time
from pathlib import Path
from typing import Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from ..engines import DEFAULT_MODEL
from ..engines.base import MAX_PROMPT_CHARS
from ..engines.embedded import FaceGANEngine
from ..engines.registry import EMBEDDED
from .gallery import Gallery
from .jobs import Job, JobQueue, QueueFull, _data_url

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 64 * 1024
MAX_UPLOAD = 8 * 1024 * 1024  # a photo or PNG (POST /api/references, /api/settings)
UPLOADS = ("/api/references", "/api/settings")


class JobRequest(BaseModel):
    """The shape of a job; its ranges and defaults are the model card's, checked by
    `Request.resolve` like every other caller's (422 with its message when out of range)."""

    model_config = ConfigDict(extra="forbid")
    prompt: str
    negative_prompt: str | None = None
    negative_presets: list[str] = Field(default_factory=list, max_length=5)
    model: str = DEFAULT_MODEL
    seed: int = 0
    steps: int | None = None
    guidance: float | None = None
    sampler: str | None = Field(None, max_length=40)
    n: int = 1
    reroll: int | None = None  # None: the model's default
    truncation: float | None = None
    width: int | None = None
    height: int | None = None
    # the person to portray: what POST /api/references returned, or a gallery image's id
    reference: dict[str, str] | None = None
    reference_image: int | None = None
    identity_guidance: float | None = None
    # a series: one portrait per prompt, one person (the reference's, or the seed's); n follows
    series: list[str] | None = Field(None, min_length=1, max_length=12)
    variation_of: int | None = None  # variations of the face this seed made
    variation_strength: float | None = None
    style: str | None = Field(None, max_length=41)
    # a photo to start from: {"name", "face"} with "face" the aligned 64-px PNG /api/references returned
    init_image: dict[str, str] | None = None
    strength: float | None = None
    invert: bool = False  # start from the photo inverted, not noised (keeps its person)


class GridRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str
    x: str = Field(max_length=400)  # SETTING=V1,V2,...
    y: str | None = Field(None, max_length=400)
    model: str = DEFAULT_MODEL
    negative_prompt: str | None = None
    style: str | None = Field(None, max_length=41)
    seed: int = 0
    steps: int | None = None
    guidance: float | None = None
    sampler: str | None = Field(None, max_length=40)
    truncation: float | None = None


class BriefRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(None, max_length=MAX_PROMPT_CHARS)
    brief: dict[str, str | int | float | list[str] | None] | None = None
    model: str = DEFAULT_MODEL
    negative_presets: list[str] = Field(default_factory=list, max_length=5)
    negative_prompt: str | None = Field(None, max_length=MAX_PROMPT_CHARS)


class EditRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_id: int = Field(ge=1)
    edits: dict[str, float] = Field(max_length=8)
    save: bool = False


class EvaluateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_ids: list[int] = Field(min_length=1, max_length=64)


def negative_text(presets: list[str], extra: str | None) -> str | None:
    from ..prompting import negative_prompt

    return negative_prompt(*presets, extra=extra) if presets else (extra or None)


def qa_of(image) -> dict | None:
    """QA badges for one 64-px face (None when the instruments are not installed)."""
    try:
        import numpy as np

        from ..quality.analysis import analyse
        from ..quality.checks import verdicts

        arr = np.asarray(image.convert("RGB").resize((64, 64)))[None]
        return verdicts(analyse(arr))[0].as_dict()
    except ImportError:
        return None


def job_request(r: dict, seed: int, n: int = 1):
    """The engine request for a job's settings (one image at a time when the job runs)."""
    from ..engines import Request as EngineRequest
    from ..reference import Reference

    return EngineRequest(r["prompt"], negative_text(r.get("negative_presets", []), r.get("negative_prompt")),
                         seed, r.get("steps"), r.get("guidance"), r.get("sampler"), n, r.get("width"),
                         r.get("height"), r.get("truncation"), r.get("reroll"),
                         Reference.from_settings(r.get("reference") or {}), r.get("identity_guidance"),
                         r.get("variation_of"), r.get("variation_strength"), r.get("style"),
                         start_image(r.get("init_image")), r.get("strength"), bool(r.get("invert")))  # fmt: skip


def _data_url_full(image: Image.Image) -> str:
    """A PNG data URL of the image at its own size."""
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def start_image(sent: dict | None):
    """A job's start image from what the client sent back: the aligned face /api/references made."""
    import binascii

    import numpy as np

    from ..errors import InvalidInput
    from ..reference import StartImage

    if not sent:
        return None
    try:
        data = base64.b64decode(
            str(sent.get("face", "")).removeprefix("data:image/png;base64,"), validate=True
        )
        face = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    except (binascii.Error, OSError, ValueError):
        raise InvalidInput(
            "init_image.face must be the aligned face /api/references returned (a PNG data URL)"
        ) from None
    if face.shape != (64, 64, 3):
        raise InvalidInput(f"init_image.face must be 64x64, got {face.shape[1]}x{face.shape[0]}")
    return StartImage.from_aligned(face, str(sent.get("name") or "photo")[:100])


def make_runner(weights: dict[str, str | None]):
    """Runs a job image by image (so progress is per image and a restarted job skips finished ones);
    `weights`: model name -> a weights file replacing the shipped one."""

    def run(job: Job, on_image, on_step) -> None:
        from dataclasses import replace

        from ..api import series_person

        r = job.request
        engine = engine_for(r["model"], weights.get(r["model"]))
        series, person = r.get("series"), {}
        if series:  # the same person (and seed, so no re-rolls) in every portrait; recomputed alike on resume
            r = r | {"reroll": 0}
            base = job_request(r, r["seed"])
            settings = {
                k: getattr(base, k)
                for k in ("negative_prompt", "seed", "steps", "guidance", "truncation", "reroll")
            }
            person = series_person(engine, base.init_image or base.reference, settings,
                                   base.strength if base.init_image is not None else None)  # fmt: skip
        for i in range(job.image_index, r["n"]):
            if series:
                request = replace(job_request(r | {"prompt": series[i]}, r["seed"]), **person)
            else:
                request = job_request(r, r["seed"] + i)
            image = engine.generate(request, callback=on_step)[0]
            qa = image.info.pop("qa", None)
            on_image(image, qa or (qa_of(image) if engine.card.reroll else None))

    return run


def create_app(gallery_dir: str | os.PathLike, weights: str | None = None, gan_weights: str | None = None,
               api_key: str | None = None,
               cors_origins: tuple[str, ...] = (), workers: int = 1, max_queued: int = 8, runner=None) -> FastAPI:  # fmt: skip
    gallery = Gallery(gallery_dir)
    repaired = gallery.repair()
    # a --gan-weights file serves the model whose card it gets: a text-conditioned one is face-gan-text
    gan_model = FaceGANEngine(gan_weights).card.name if gan_weights else "face-gan"
    model_weights = dict.fromkeys(EMBEDDED) | {"face-diffusion": weights, gan_model: gan_weights}
    jobs = JobQueue(gallery, runner or make_runner(model_weights), workers=workers, max_queued=max_queued)
    resumed = jobs.resume_unfinished()
    app = FastAPI(title="portraitist studio", version="0.1.0", docs_url=None, redoc_url=None,
                  description="Generate, browse, edit and check portraits. Every image carries its settings.")  # fmt: skip
    app.state.gallery, app.state.jobs = gallery, jobs
    app.state.startup = {"repaired_images": repaired, "resumed_jobs": resumed}
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Content-Type", "X-API-Key", "Authorization"])  # fmt: skip

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        cap = MAX_UPLOAD if request.url.path in UPLOADS else MAX_BODY
        if length is not None and (not length.isdigit() or int(length) > cap):
            return JSONResponse({"detail": f"request body over {cap} bytes"}, status_code=413)
        if request.method in ("POST", "PUT") and length is None and request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "Content-Length required"}, status_code=411)
        return await call_next(request)

    def authorised(request: Request) -> None:
        if not api_key:
            return
        given = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix(
            "Bearer "
        )
        if given != api_key:
            raise HTTPException(401, "missing or wrong API key (X-API-Key header)")

    guard = [Depends(authorised)]

    @app.get("/api/health")
    def health() -> dict:
        return {"ok": True, "queued": jobs.queued(), **app.state.startup}

    @app.get("/api/models", dependencies=guard)
    def models() -> list[dict]:
        from ..engines import list_models

        return list_models(model_weights)

    @app.post("/api/prompt", dependencies=guard)
    def prompt(body: BriefRequest) -> dict:
        from ..engines import coverage, get_engine
        from ..prompting import PortraitBrief, lint

        if body.text:
            text = body.text
        else:
            fields = {k: v for k, v in (body.brief or {}).items() if v not in (None, "", [])}
            try:
                text = PortraitBrief(**fields).to_prompt()
            except TypeError as e:
                raise HTTPException(422, f"unknown brief part: {e}") from None
        try:
            negative = negative_text(body.negative_presets, body.negative_prompt)
            rows = coverage(get_engine(body.model).card, text, negative)
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        return {
            "prompt": text,
            "negative_prompt": negative,
            "hints": [h.__dict__ for h in lint(text)],
            "coverage": rows,
        }

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError):
        # pydantic's errors echo the input, which may be unserialisable (NaN): keep the rest
        errors = [{k: v for k, v in e.items() if k not in ("input", "ctx")} for e in exc.errors()]
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    @app.post("/api/references", dependencies=guard)
    async def reference(request: Request) -> dict:
        """The raw bytes of a photo (or any face image) -> its reference face: a label, the embedding
        (pass both as a job's "reference") and the aligned face the model will see."""
        from ..data.images import open_rgb
        from ..reference import Reference

        data = await request.body()
        try:
            ref = Reference.from_image(open_rgb(data), "uploaded photo")
        except ValueError as e:
            raise HTTPException(422, f"the uploaded photo cannot be a reference face: {e}") from None
        buf = io.BytesIO()
        Image.fromarray(ref.face).save(buf, format="PNG")
        face64 = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
        return ref.to_settings() | {"face": _data_url(Image.fromarray(ref.face)), "face64": face64}

    @app.post("/api/settings", dependencies=guard)
    async def settings_of(request: Request) -> dict:
        """The bytes of a PNG -> the settings it was made with; 422 when it has none or they are damaged."""
        from ..png import read_settings

        data = await request.body()
        try:
            settings = read_settings(io.BytesIO(data))
        except (OSError, SyntaxError, ValueError) as e:
            raise HTTPException(422, f"this file's settings cannot be read: {e}") from None
        if not settings.get("prompt"):
            raise HTTPException(
                422,
                "this image carries no portraitist settings (made elsewhere, or its metadata was stripped)",
            )
        return {"settings": settings}

    @app.get("/api/styles", dependencies=guard)
    def style_list(model: str = DEFAULT_MODEL) -> list[dict]:
        from ..engines.base import style_gaps
        from ..prompting.styles import styles

        try:
            card = engine_for(model, model_weights.get(model)).card
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        rows = []
        for st in styles().values():
            rows.append(st.to_dict() | {"cannot_honour": sorted(r["part"] for r in style_gaps(card, st)),
                                        "preview": f"/api/styles/{st.name}/preview.png?model={model}"})  # fmt: skip
        return rows

    previews: dict[tuple[str, str], bytes] = {}

    @app.get("/api/styles/{name}/preview.png", dependencies=guard)
    def style_preview(name: str, model: str = DEFAULT_MODEL):
        from ..engines import Request as EngineRequest

        if (name, model) not in previews:
            try:
                engine = engine_for(model, model_weights.get(model))
                # reroll=0: seed 0 is the same person in every style's preview, so the previews differ
                # by style alone (and opening the studio does not cost a re-roll per style)
                request = EngineRequest("portrait photo of a person", seed=0, style=name, reroll=0)
                image = engine.generate(request)[0]
            except ValueError as e:
                raise HTTPException(404 if "unknown style" in str(e) else 422, str(e)) from None
            buf = io.BytesIO()
            image.resize((128, 128), Image.Resampling.LANCZOS).save(buf, format="PNG")
            previews[(name, model)] = buf.getvalue()
        return Response(previews[(name, model)], media_type="image/png")

    @app.post("/api/grid", dependencies=guard)
    def make_grid(body: GridRequest) -> dict:
        """The cells are made here and now (each a face of a model that runs in well under a second
        here), saved to the gallery, and returned with the labelled sheet."""
        from ..api import grid

        if body.model not in model_weights:
            raise HTTPException(422, "grids run on the models this project ships")
        try:
            sheet, cells = grid(body.prompt, body.x, body.y, model=body.model, weights=model_weights.get(body.model),
                                negative_prompt=body.negative_prompt, style=body.style, seed=body.seed,
                                num_inference_steps=body.steps, guidance_scale=body.guidance, sampler=body.sampler,
                                truncation=body.truncation)  # fmt: skip
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        job = f"grid{int(time.time() * 1000)}"
        out = []
        for k, cell in enumerate(cells):
            row = {"x": cell.x, "y": cell.y, "model": cell.model}
            if cell.image is not None:
                row["image"] = gallery.add(cell.image, job, k, None)
            else:
                row["error"] = cell.error
            out.append(row)
        return {"sheet": _data_url_full(sheet), "cells": out}

    @app.post("/api/jobs", status_code=202, dependencies=guard)
    def submit(body: JobRequest, response: Response) -> dict:
        from ..engines.base import require
        from ..reference import Reference

        request = body.model_dump()
        try:
            engine = engine_for(body.model, model_weights.get(body.model))
            if body.reference_image is not None:  # "use this face" on a gallery image
                if body.reference is not None:
                    raise ValueError("give reference or reference_image, not both")
                ref = Reference.from_file(gallery.path(image_or_404(body.reference_image)))
                request["reference"] = Reference(f"gallery image {body.reference_image}", ref.digest,
                                                 ref.embedding).to_settings()  # fmt: skip
            request.pop("reference_image")
            if body.series:
                require(engine.card, "series")
                request["n"] = len(body.series)
            for prompt in body.series or [body.prompt]:
                job_request(request | {"prompt": prompt}, body.seed, 1 if body.series else body.n).resolve(
                    engine.card
                )
            ok, why = engine.availability()
            if not ok:
                raise HTTPException(409, f"{body.model} cannot run here now: {why}")
            job = jobs.submit(request)
        except QueueFull as e:
            return JSONResponse(
                {"detail": str(e)}, status_code=429, headers={"Retry-After": str(e.retry_after)}
            )
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        response.headers["Location"] = f"/api/jobs/{job.id}"
        return {"id": job.id, "status": job.status}

    def job_or_404(job_id: str) -> Job:
        if not job_id.isalnum() or len(job_id) > 32:
            raise HTTPException(404, "no such job")
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, "no such job")
        return job

    def image_or_404(image_id: int) -> dict:
        row = gallery.get(image_id)
        if row is None:
            raise HTTPException(404, "no such image")
        return row

    @app.get("/api/jobs/{job_id}", dependencies=guard)
    def job_status(job_id: str) -> dict:
        return job_or_404(job_id).public()

    @app.delete("/api/jobs/{job_id}", dependencies=guard)
    def cancel(job_id: str) -> dict:
        job_or_404(job_id)
        return jobs.cancel(job_id).public()

    @app.get("/api/jobs/{job_id}/events", dependencies=guard)
    async def events(job_id: str, request: Request):
        job = job_or_404(job_id)

        async def stream():
            version = -1
            while True:
                if await request.is_disconnected():
                    return  # the job itself goes on
                version = await asyncio.to_thread(job.wait_change, version, 1.0)
                state = job.public()
                yield f"event: progress\ndata: {json.dumps(state)}\n\n"
                if state["status"] in ("done", "failed", "cancelled"):
                    yield f"event: {state['status']}\ndata: {json.dumps(state)}\n\n"
                    return

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    @app.get("/api/gallery", dependencies=guard)
    def gallery_list(q: str | None = None, model: str | None = None, job: str | None = None,
                     qa: Literal["ok", "bad"] | None = None, limit: int = 50, offset: int = 0) -> dict:  # fmt: skip
        if not 1 <= limit <= 200 or offset < 0 or (q and len(q) > 200):
            raise HTTPException(422, "limit must be 1-200, offset non-negative, q at most 200 characters")
        rows, total = gallery.search(q, model, job, None if qa is None else qa == "ok", limit, offset)
        return {"total": total, "images": rows}

    @app.get("/api/images/{image_id}.png", dependencies=guard)
    def image_file(image_id: int):
        return FileResponse(gallery.path(image_or_404(image_id)), media_type="image/png")

    @app.get("/api/images/{image_id}", dependencies=guard)
    def image_info(image_id: int) -> dict:
        return image_or_404(image_id)

    @app.post("/api/edit", dependencies=guard)
    def edit_face(body: EditRequest) -> dict:
        import base64
        import io

        from PIL import Image

        from ..engines import EngineUnavailable
        from ..engines.registry import model_names
        from ..vocabulary import EDITS

        row = image_or_404(body.image_id)
        s = row["settings"]
        model = s.get("model")
        if model not in model_names():
            raise HTTPException(422, f"image {row['id']} was not made by a known model")
        engine = engine_for(model, model_weights.get(model))
        if "edit" not in engine.card.capabilities:
            raise HTTPException(422, f"{model} cannot edit faces (its card lists no 'edit')")
        unknown = set(body.edits) - set(EDITS)
        if unknown:
            raise HTTPException(
                422, f"unknown direction {sorted(unknown)[0]!r}; choose from {', '.join(EDITS)}"
            )
        started = time.perf_counter()
        try:
            face = engine.edit(s, body.edits)
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        except EngineUnavailable as e:
            raise HTTPException(409, str(e)) from None
        image = Image.fromarray(face)
        image.info = {k: v for k, v in s.items() if k not in ("qa", "job_id")} | {
            "edits": body.edits,
            "edited_from": row["id"],
        }
        out = {"seconds": round(time.perf_counter() - started, 3)}
        if body.save:
            out["image"] = gallery.add(image, f"edit{row['id']}x{int(time.time() * 1000)}", 0, qa_of(image))
        buf = io.BytesIO()
        image.resize((256, 256), Image.Resampling.LANCZOS).save(buf, format="PNG")
        out["preview"] = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
        return out

    @app.post("/api/evaluate", dependencies=guard)
    def evaluate_batch(body: EvaluateRequest) -> dict:
        from PIL import Image

        rows = [gallery.get(i) for i in body.image_ids]
        if any(r is None for r in rows):
            raise HTTPException(404, "no such image among image_ids")
        results = []
        for r in rows:
            with Image.open(gallery.path(r)) as img:
                qa = qa_of(img)
            if qa is None:
                raise HTTPException(
                    501, "the QA instruments are not installed: pip install 'portraitist[quality]'"
                )
            results.append({"image_id": r["id"], **qa})
        keys = ("face_found", "eyes_match", "symmetric", "sharp", "well_formed", "passed")
        summary = {f"{k}_rate": sum(x[k] for x in results) / len(results) for k in keys}
        return {"images": results, "summary": summary}

    @app.get("/docs", include_in_schema=False)
    def api_docs():
        # Swagger UI from the swagger-ui-bundle package, not a CDN: the page works offline
        from fastapi.openapi.docs import get_swagger_ui_html

        return get_swagger_ui_html(openapi_url="/openapi.json", title="portraitist studio API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css", swagger_favicon_url="/favicon.ico")  # fmt: skip

    try:
        from swagger_ui_bundle import swagger_ui_path

        app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")
    except ImportError:  # the page then says so in its console; the API itself is unaffected
        pass
    app.mount("/", StaticFiles(directory=STATIC, html=True), name="studio")
    return app


def engine_for(name: str, weights: str | None = None):
    """One engine per model, shared by jobs and edits and with the Python API (the embedded ones
    keep their weights loaded); `weights` replaces the shipped weights (--weights, --gan-weights)."""
    from ..api import engine

    return engine(name, weights)


def serve(host: str = "127.0.0.1", port: int = 8765, **options) -> None:
    import uvicorn

    from ..threads import use_free_cores

    use_free_cores()
    uvicorn.run(create_app(**options), host=host, port=port, log_level="info")
