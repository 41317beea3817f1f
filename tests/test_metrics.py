"""Set metrics on synthetic features: orderings that must hold whatever the feature space."""

import numpy as np
import pytest

from portraitist.evaluation import metrics
from portraitist.evaluation.memorisation import memorisation, nearest_two, small


@pytest.fixture
def gauss():
    rng = np.random.default_rng(0)
    return lambda n, shift=0.0, scale=1.0: rng.normal(shift, scale, (n, 16)).astype(np.float32)


def test_frechet_distance_is_zero_for_the_same_set_and_grows_with_shift(gauss):
    a = gauss(2000)
    assert metrics.frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    near, far = metrics.frechet_distance(a, gauss(2000, 0.1)), metrics.frechet_distance(a, gauss(2000, 1.0))
    assert near < far
    assert far == pytest.approx(16.0, rel=0.1)  # ||mu||^2 = 16 * 1^2, equal covariances


def test_frechet_distance_matches_closed_form_for_scaled_gaussians(gauss):
    # N(0, I) vs N(0, 4I) in 16-d: Tr(I + 4I - 2*2I) = 16
    assert metrics.frechet_distance(gauss(20000), gauss(20000, scale=2.0)) == pytest.approx(16.0, rel=0.05)


def test_kid_near_zero_for_same_distribution_and_positive_otherwise(gauss):
    same = metrics.kid(gauss(1000), gauss(1000), subsets=10, subset_size=500)
    diff = metrics.kid(gauss(1000), gauss(1000, 0.5), subsets=10, subset_size=500)
    assert abs(same) < 0.01 < diff


def test_precision_recall_orderings(gauss):
    real = gauss(1000)
    p, r = metrics.precision_recall(real, gauss(1000))
    assert p > 0.7 and r > 0.7
    p, r = metrics.precision_recall(real, gauss(1000, 10.0))
    assert p == 0 and r == 0
    collapsed = np.repeat(gauss(1), 1000, axis=0) + gauss(1000, scale=0.01)
    p, r = metrics.precision_recall(real, collapsed)
    assert p > 0.9 and r < 0.05  # realistic but covers nothing: the signature of mode collapse


def test_mode_collapse_score(gauss):
    real = gauss(500)
    assert metrics.mode_collapse_score(gauss(500), real) < 0.05
    assert metrics.mode_collapse_score(np.repeat(gauss(1), 500, axis=0), real) == pytest.approx(1.0, abs=1e-3)


def test_near_duplicates_need_same_identity_and_same_pixels():
    rng = np.random.default_rng(0)
    ident = rng.normal(size=(6, 8))
    ident /= np.linalg.norm(ident, axis=1, keepdims=True)
    ident[1] = ident[0]
    ident[3] = ident[2]
    pixels = rng.integers(0, 255, (6, 8, 8, 3), dtype=np.uint8)
    pixels[1] = pixels[0]  # same person, same picture
    assert metrics.near_duplicate_pairs(ident, pixels, 0.9, 0.05) == [(0, 1)]


def test_nearest_two_matches_brute_force():
    rng = np.random.default_rng(0)
    q, pool = rng.random((20, 12), np.float32), rng.random((5000, 12), np.float32)
    dist, idx = nearest_two(q, pool, chunk=777)
    full = np.sqrt(((q[:, None] - pool[None]) ** 2).sum(-1) / 12)
    assert np.array_equal(idx, full.argmin(1))
    assert np.allclose(dist, np.sort(full, 1)[:, :2], atol=1e-4)


def test_memorised_copies_fail_the_ratio_test_and_fresh_faces_pass():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 255, (300, 64, 64, 3), dtype=np.uint8)
    ident = rng.normal(size=(300, 64)).astype(np.float32)
    ident /= np.linalg.norm(ident, axis=1, keepdims=True)
    copies = train[:20].copy()
    fresh = rng.integers(0, 255, (20, 64, 64, 3), dtype=np.uint8)
    found = np.ones(300, bool)
    m = memorisation(copies, ident[:20], np.ones(20, bool), small(train), ident, found, 0.9)
    assert m.summary()["ratio_test_fail_rate"] == 1.0 and m.summary()["identity_match_rate"] == 1.0
    assert [j for _, j, _ in m.closest_pairs(3)] == [i for i, _, _ in m.closest_pairs(3)]
    fresh_ident = rng.normal(size=(20, 64)).astype(np.float32)
    fresh_ident /= np.linalg.norm(fresh_ident, axis=1, keepdims=True)
    m = memorisation(fresh, fresh_ident, np.ones(20, bool), small(train), ident, found, 0.9)
    assert m.summary()["ratio_test_fail_rate"] == 0.0 and m.summary()["identity_match_rate"] == 0.0


def test_too_few_samples_is_a_clear_error(gauss):
    with pytest.raises(ValueError, match="at least two"):
        metrics.frechet_distance(gauss(1), gauss(10))
    with pytest.raises(ValueError, match="more than 3"):
        metrics.precision_recall(gauss(3), gauss(10))
