"""The studio's gallery: image files (PNG, every setting in their metadata) indexed in SQLite.

A finished image is first written to disk atomically (png.save_png), then recorded in one
transaction. If the server dies between the two, `repair()` at the next start re-indexes every PNG
that is on disk but not in the database from its own metadata, so a finished image is never lost.
Jobs live in the same database, so a restart finds the ones it must run again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from PIL import Image

from ..png import read_settings, save_png

SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file TEXT UNIQUE NOT NULL,
    job_id TEXT,
    created REAL NOT NULL,
    prompt TEXT NOT NULL,
    negative_prompt TEXT,
    model TEXT NOT NULL,
    seed INTEGER,
    width INTEGER, height INTEGER,
    face_found INTEGER, eyes_match INTEGER, well_formed INTEGER,
    settings TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS images_model ON images(model);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    status TEXT NOT NULL,          -- queued | running | done | failed | cancelled
    request TEXT NOT NULL,         -- the submitted JSON
    done_images INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
"""


class Gallery:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.images_dir = self.root / "images"
        self.images_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.db = sqlite3.connect(
            self.root / "gallery.sqlite3", check_same_thread=False, isolation_level=None
        )
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        columns = {r["name"] for r in self.db.execute("PRAGMA table_info(images)")}
        if "well_formed" not in columns:  # a gallery from before the plausibility check
            self.db.execute("ALTER TABLE images ADD COLUMN well_formed INTEGER")

    # ---------------------------------------------------------------- images

    def add(self, image: Image.Image, job_id: str | None, index: int, qa: dict | None = None) -> dict:
        """Write the PNG (atomically), then index it; returns the gallery row."""
        settings = dict(image.info) | ({"qa": qa} if qa else {}) | {"job_id": job_id}
        name = f"{job_id or 'img'}-{index:03d}.png"
        save_png(image, self.images_dir / name, settings)
        return self._index(name, settings, image.size)

    def _index(self, name: str, settings: dict, size: tuple[int, int]) -> dict:
        qa = settings.get("qa") or {}
        row = (name, settings.get("job_id"), time.time(), settings.get("prompt", ""), settings.get("negative_prompt"),
               settings.get("model", "unknown"), settings.get("seed"), size[0], size[1],
               _flag(qa.get("face_found")), _flag(qa.get("eyes_match")), _flag(qa.get("well_formed")),
               json.dumps(settings, default=str))  # fmt: skip
        with self._lock:
            self.db.execute(
                "INSERT OR IGNORE INTO images (file, job_id, created, prompt, negative_prompt, model, seed, width,"
                " height, face_found, eyes_match, well_formed, settings) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                row,
            )
            found = self.db.execute("SELECT * FROM images WHERE file = ?", (name,)).fetchone()
        return _image_row(found)

    def get(self, image_id: int) -> dict | None:
        with self._lock:
            row = self.db.execute("SELECT * FROM images WHERE id = ?", (int(image_id),)).fetchone()
        return _image_row(row) if row else None

    def path(self, row: dict) -> Path:
        return self.images_dir / row["file"]

    def search(self, text: str | None = None, model: str | None = None, job_id: str | None = None,
               qa_ok: bool | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:  # fmt: skip
        where, args = [], []
        if text:
            where.append("(prompt LIKE ? ESCAPE '\\' OR negative_prompt LIKE ? ESCAPE '\\')")
            like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            args += [like, like]
        if model:
            where.append("model = ?")
            args.append(model)
        if job_id:
            where.append("job_id = ?")
            args.append(job_id)
        if qa_ok is not None:
            where.append(
                "(face_found = 1 AND eyes_match = 1 AND well_formed IS NOT 0)"
                if qa_ok
                else "(face_found = 0 OR eyes_match = 0 OR well_formed = 0)"
            )
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            total = self.db.execute(f"SELECT COUNT(*) FROM images {clause}", args).fetchone()[0]
            rows = self.db.execute(f"SELECT * FROM images {clause} ORDER BY id DESC LIMIT ? OFFSET ?",
                                   [*args, int(limit), int(offset)]).fetchall()  # fmt: skip
        return [_image_row(r) for r in rows], total

    def repair(self) -> int:
        """Index PNGs that are on disk but not in the database (a crash between write and insert)."""
        with self._lock:
            known = {r[0] for r in self.db.execute("SELECT file FROM images")}
        added = 0
        for path in sorted(self.images_dir.glob("*.png")):
            if path.name in known:
                continue
            try:
                settings = read_settings(path)
                with Image.open(path) as img:
                    size = img.size
            except Exception:  # a damaged file is left for a person to look at, not indexed
                continue
            if settings:
                self._index(path.name, settings, size)
                added += 1
        for tmp in self.images_dir.glob("*.tmp*"):  # half-written files from a kill mid-write
            tmp.unlink(missing_ok=True)
        return added

    # ---------------------------------------------------------------- jobs

    def save_job(self, job_id: str, request: dict) -> None:
        with self._lock:
            self.db.execute("INSERT INTO jobs (id, created, status, request) VALUES (?, ?, 'queued', ?)",
                            (job_id, time.time(), json.dumps(request)))  # fmt: skip

    def set_job(
        self, job_id: str, status: str, done_images: int | None = None, error: str | None = None
    ) -> None:
        with self._lock:
            self.db.execute(
                "UPDATE jobs SET status = ?, done_images = COALESCE(?, done_images), error = ? WHERE id = ?",
                (status, done_images, error, job_id),
            )

    def job(self, job_id: str) -> dict | None:
        with self._lock:
            row = self.db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return dict(row) | {"request": json.loads(row["request"])} if row else None

    def unfinished_jobs(self) -> list[dict]:
        with self._lock:
            rows = self.db.execute(
                "SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY created"
            ).fetchall()
        return [dict(r) | {"request": json.loads(r["request"])} for r in rows]

    def close(self) -> None:
        with self._lock:
            self.db.close()


def _flag(value) -> int | None:
    return None if value is None else int(bool(value))


def _image_row(row: sqlite3.Row) -> dict:
    d = dict(row)
    d["settings"] = json.loads(d["settings"])
    for k in ("face_found", "eyes_match", "well_formed"):
        d[k] = None if d[k] is None else bool(d[k])
    d["url"] = f"/api/images/{d['id']}.png"
    return d
