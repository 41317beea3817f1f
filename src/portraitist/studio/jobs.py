"""The studio's job queue: bounded concurrency, backpressure, cancellation, progress with previews.

Jobs run on worker threads owned by the server, not by the request that submitted them, so a job
finishes (and its images reach the gallery) even if its client disconnects. The queue holds at most
`max_queued` waiting jobs; a submission beyond that is refused (the HTTP layer answers 429 with
Retry-After). Every job is recorded in the gallery's database when accepted and marked as it
progresses; at start-up, jobs left queued or running by a killed server run again, skipping the
images they had already finished.
"""

from __future__ import annotations

import base64
import io
import math
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

from .gallery import Gallery


class QueueFull(RuntimeError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the queue is full; retry in {retry_after} s")
        self.retry_after = retry_after


class Cancelled(Exception):
    pass


@dataclass
class Job:
    id: str
    request: dict
    status: str = "queued"
    step: int = 0
    total: int = 0
    image_index: int = 0
    images: list[dict] = field(default_factory=list)
    error: str | None = None
    preview: str | None = None  # data: URL of the latest step preview
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)
    version: int = 0

    def public(self) -> dict:
        return {"id": self.id, "status": self.status, "step": self.step, "total": self.total,
                "image_index": self.image_index, "n": self.request.get("n", 1), "images": self.images,
                "error": self.error, "preview": self.preview, "created": self.created, "started": self.started,
                "finished": self.finished, "request": self.request}  # fmt: skip

    def touch(self, **changes) -> None:
        with self.changed:
            for k, v in changes.items():
                setattr(self, k, v)
            self.version += 1
            self.changed.notify_all()

    def wait_change(self, version: int, timeout: float) -> int:
        with self.changed:
            self.changed.wait_for(lambda: self.version != version, timeout=timeout)
            return self.version


# runner(job, on_image, on_step): generates the job's images, calling on_image(PIL image, qa) for
# each finished one (in order) and on_step(step, total, preview) to report progress.
Runner = Callable[[Job, Callable[[Image.Image, dict | None], None], Callable], None]


class JobQueue:
    def __init__(self, gallery: Gallery, runner: Runner, workers: int = 1, max_queued: int = 8) -> None:
        self.gallery, self.runner = gallery, runner
        self.max_queued, self.workers = max_queued, workers
        self.seconds_per_image = 1.0  # measured between images (moving average); sets Retry-After
        self.jobs: dict[str, Job] = {}
        self._waiting: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._work, daemon=True, name=f"studio-worker-{i}")
            for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    def resume_unfinished(self) -> int:
        """Re-queue jobs a killed server left queued or running (their finished images are kept)."""
        count = 0
        for row in self.gallery.unfinished_jobs():
            job = Job(row["id"], row["request"], created=row["created"], image_index=row["done_images"])
            job.images, _ = self.gallery.search(job_id=job.id, limit=1000)
            job.images.sort(key=lambda r: r["id"])
            with self._lock:
                self.jobs[job.id] = job
            self._waiting.put(job)
            count += 1
        return count

    def queued(self) -> int:
        with self._lock:
            return sum(j.status == "queued" for j in self.jobs.values())

    def submit(self, request: dict) -> Job:
        with self._lock:
            waiting = sum(j.status == "queued" for j in self.jobs.values())
            if waiting >= self.max_queued:
                # a place frees when the first waiting job starts: when a running job finishes
                remaining = [
                    j.request.get("n", 1) - j.image_index for j in self.jobs.values() if j.status == "running"
                ]
                soonest = min(remaining) if len(remaining) >= self.workers else 0
                raise QueueFull(max(1, math.ceil(soonest * self.seconds_per_image)))
            job = Job(uuid.uuid4().hex[:16], request)
            self.jobs[job.id] = job
            self.gallery.save_job(job.id, request)
        self._waiting.put(job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            job = self.jobs.get(job_id)
        if job is None:
            row = self.gallery.job(job_id)
            if row is None:
                return None
            job = Job(
                row["id"], row["request"], status=row["status"], created=row["created"], error=row["error"]
            )
            job.images, _ = self.gallery.search(job_id=job_id, limit=1000)
        return job

    def cancel(self, job_id: str) -> Job | None:
        job = self.get(job_id)
        if job is None:
            return None
        if job.status == "queued":
            job.touch(status="cancelled", finished=time.time())
            self.gallery.set_job(job.id, "cancelled")
        elif job.status == "running":
            job.cancel.set()  # the runner stops at its next step
        return job

    def shutdown(self) -> None:
        for _ in self._threads:
            self._waiting.put(None)

    def _work(self) -> None:
        while True:
            job = self._waiting.get()
            if job is None:
                return
            if job.status != "queued":  # cancelled while waiting
                continue
            job.touch(status="running", started=time.time())
            self.gallery.set_job(job.id, "running")

            last: list[float | None] = [None]  # set at the first step: loading a model is not per image

            def on_image(image: Image.Image, qa: dict | None, job: Job = job, last: list = last) -> None:
                now = time.time()
                if last[0] is not None:
                    self.seconds_per_image = 0.7 * self.seconds_per_image + 0.3 * (now - last[0])
                last[0] = now
                row = self.gallery.add(image, job.id, job.image_index, qa)
                job.touch(images=[*job.images, row], image_index=job.image_index + 1)
                self.gallery.set_job(job.id, "running", done_images=job.image_index)

            def on_step(
                step: int, total: int, preview: Image.Image | None, job: Job = job, last: list = last
            ) -> None:
                if job.cancel.is_set():
                    raise Cancelled()
                if last[0] is None:
                    last[0] = time.time()
                job.touch(
                    step=step, total=total, preview=_data_url(preview) if preview is not None else job.preview
                )

            try:
                self.runner(job, on_image, on_step)
            except Cancelled:
                job.touch(status="cancelled", finished=time.time())
                self.gallery.set_job(job.id, "cancelled")
            except Exception as e:  # the job fails, the worker lives on
                job.touch(status="failed", error=f"{type(e).__name__}: {e}", finished=time.time())
                self.gallery.set_job(job.id, "failed", error=job.error)
            else:
                job.touch(status="done", finished=time.time())
                self.gallery.set_job(job.id, "done", done_images=job.image_index)


def _data_url(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.resize((128, 128), Image.Resampling.LANCZOS).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
