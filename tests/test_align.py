"""Face alignment onto CelebA-64's framing: real faces (the packs), a user's folder of photos of any
size and tilt, and the files it cannot align, which are listed with the reason."""

from __future__ import annotations

import csv

import numpy as np
from PIL import Image

from portraitist.data import load
from portraitist.data.align import TEMPLATE_64, align_face, align_source, find_landmarks


def test_a_pack_aligns_onto_the_template_and_keeps_its_labels(shared_data, tmp_path):
    report = align_source("fairface64", tmp_path / "a", limit=120, progress=False)
    assert report.aligned >= 110 and report.aligned + len(report.not_aligned) == 120
    aligned = load(tmp_path / "a", progress=False)
    assert len(aligned) == report.aligned and {lab.race for lab in aligned.labels} - {None}
    before = load("fairface64", progress=False, limit=120)

    def distance(faces) -> float:  # mean landmark distance to the template, px at 64 px
        found = [find_landmarks(img) for img in np.asarray(faces.images[faces.index[:60]])]
        return float(
            np.mean([np.linalg.norm(f[1] - TEMPLATE_64, axis=1).mean() for f in found if f is not None])
        )

    # measured: FairFace 6.6 px before, 4.0 after; CelebA's own faces 2.5 (YuNet's noise at 64 px)
    assert distance(aligned) < 0.75 * distance(before)


def test_a_folder_of_photos_of_any_size_and_tilt(shared_data, tmp_path):
    face = np.asarray(load("celeba64", progress=False).filter(split="valid").images[0])
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(face).resize((300, 300), Image.Resampling.BICUBIC).rotate(
        20, fillcolor=(90, 90, 90)
    ).save(photos / "tilted.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)).save(
        photos / "noise.png"
    )
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    report = align_source(photos, tmp_path / "out", progress=False)
    assert report.aligned == 1
    why = dict(report.not_aligned)
    assert why["noise.png"] == "no face found" and why["broken.jpg"].startswith("unreadable")
    with open(tmp_path / "out" / "not_aligned.csv") as f:
        assert {r["file"] for r in csv.DictReader(f)} == {"noise.png", "broken.jpg"}
    aligned = np.asarray(load(tmp_path / "out", progress=False).images[0])
    points = find_landmarks(aligned)[1]
    assert abs(points[0, 1] - points[1, 1]) < 2.0  # the tilt is gone: the eyes are level


def test_align_face_maps_landmarks_onto_the_template_exactly():
    rng = np.random.default_rng(1)
    angle, scale, shift = 0.3, 2.5, np.array([40.0, 25.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = (TEMPLATE_64 @ rot.T + shift).astype(np.float32)
    image = rng.integers(0, 255, (256, 256, 3), np.uint8)
    assert align_face(image, points, 64).shape == (64, 64, 3)
    from portraitist.data.align import similarity

    matrix = similarity(points.astype(np.float64), TEMPLATE_64.astype(np.float64))
    mapped = points @ matrix[:, :2].T + matrix[:, 2]
    assert np.abs(mapped - TEMPLATE_64).max() < 1e-2
