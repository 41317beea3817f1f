"""The packs in ../shared/data read as their README describes."""

import pytest

from portraitist.data import load, open_source


@pytest.mark.parametrize(
    "pack,count,kind,splits",
    [
        ("celeba64", 42075, "celeba", {"train": 37540, "valid": 4535}),
        ("fairface64", 40000, "fairface", {"train": 36052, "valid": 3948}),
        ("utkface64", 20218, "utkface", None),
    ],
)
@pytest.mark.slow
def test_pack_counts_and_splits(shared_data, pack, count, kind, splits):
    src = open_source(pack)
    assert len(src) == count and src.kind == kind
    assert src.report.summary() == "all label values recognised"
    if splits:
        assert {s: src.splits.count(s) for s in set(src.splits)} == splits


@pytest.mark.slow
def test_celeba_label_mapping_matches_the_raw_columns(shared_data):
    import csv

    with open(shared_data / "celeba64" / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))[:2000]
    src = open_source("celeba64", limit=2000)
    for row, lab in zip(rows, src.labels, strict=True):
        assert lab.gender == ("male" if row["Male"] == "1" else "female")
        assert lab.smiling == (row["Smiling"] == "1")
        assert lab.eyeglasses == (row["Eyeglasses"] == "1")
        if row["Blond_Hair"] == "1" and row["Black_Hair"] == row["Brown_Hair"] == row["Gray_Hair"] == "0":
            assert lab.hair_colour == "blond"
        assert lab.race is None and lab.age_low is None  # CelebA labels neither


@pytest.mark.slow
def test_fairface_is_balanced_and_celeba_is_not(shared_data):
    fair = load("fairface64", limit=4000, progress=False).histogram("race")
    shares = [n / 4000 for n in fair.values()]
    assert len(fair) == 7 and max(shares) < 0.25 and min(shares) > 0.08
    celeba = load("celeba64", limit=4000, progress=False)
    assert celeba.histogram("pale_skin")[True] / 4000 < 0.1  # the README's known skew, measured
