"""The instruments rank sets of faces as they must: held-out real photos at the ceiling; blur,
noise, one face repeated and copied training faces clearly worse on the metrics meant to catch them."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from portraitist.evaluation.adherence import requested
from portraitist.evaluation.evaluate import EvalConfig, ImageSet, evaluate, metric, reference_set
from portraitist.evaluation.report import write_report

N = 120


@pytest.fixture(scope="module")
def config():
    return EvalConfig(ref="celeba64", ref_limit=300, train="celeba64", train_limit=600, balanced_per_group=15)


@pytest.fixture(scope="module")
def sets(shared_data, instruments):
    from portraitist.data import load

    faces = load("celeba64", progress=False)
    valid = faces.filter(split="valid")
    ref_rows = set(reference_set("celeba64", 300).index.tolist())
    held = [r for r in valid.index if r not in ref_rows][:N]
    real = np.asarray(faces.images[held])
    train = faces.filter(split="train")
    rng = np.random.default_rng(0)
    train_subset = np.sort(
        rng.choice(train.index, 600, replace=False)
    )  # the rows EvalConfig's train_limit picks
    return {
        "real": (real, [faces.labels[r] for r in held]),
        "blurred": np.stack([cv2.GaussianBlur(img, (0, 0), 1.5) for img in real]),
        "noise": rng.integers(0, 255, (N, 64, 64, 3), dtype=np.uint8),
        "repeated": np.repeat(real[:1], N, axis=0),
        "copied": np.asarray(faces.images[train_subset[:N]]),
    }


@pytest.fixture(scope="module")
def results(sets, config):
    out = {}
    real, labels = sets["real"]
    prompts = [f"portrait of a {'man' if lab.gender == 'male' else 'woman'}" for lab in labels]
    out["real"] = evaluate(ImageSet("real", real, prompts, [""] * N), config)
    for name in ("blurred", "noise", "repeated", "copied"):
        out[name] = evaluate(ImageSet(name, sets[name]), config)
    return out


def score(results, name, key):
    return metric(results[name][0]["set"], key)


def test_a_score_is_found_by_its_name_without_the_sample_count():
    scores = {"fd_effnet_1k": 70.0, "fd_sface_1k": 9.0, "precision_effnet_1k": 0.6,
              "identity_diversity": 0.9, "identity_diversity_real": 0.95}  # fmt: skip
    assert metric(scores, "fd_effnet") == 70.0 and metric(scores, "precision") == 0.6
    assert metric(scores, "identity_diversity") == 0.9  # the exact name before longer ones
    with pytest.raises(KeyError, match="2 scores named fd"):
        metric(scores, "fd")  # fd_effnet or fd_sface: ambiguous
    with pytest.raises(KeyError, match="0 scores named recall"):
        metric(scores, "recall")


@pytest.mark.slow
def test_real_photos_score_at_the_ceiling(results):
    r = results["real"][0]
    assert r["qa"]["face_rate"] >= 0.98
    assert score(results, "real", "precision_effnet") > 0.6 and score(results, "real", "recall_effnet") > 0.5
    assert r["set"]["mode_collapse_score"] < 0.1 and r["set"]["near_duplicate_pairs"] == 0


@pytest.mark.slow
def test_degraded_sets_score_clearly_worse_on_realism(results):
    real = score(results, "real", "fd_effnet")
    for name in ("blurred", "noise", "repeated"):
        assert score(results, name, "fd_effnet") > 2 * real, name


@pytest.mark.slow
def test_noise_has_no_faces_and_blur_is_not_sharp(results):
    assert results["noise"][0]["qa"]["face_rate"] <= 0.05
    assert results["blurred"][0]["qa"]["sharp_rate"] < 0.3 < results["real"][0]["qa"]["sharp_rate"]


@pytest.mark.slow
def test_one_face_repeated_is_caught_as_collapse(results):
    s = results["repeated"][0]["set"]
    assert s["mode_collapse_score"] > 0.9
    assert s["near_duplicate_rate"] == 1.0
    assert score(results, "repeated", "recall_effnet") < 0.05
    assert s["identity_diversity"] < 0.05 < results["real"][0]["set"]["identity_diversity"]


@pytest.mark.slow
def test_copied_training_faces_are_caught_as_memorised(results):
    copied = results["copied"][0]["memorisation"]["samples"]
    real = results["real"][0]["memorisation"]["samples"]
    assert copied["identity_match_rate"] > 0.95 and copied["ratio_test_fail_rate"] > 0.95
    assert copied["identity_copy_rate"] > 0.9
    assert real["ratio_test_fail_rate"] < 0.05 and real["identity_copy_rate"] < 0.1


@pytest.mark.slow
def test_adherence_of_real_photos_to_their_own_labels(results):
    adh = results["real"][0]["adherence"]
    assert adh["checked"] == N
    assert adh["overall"] > 0.85


@pytest.mark.slow
def test_bias_audit_reports_every_group(results):
    b = results["real"][0]["bias"]
    assert abs(sum(b["samples"]["skin_tone_ita"].values()) - 1) < 0.05
    assert set(b["per_group_quality"]) == set(b["samples"]["race_groups"]) - {"uncertain"}
    assert 0 <= b["race_groups_gap_to_balanced"] <= 1
    assert "training_data" in b  # CelebA's skew is measured against FairFace's balance


@pytest.mark.slow
def test_report_is_self_contained_html_and_json(results, tmp_path):
    res, art = results["real"]
    json_path, html_path = write_report(res, art, tmp_path)
    page = html_path.read_text()
    for section in (
        "Set metrics",
        "Memorisation",
        "Attribute adherence",
        "Per-group quality",
        "data:image/png;base64",
    ):
        assert section in page
    assert "src='http" not in page
    assert json.loads(json_path.read_text())["n"] == N


@pytest.mark.parametrize(
    "prompt,negative,expected",
    [
        (
            "close-up portrait of a smiling woman with blond hair",
            "",
            {"gender": "female", "smiling": True, "hair": "blond"},
        ),
        ("photo of an elderly man wearing glasses", "", {"gender": "male", "age": "old", "eyeglasses": True}),
        (
            "portrait of a man, 34 years old, without glasses",
            "",
            {"gender": "male", "age": "young", "eyeglasses": False},
        ),
        (
            "portrait of a young woman",
            "eyeglasses, smiling",
            {"gender": "female", "age": "young", "eyeglasses": False, "smiling": False},
        ),
        ("a serious person with black hair", "", {"smiling": False, "hair": "black"}),
    ],
)
def test_prompts_are_read_for_checkable_attributes(prompt, negative, expected):
    assert requested(prompt, negative) == expected


@pytest.mark.slow
def test_evaluate_cli_on_generated_pngs(shared_data, instruments, sets, tmp_path):
    from PIL import Image

    from portraitist.png import save_png

    real, labels = sets["real"]
    folder = tmp_path / "samples"
    for i, img in enumerate(real[:30]):
        prompt = f"portrait of a {'man' if labels[i].gender == 'male' else 'woman'}"
        save_png(Image.fromarray(img), folder / f"{i:03d}.png", {"prompt": prompt, "seed": i})
    out = tmp_path / "report"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "portraitist.cli",
            "evaluate",
            str(folder),
            "--ref-limit",
            "300",
            "--no-bias",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "face rate" in proc.stdout
    data = json.loads((out / "metrics.json").read_text())
    assert data["n"] == 30 and data["adherence"]["checked"] == 30
    assert (out / "report.html").stat().st_size > 10000


@pytest.mark.slow
def test_too_few_samples_is_a_clear_error(shared_data, instruments, config):
    with pytest.raises(ValueError, match="too few"):
        evaluate(ImageSet("tiny", np.zeros((3, 64, 64, 3), np.uint8)), config)
