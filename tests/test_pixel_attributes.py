"""Lighting measured from pixels agrees with what one can see: mirrored faces are lit from the
other side, darkened faces become low-key, desaturated faces black-and-white, tinted faces warm."""

import numpy as np
import pytest
from conftest import synthetic_face

from portraitist.data import load
from portraitist.data.pixel_attributes import LIGHT_SIDE, classify, measure


def test_synthetic_light_direction():
    rng = np.random.default_rng(0)
    left = np.stack([synthetic_face(rng, light=-1) for _ in range(10)])
    right = np.stack([synthetic_face(rng, light=1) for _ in range(10)])
    assert {classify(m).light for m in measure(left)} == {"left"}
    assert {classify(m).light for m in measure(right)} == {"right"}


def test_measure_rejects_wrong_shape():
    with pytest.raises(ValueError, match="expected"):
        measure(np.zeros((4, 64, 64), np.uint8))


@pytest.fixture(scope="module")
def real_faces(shared_data):
    faces = load("celeba64", limit=3000, progress=False)
    return np.asarray(faces.images[:3000])


def test_mirrored_real_faces_flip_their_light_direction(real_faces):
    m, mm = measure(real_faces), measure(real_faces[:, :, ::-1])
    assert np.allclose(m[:, 0], -mm[:, 0], atol=1e-4)
    sided = np.abs(m[:, 0]) > LIGHT_SIDE
    assert sided.sum() > 200  # real data has plenty of side-lit faces
    swap = {"left": "right", "right": "left"}
    before = [classify(r).light for r in m[sided]]
    after = [classify(r).light for r in mm[sided]]
    assert after == [swap[b] for b in before]


def test_real_faces_darkened_become_low_key_and_brightened_high_key(real_faces):
    normal = np.array([classify(r).key == "normal" for r in measure(real_faces)])
    faces = real_faces[normal][:500].astype(np.float32)
    dark = measure((faces * 0.4).astype(np.uint8))
    bright = measure(np.clip(faces * 0.4 + 160, 0, 255).astype(np.uint8))
    assert np.mean([classify(r).key == "low" for r in dark]) > 0.95
    assert np.mean([classify(r).key == "high" for r in bright]) > 0.95


def test_real_faces_desaturated_become_monochrome(real_faces):
    grey = real_faces[:500].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    grey = np.repeat(grey[..., None], 3, axis=-1).astype(np.uint8)
    assert all(classify(r).monochrome for r in measure(grey))
    assert np.mean([classify(r).monochrome for r in measure(real_faces)]) < 0.01


def test_real_faces_tinted_orange_become_warm_and_blue_become_cool(real_faces):
    faces = real_faces[:500].astype(np.float32)
    warm = np.clip(faces * np.array([1.25, 1.0, 0.7]), 0, 255).astype(np.uint8)
    cool = np.clip(faces * np.array([0.75, 1.0, 1.3]), 0, 255).astype(np.uint8)
    base = measure(real_faces[:500])[:, 1]
    assert (measure(warm)[:, 1] > base).all() and (measure(cool)[:, 1] < base).all()
    assert np.mean([classify(r).temperature == "warm" for r in measure(warm)]) > 0.8
    assert np.mean([classify(r).temperature == "cool" for r in measure(cool)]) > 0.8
