"""The QA's plausibility check: corruptions that imitate malformed faces, the trainer, the shipped
net's scores, and its place in the per-face verdict."""

import dataclasses

import numpy as np
import pytest
import torch

from portraitist.checkpoints import load_exported
from portraitist.data import to_tensor
from portraitist.errors import InvalidInput
from portraitist.quality.analysis import FaceMeasures
from portraitist.quality.calibrate import auc
from portraitist.quality.checks import calibration, malformation, verdicts
from portraitist.quality.plausibility import jpeg_roundtrip
from portraitist.training.corruptions import CORRUPTIONS, corrupt, soft_region
from portraitist.training.plausibility import generated_faces


def faces(n=16, seed=0):
    """Smooth random images: structure the corruptions can move."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (n, 8, 8, 3), dtype=np.uint8)
    return to_tensor(np.stack([np.kron(s, np.ones((8, 8, 1), np.uint8)) for s in small]))


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_each_corruption_changes_the_middle_and_keeps_the_frame(name):
    x = faces()
    y = CORRUPTIONS[name](x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    middle = (y - x)[..., 20:44, 20:44].abs().mean()
    corners = (y - x)[..., :6, :6].abs().mean()
    assert middle > 0.02 and corners < middle / 4
    again = CORRUPTIONS[name](x, torch.Generator().manual_seed(0))
    assert torch.equal(y, again)  # seeded: a training run repeats


def test_corrupt_applies_at_least_one_corruption_to_every_face():
    x = faces(32)
    y = corrupt(x, torch.Generator().manual_seed(1))
    assert ((y - x).abs().flatten(1).amax(1) > 0.05).all()


def test_soft_region_is_a_feathered_blob_in_the_middle():
    m = soft_region(64, 64, torch.Generator().manual_seed(2))
    assert m.shape == (64, 1, 64, 64) and m.min() >= 0 and m.max() <= 1
    assert m[..., 24:40, 24:40].mean() > 5 * m[..., :4, :4].mean()


def test_jpeg_roundtrip_keeps_shape_and_roughly_the_pixels():
    img = (faces(4).permute(0, 2, 3, 1).add(1).mul(127.5)).byte().numpy()
    out = jpeg_roundtrip(img, np.array([70, 80, 90, 95]))
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - img).mean() < 12


def test_an_unknown_negative_source_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInput, match="not a model name"):
        generated_faces(str(tmp_path / "nowhere.safetensors"), 4)


def test_a_text_conditioned_gan_makes_its_negatives_under_caption_prompts(shared_data):
    from portraitist.paths import WEIGHTS_DIR
    from portraitist.pipelines.face_gan import FaceGAN
    from portraitist.training.plausibility import _caption_prompts

    faces = generated_faces("face-gan-text", 3, limit=200)
    gan = FaceGAN.from_pretrained(WEIGHTS_DIR / "face_gan_text.safetensors")
    seeds, prompts = [7_000_000, 7_000_001, 7_000_002], _caption_prompts(3, 0, 200)
    assert len(set(prompts)) == 3  # each face its own caption
    assert np.array_equal(
        faces, np.concatenate([gan.generate([s], 0.85, p) for s, p in zip(seeds, prompts, strict=True)])
    )
    assert not np.array_equal(faces, gan.generate(seeds, 0.85))  # not the vague prompt's faces
    again = generated_faces("face-gan-text", 3, limit=200)  # from the cache, keyed by the weights' bytes
    assert np.array_equal(again, faces)


def _measures(n, **values):
    base = {f.name: np.full(n, np.nan, np.float32) for f in dataclasses.fields(FaceMeasures)}
    base.update(face_score=np.full(n, 0.9), mesh_found=np.ones(n), iris_ratio=np.ones(n), openness_ratio=np.ones(n),
                gaze_diff=np.zeros(n), asymmetry=np.zeros(n), sharpness=np.ones(n), mouth_open=np.zeros(n))  # fmt: skip
    base["embedding"] = np.zeros((n, 128), np.float32)
    base.update({k: np.asarray(v, np.float32) for k, v in values.items()})
    return FaceMeasures(**base)


def test_the_verdict_flags_an_implausible_face_and_says_why():
    model = calibration()["verdict_thresholds"]["malformation"]
    assert model["weights"]["plausibility"] < 0 and model["weights"]["face_score"] < 0  # lower is worse
    m = _measures(2, plausibility=[10, -60], face_score=[0.95, 0.75])
    good, bad = verdicts(m)
    assert good.passed and good.well_formed
    assert not bad.passed and not bad.well_formed
    score = malformation(m.row(1), model)
    assert score > 0 > malformation(m.row(0), model)
    assert bad.reasons == (f"malformed face (score {score:+.1f} > 0: plausibility -60.0, detector 0.75)",)
    assert bad.as_dict()["well_formed"] is False
    # the evaluation's population rate: plausibility alone, at real faces' 5th percentile
    line = calibration()["thresholds"]["plausibility"]
    m = _measures(2, plausibility=[line + 1, line - 1])
    assert [v.well_formed for v in verdicts(m, calibration()["thresholds"])] == [True, False]


def test_the_calibration_records_how_often_real_faces_pass_the_verdict():
    cal = calibration()
    assert set(cal["verdict_thresholds"]) == set(cal["thresholds"]) - {"plausibility"} | {"malformation"}
    measured = cal["measured_on"]
    assert 0.94 <= measured["verdict_pass_rate"] <= 0.96
    assert measured["verdict_pass_rate_held_out"] >= 0.93 and measured["held_out_images"] >= 3000


def test_the_shipped_net_is_ours_and_documents_its_recipe():
    from portraitist.paths import PLAUSIBILITY_WEIGHTS

    tensors, meta = load_exported(
        PLAUSIBILITY_WEIGHTS, "plausibility", "plausibility weights", "plausibility"
    )
    assert meta["config"] == {"width": 16} and meta["images"] > 100_000
    assert "negatives_from" in meta["recipe"]
    assert PLAUSIBILITY_WEIGHTS.stat().st_size < 2_000_000


def test_real_faces_score_above_the_same_faces_broken(real_valid):
    from portraitist.quality.plausibility import plausibility

    real = real_valid[0][:200]
    broken = corrupt(to_tensor(real), torch.Generator().manual_seed(3))
    broken = ((broken.permute(0, 2, 3, 1) + 1) * 127.5).round().byte().numpy()
    p_real, p_broken = plausibility(real), plausibility(broken)
    auc = (p_real[:, None] > p_broken[None]).mean()
    assert auc > 0.9, auc
    # other sizes are scored at 64 px
    big = np.stack([np.kron(f, np.ones((2, 2, 1), np.uint8)) for f in real[:4]])
    assert np.allclose(plausibility(big), p_real[:4], atol=1.0)  # log-odds


@pytest.mark.slow
def test_the_trainer_learns_from_corruptions_and_a_folder_of_rejects(shared_data, tmp_path):
    from PIL import Image

    from portraitist.training.plausibility import main

    rejects = tmp_path / "rejects"
    rejects.mkdir()
    for i, f in enumerate(faces(6)):
        Image.fromarray(((f.permute(1, 2, 0) + 1) * 127.5).byte().numpy()).save(rejects / f"{i}.png")
    out = tmp_path / "run"
    result = main(["--steps", "3", "--batch", "8", "--limit", "200", "--negatives-from", str(rejects),
                   "--out", str(out), "--export", str(tmp_path / "p.safetensors")])  # fmt: skip
    assert result["step"] == 3 and result["images"] == 3 * 16
    tensors, meta = load_exported(
        tmp_path / "p.safetensors", "plausibility", "plausibility weights", "plausibility"
    )
    assert all(t.dtype == torch.float16 for t in tensors.values() if t.is_floating_point())
    resumed = main(["--steps", "4", "--batch", "8", "--limit", "200", "--negatives-from", "", "--out", str(out),
                    "--resume"])  # fmt: skip
    assert resumed["step"] == 4


def test_the_line_for_malformed_faces_is_where_labelled_faces_separate_best():
    from portraitist.quality.calibrate import auc, best_line

    scores = np.array([30.0, 25, 22, 19, 12, 8, 5, 3])
    malformed = np.array([True, True, True, False, False, True, False, False])
    assert best_line(scores, malformed) == pytest.approx(20.5)  # flags 3 of 4 malformed, no well-formed face
    assert best_line(np.array([-1.0, 1.0]), np.array([False, True])) == 0.0
    assert auc(scores, malformed) == pytest.approx(14 / 16)  # 2 of the 16 pairs in the wrong order
    assert auc(np.array([1.0, 1.0]), np.array([True, False])) == 0.5


def test_the_malformation_score_weighs_the_measures_that_tell_malformed_faces_apart():
    from portraitist.quality.calibrate import malformation_model

    rng = np.random.default_rng(0)
    malformed = np.arange(200) < 80
    # malformed faces: lower plausibility and detector confidence, each overlapping the well-formed;
    # the embedding is noise here
    plaus = np.where(malformed, -25, -10) + rng.normal(0, 8, 200)
    face = np.where(malformed, 0.88, 0.93) + rng.normal(0, 0.03, 200)
    m = _measures(200, plausibility=plaus, face_score=face, embedding=unit(rng.normal(size=(200, 128))))
    model = malformation_model(m, malformed)
    assert model["weights"]["plausibility"] < 0 and model["weights"]["face_score"] < 0
    flagged = np.array([malformation(m.row(i), model) > 0 for i in range(200)])
    both = np.mean(flagged[malformed]) - np.mean(flagged[~malformed])

    def separation(x):  # the best any line on one measure alone does
        best = [np.mean(x[malformed] < t) - np.mean(x[~malformed] < t) for t in np.unique(x)]
        return max(best)

    assert both > max(separation(plaus), separation(face)) + 0.05
    assert model == malformation_model(m, malformed)  # deterministic


def unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_the_malformation_score_finds_where_malformed_faces_gather_in_identity_space():
    """Where plausibility says nothing (or the opposite), the embedding carries the score; real
    anchors keep real faces, which lie elsewhere, on the well-formed side."""
    from portraitist.quality.calibrate import malformation_model

    rng = np.random.default_rng(1)
    malformed = np.arange(300) < 150
    towards = unit(rng.normal(size=(1, 128)))[0]
    emb = unit(rng.normal(size=(300, 128)) + 2.5 * np.outer(malformed, towards))
    # plausibility a little the wrong way round, as on one GAN
    plaus = np.where(malformed, -12, -13) + rng.normal(0, 3, 300)
    m = _measures(300, plausibility=plaus, face_score=np.full(300, 0.92), embedding=emb)
    real = _measures(100, plausibility=rng.normal(5, 2, 100), face_score=np.full(100, 0.95),
                     embedding=unit(rng.normal(size=(100, 128)) - 2.5 * towards))  # fmt: skip
    model = malformation_model(m, malformed, real=real)
    assert len(model["embedding"]) == 128 and np.dot(model["embedding"], towards) > 0
    score = np.array([malformation(m.row(i), model) for i in range(300)])
    assert auc(score, malformed) > 0.95
    assert all(malformation(real.row(i), model) <= 0 for i in range(100))
    without_embedding = {**model, "embedding": [0.0] * 128}
    assert auc(np.array([malformation(m.row(i), without_embedding) for i in range(300)]), malformed) < 0.7


def test_the_verdict_lines_are_set_on_real_faces_the_score_was_not_fitted_to():
    """The score's real anchors are fitted as well-formed, so the lines that aim at a share of real
    faces are set on the others; the aim and the score's cap on real faces are kept."""
    from portraitist.quality.calibrate import (
        REAL_ANCHORS,
        fit_malformation,
        malformation_model,
        verdict_thresholds,
    )

    rng = np.random.default_rng(2)
    n = 1500
    real = _measures(n, plausibility=rng.normal(5, 3, n), face_score=rng.uniform(0.85, 0.99, n),
                     embedding=unit(rng.normal(size=(n, 128))), sharpness=rng.uniform(0.05, 0.5, n),
                     iris_ratio=rng.uniform(0.6, 1, n), openness_ratio=rng.uniform(0.3, 1, n),
                     gaze_diff=rng.uniform(0, 1, n), asymmetry=rng.uniform(0, 0.3, n))  # fmt: skip
    malformed = np.arange(200) < 100
    labelled = _measures(200, plausibility=np.where(malformed, -20, 0) + rng.normal(0, 6, 200),
                         face_score=np.full(200, 0.9), embedding=unit(rng.normal(size=(200, 128))))  # fmt: skip
    score, rest = fit_malformation(real, (labelled, malformed))
    assert len(rest) == n - REAL_ANCHORS
    kept = {tuple(e) for e in rest.embedding}
    left_out = np.array([i for i in range(n) if tuple(real.embedding[i]) not in kept])
    assert len(left_out) == REAL_ANCHORS  # the rows left out are the ones the score took as anchors:
    assert malformation_model(labelled, malformed, real=real.subset(left_out)) == score
    assert fit_malformation(real, (labelled, malformed))[0] == score  # deterministic
    for aim, cap in ((0.96, 0.015), (0.9, 0.01)):
        t = verdict_thresholds(rest, {"face_score": 0.6}, score, pass_rate=aim, real_fail=cap)
        passed = np.mean([v.passed for v in verdicts(rest, t)])
        assert aim - 0.005 <= passed <= aim + 0.005
        by_score = [malformation(rest.row(i), t["malformation"]) > 0 for i in range(len(rest))]
        assert np.mean(by_score) <= cap + 1e-9


def test_each_held_out_sheet_is_reported_on_its_own():
    from portraitist.quality.calibrate import per_sheet

    sheets = [({"model": model, "first_seed": s, "count": 2, "use": use}, np.zeros((2, 64, 64, 3), np.uint8), None)
              for model, s, use in (("a", 0, "test"), ("a", 2, "fit"), ("b", 0, "test"))]  # fmt: skip
    m = _measures(4, plausibility=[10, -60, -60, -60], face_score=[0.95, 0.75, 0.75, 0.75])
    malformed = np.array([False, True, False, True])
    report = per_sheet(sheets, "test", m, malformed, calibration()["verdict_thresholds"])
    assert list(report) == ["a 0-1", "b 0-1"]  # each model's sheets apart
    assert report["a 0-1"]["malformed_flagged"] == 1 and report["a 0-1"]["well_formed_flagged"] == 0
    assert report["b 0-1"]["malformed_flagged"] == 1 and report["b 0-1"]["well_formed_flagged"] == 1


def test_labelled_sheets_are_regenerated_per_model_and_refused_for_other_weights(tmp_path):
    import hashlib
    import json

    from portraitist.api import generate
    from portraitist.errors import CheckpointError
    from portraitist.paths import WEIGHTS_DIR
    from portraitist.quality.calibrate import labelled_faces

    sha = hashlib.sha256((WEIGHTS_DIR / "face_gan_text.safetensors").read_bytes()).hexdigest()
    sheet = {"first_seed": 5, "count": 3, "use": "fit", "malformed": [6]}
    labels = {"model": "face-gan-text", "weights_sha256": sha, "prompt": "a man", "sheets": [sheet]}
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({"sets": [labels]}))
    [(info, faces, malformed)] = labelled_faces(path)
    assert info["model"] == "face-gan-text" and malformed.tolist() == [False, True, False]
    expected = generate("a man", seed=5, num_images=3, model="face-gan-text", reroll=0)
    assert np.array_equal(faces, np.stack([np.asarray(f) for f in expected]))
    path.write_text(json.dumps({"sets": [{**labels, "weights_sha256": "0" * 64}]}))
    with pytest.raises(CheckpointError, match="other weights than face_gan_text.safetensors"):
        labelled_faces(path)


def test_the_malformation_line_never_flags_more_than_its_share_of_real_faces():
    """A score that would flag most real faces has its line raised to MALFORMATION_REAL_FAIL of
    them; one that flags few keeps its own line."""
    from portraitist.quality.calibrate import MALFORMATION_REAL_FAIL, verdict_thresholds

    n = 400
    m = _measures(n, plausibility=np.linspace(-5, 5, n))
    metric = {"face_score": 0.6}
    eager = {"weights": {"plausibility": -1.0, "face_score": 0.0}, "embedding": [0.0] * 128, "bias": 3.0}
    raised = verdict_thresholds(m, metric, eager)["malformation"]
    flagged = np.mean([malformation(m.row(i), raised) > 0 for i in range(n)])
    assert 0 < flagged <= MALFORMATION_REAL_FAIL and raised["bias"] < eager["bias"]
    strict = {**eager, "bias": -4.99}  # flags the lowest plausibility only
    assert verdict_thresholds(m, metric, strict)["malformation"] == strict
