"""Views, balanced sampling, weighted mixtures and flips behave as their names promise."""

from collections import Counter

import numpy as np
import pytest

from portraitist.data import Balanced, Mixture, flip_horizontal, load, to_tensor


@pytest.fixture
def faces(demographic_pack):
    return load(demographic_pack, progress=False)


def test_filter_by_split_and_labels(faces):
    assert len(faces) == 30
    assert faces.split_counts() == {"train": 24, "valid": 6}
    women = faces.filter(split="train", gender="female")
    assert len(women) == 12
    assert all(faces.labels[r].gender == "female" and faces.splits[r] == "train" for r in women.index)
    young = faces.filter(where=lambda lab: lab.age is not None and lab.age < 30)
    assert len(young) == 30
    assert len(faces.filter(smiling=True)) == 0  # unknown is never equal to a value


def test_filter_rejects_unknown_names(faces):
    with pytest.raises(ValueError, match="unknown label"):
        faces.filter(haircolor="red")
    with pytest.raises(ValueError, match="unknown split"):
        faces.filter(split="training")


def test_balanced_subset_has_equal_groups(faces):
    skewed = faces.filter(where=lambda lab: not (lab.race == "black" and lab.gender == "male"))
    assert Counter(skewed.histogram("race").values()) == Counter({10: 2, 5: 1})
    fair = skewed.balanced("race", seed=1)
    assert set(fair.histogram("race").values()) == {5}
    with pytest.raises(ValueError, match="only 5"):
        skewed.balanced("race", per_group=6)


def test_balanced_sampler_draws_groups_equally(faces):
    skewed = faces.filter(where=lambda lab: not (lab.race == "black" and lab.gender == "male"))
    _, labels = Balanced(skewed, "race").sample(6000, np.random.default_rng(0))
    share = Counter(lab.race for lab in labels)
    assert all(abs(n / 6000 - 1 / 3) < 0.03 for n in share.values())


def test_mixture_follows_weights(faces):
    men, women = faces.filter(gender="male"), faces.filter(gender="female")
    mix = Mixture([men, women], [3, 1])
    images, labels = mix.sample(4000, np.random.default_rng(0))
    assert images.shape == (4000, 64, 64, 3)
    share = sum(lab.gender == "male" for lab in labels) / 4000
    assert abs(share - 0.75) < 0.03
    with pytest.raises(ValueError, match="non-negative"):
        Mixture([men, women], [1, -1])


def test_flip_mirrors_pixels_and_light_labels(faces):
    images, labels = faces.sample(30, np.random.default_rng(0))
    flipped, flabels = flip_horizontal(images, labels)
    assert np.array_equal(flipped, images[:, :, ::-1])
    swap = {"left": "right", "right": "left", "frontal": "frontal"}
    assert [lab.light for lab in flabels] == [swap[lab.light] for lab in labels]
    assert {lab.light for lab in labels} >= {"left", "right"}


def test_sample_with_flip_keeps_labels_consistent_with_pixels(faces):
    from portraitist.data.pixel_attributes import classify, measure

    images, labels = faces.sample(200, np.random.default_rng(0), flip=True)
    measured = [classify(m).light for m in measure(images)]
    assert measured == [lab.light for lab in labels]


def test_epoch_visits_every_face_once(faces):
    seen = []
    for images, labels in faces.filter(split="train").batches(7, seed=3):
        assert len(images) == len(labels) <= 7
        seen += [img.tobytes() for img in images]
    assert len(seen) == 24 and len(set(seen)) == 24


def test_to_tensor_range_and_layout(faces):
    t = to_tensor(faces.sample(4, np.random.default_rng(0))[0])
    assert tuple(t.shape) == (4, 3, 64, 64)
    assert float(t.min()) >= -1.0 and float(t.max()) <= 1.0
