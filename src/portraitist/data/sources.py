"""Readers for the layouts face datasets come in: our packs, the official CelebA, FairFace, UTKFace
and FFHQ layouts, and any folder of images. Each returns a `Source`: the list of records with their
labels and split, and a way to read each record's bytes. Decoding happens once, in cache.py."""

from __future__ import annotations

import csv
import hashlib
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InvalidInput
from ..paths import find_data
from .images import IMAGE_SUFFIXES
from .schema import (
    CELEBA_ATTRIBUTES,
    FaceLabels,
    LabelReport,
    labels_from_celeba,
    labels_from_demographics,
    parse_split,
)

# The crop DDPM and DDIM use for CelebA-64: a 128x128 box centred at (89, 121) of the 178x218 image.
CELEBA_CROP = (89 - 64, 121 - 64, 89 + 64, 121 + 64)
KINDS = ("pack", "celeba", "fairface", "utkface", "ffhq", "folder")


class DataError(InvalidInput):
    """A dataset that cannot be read as asked: missing or malformed label files, empty folders."""


@dataclass
class Source:
    """Records of one dataset before decoding. `read(file)` returns a record's encoded bytes."""

    name: str
    kind: str
    root: Path
    files: list[str]
    labels: list[FaceLabels]
    splits: list[str]
    identities: list[str | None]
    read: Callable[[str], bytes]
    fingerprint: str
    crop_box: tuple[int, int, int, int] | None = None
    report: LabelReport = field(default_factory=LabelReport)
    # Per-record arrays beyond the schema, e.g. "celeba_attributes": (N, 40) int8 of 1/0/-1 (unknown).
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.files)


def _stat_key(*paths: Path) -> str:
    h = hashlib.sha1()
    for p in paths:
        st = p.stat()
        h.update(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _held_out(name: str, every: int = 10) -> bool:
    """A stable 1-in-`every` validation pick for datasets without an official split."""
    return zlib.crc32(name.encode()) % every == 0


def _read_csv(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.exists():
        raise DataError(f"label file {path} is missing")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = [c for c in required if c not in header]
            if missing:
                raise DataError(f"{path}: header {header} lacks column(s) {missing}")
            rows = []
            for row in reader:
                if None in row or any(v is None for v in row.values()):
                    raise DataError(f"{path}, line {reader.line_num}: expected {len(header)} fields")
                rows.append(row)
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not UTF-8 text: {e}") from e
    except csv.Error as e:
        raise DataError(f"{path}: malformed CSV: {e}") from e
    if not rows:
        raise DataError(f"{path} has a header but no rows")
    return rows


def _zip_reader(path: Path) -> Callable[[str], bytes]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise DataError(f"{path} is not a readable zip archive: {e}") from e
    names = set(archive.namelist())

    def read(name: str) -> bytes:
        if name not in names:
            raise FileNotFoundError(f"{name} is listed in labels.csv but not in {path.name}")
        return archive.read(name)

    return read


def _file_reader(root: Path) -> Callable[[str], bytes]:
    def read(name: str) -> bytes:
        return (root / name).read_bytes()

    return read


def _finish(rows, limit: int | None):
    return rows if limit is None else rows[:limit]


def _celeba_matrix(rows: list[dict[str, str]]) -> np.ndarray:
    """CelebA's 40 flags as int8: 1 yes, 0 no (from 0 or -1), -1 unknown."""
    table = {"1": 1, "0": 0, "-1": 0}
    return np.array([[table.get(r.get(a, "").strip(), -1) for a in CELEBA_ATTRIBUTES] for r in rows], np.int8)


def read_pack(root: Path, limit: int | None = None) -> Source:
    """Our pack layout: images.zip (64x64 JPEGs) + labels.csv whose `file` column names the member."""
    zpath, lpath = root / "images.zip", root / "labels.csv"
    if not zpath.exists():
        raise DataError(f"{root} has labels.csv but no images.zip")
    rows = _finish(_read_csv(lpath, ("file",)), limit)
    header = rows[0].keys()
    report = LabelReport()
    if "Smiling" in header:
        kind = "celeba"
        labels = [labels_from_celeba(r, report) for r in rows]
        extra = {"celeba_attributes": _celeba_matrix(rows)}
    elif {"age", "gender", "race"} <= set(header):
        kind = "utkface" if rows[0]["age"].strip().isdigit() else "fairface"
        labels = [labels_from_demographics(r, report) for r in rows]
        extra = {}
    elif set(header) <= {"file", "split", "partition", "identity"}:  # photos without labels (`data align`)
        kind = "folder"
        labels = [FaceLabels() for _ in rows]
        extra = {}
    else:
        raise DataError(f"{lpath}: columns {list(header)} match no known label schema")
    split_col = "partition" if "partition" in header else "split" if "split" in header else None
    splits = [parse_split(r[split_col], report) if split_col else "train" for r in rows]
    ids = [r.get("identity") or None for r in rows]
    return Source(
        name=root.name,
        kind=kind,
        root=root,
        files=[r["file"] for r in rows],
        labels=labels,
        splits=splits,
        identities=ids,
        read=_zip_reader(zpath),
        fingerprint=_stat_key(zpath, lpath) + f"|limit={limit}",
        report=report,
        extra=extra,
    )


def _find(root: Path, name: str) -> Path | None:
    hits = sorted(root.glob(name)) + sorted(root.glob(f"*/{name}"))
    return hits[0] if hits else None


def read_celeba(root: Path, limit: int | None = None) -> Source:
    """Official CelebA: img_align_celeba/ + list_attr_celeba.txt (+ list_eval_partition.txt,
    identity_CelebA.txt), with the standard CelebA-64 crop."""
    attr_path = _find(root, "list_attr_celeba.txt")
    img_dir = _find(root, "img_align_celeba")
    if attr_path is None or img_dir is None or not img_dir.is_dir():
        raise DataError(f"{root}: official CelebA needs img_align_celeba/ and list_attr_celeba.txt")
    lines = attr_path.read_text(encoding="utf-8", errors="replace").splitlines()
    if len(lines) < 3 or not lines[0].strip().isdigit():
        raise DataError(f"{attr_path}: line 1 should be the image count, then a line of attribute names")
    names = lines[1].split()
    if names != CELEBA_ATTRIBUTES:
        raise DataError(f"{attr_path}: line 2 does not list CelebA's 40 attributes in order")
    report = LabelReport()
    files, labels, raw = [], [], []
    for i, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 41:
            raise DataError(
                f"{attr_path}, line {i}: expected a file name and 40 values, got {len(parts)} fields"
            )
        files.append(parts[0])
        raw.append(dict(zip(names, parts[1:], strict=True)))
        labels.append(labels_from_celeba(raw[-1], report))
    if int(lines[0]) != len(files):
        report.note("image_count", f"header says {lines[0].strip()}, file lists {len(files)}")

    def table(name: str) -> dict[str, str]:
        path = _find(root, name)
        if path is None:
            return {}
        out = {}
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            parts = line.split()
            if len(parts) == 2:
                out[parts[0]] = parts[1]
            elif parts:
                raise DataError(f"{path}, line {i}: expected 'file value'")
        return out

    partition, identity = table("list_eval_partition.txt"), table("identity_CelebA.txt")
    if not partition:
        report.note("partition", "list_eval_partition.txt missing: every image counted as train")
    files, labels, raw = _finish(files, limit), _finish(labels, limit), _finish(raw, limit)
    return Source(
        name=root.name,
        kind="celeba",
        root=root,
        files=files,
        labels=labels,
        splits=[parse_split(partition.get(f, "0"), report) for f in files],
        identities=[identity.get(f) for f in files],
        read=_file_reader(img_dir),
        fingerprint=_stat_key(attr_path, img_dir) + f"|limit={limit}",
        crop_box=CELEBA_CROP,
        report=report,
        extra={"celeba_attributes": _celeba_matrix(raw)},
    )


def read_fairface(root: Path, limit: int | None = None) -> Source:
    """Official FairFace: train/ and val/ folders + fairface_label_train.csv / fairface_label_val.csv."""
    label_files = sorted(root.glob("fairface_label_*.csv"))
    if not label_files:
        raise DataError(f"{root}: no fairface_label_*.csv")
    report = LabelReport()
    rows, splits = [], []
    for path in label_files:
        part = _read_csv(path, ("file", "age", "gender", "race"))
        split = parse_split(path.stem.removeprefix("fairface_label_"), report)
        rows += part
        splits += [split] * len(part)
    rows, splits = _finish(rows, limit), _finish(splits, limit)
    return Source(
        name=root.name,
        kind="fairface",
        root=root,
        files=[r["file"] for r in rows],
        labels=[labels_from_demographics(r, report) for r in rows],
        splits=splits,
        identities=[None] * len(rows),
        read=_file_reader(root),
        fingerprint=_stat_key(*label_files) + f"|limit={limit}",
        report=report,
    )


def _image_files(root: Path) -> list[Path]:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{root}: no image files ({', '.join(IMAGE_SUFFIXES)}) found")
    return files


def _folder_fingerprint(root: Path, files: list[Path]) -> str:
    h = hashlib.sha1(str(root.resolve()).encode())
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


UTK_NAME = re.compile(r"^(\d+)_(\d+)_(\d+)_")
UTK_RACES = ("White", "Black", "Asian", "Indian", "Others")


def read_utkface(root: Path, limit: int | None = None) -> Source:
    """Official UTKFace: labels live in the file name, `age_gender_race_date.jpg[.chip.jpg]`,
    gender 0 = male, 1 = female, race 0-4 = White, Black, Asian, Indian, Others."""
    paths = _finish(_image_files(root), limit)
    report = LabelReport()
    labels = []
    for p in paths:
        m = UTK_NAME.match(p.name)
        if not m:
            report.note("file_name", p.name)
            labels.append(FaceLabels())
            continue
        age, gender, race = m.groups()
        row = {
            "age": age,
            "gender": {"0": "male", "1": "female"}.get(gender, gender),
            "race": UTK_RACES[int(race)] if int(race) < len(UTK_RACES) else race,
        }
        labels.append(labels_from_demographics(row, report))
    files = [str(p.relative_to(root)) for p in paths]
    return Source(
        name=root.name,
        kind="utkface",
        root=root,
        files=files,
        labels=labels,
        splits=["valid" if _held_out(f) else "train" for f in files],
        identities=[None] * len(files),
        read=_file_reader(root),
        fingerprint=_folder_fingerprint(root, paths),
        report=report,
    )


def read_folder(root: Path, limit: int | None = None, kind: str = "folder") -> Source:
    """Any folder of images (searched recursively), FFHQ's included. No labels beyond pixels.
    FFHQ's official split: images 00000-59999 train, 60000-69999 validation."""
    paths = _finish(_image_files(root), limit)
    files = [str(p.relative_to(root)) for p in paths]
    if kind == "ffhq":
        splits = ["valid" if p.stem.isdigit() and int(p.stem) >= 60000 else "train" for p in paths]
    else:
        splits = ["valid" if _held_out(f) else "train" for f in files]
    return Source(
        name=root.name,
        kind=kind,
        root=root,
        files=files,
        labels=[FaceLabels() for _ in files],
        splits=splits,
        identities=[None] * len(files),
        read=_file_reader(root),
        fingerprint=_folder_fingerprint(root, paths),
    )


def detect_kind(root: Path) -> str:
    if (root / "labels.csv").exists():
        return "pack"
    if _find(root, "list_attr_celeba.txt") is not None:
        return "celeba"
    if any(root.glob("fairface_label_*.csv")):
        return "fairface"
    if "ffhq" in root.name.lower() or (root / "ffhq-dataset-v2.json").exists():
        return "ffhq"
    sample = [p.name for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES][:50]
    if sample and sum(bool(UTK_NAME.match(n)) for n in sample) > len(sample) // 2:
        return "utkface"
    return "folder"


def open_source(name_or_path: str | Path, kind: str | None = None, limit: int | None = None) -> Source:
    """Read any supported dataset layout; `kind` overrides the detection (one of KINDS)."""
    root = find_data(name_or_path)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; a dataset is a folder (a pack, an official layout, images)")
    if limit is not None and limit < 1:
        raise InvalidInput(f"limit must be a positive number of images, got {limit}")
    kind = kind or detect_kind(root)
    if kind not in KINDS:
        raise InvalidInput(f"unknown dataset kind {kind!r}; choose from {', '.join(KINDS)}")
    if kind == "pack":
        return read_pack(root, limit)
    if kind == "celeba":
        return read_celeba(root, limit)
    if kind == "fairface":
        return read_fairface(root, limit)
    if kind == "utkface":
        return read_utkface(root, limit)
    return read_folder(root, limit, kind=kind)
