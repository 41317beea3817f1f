"""The open-weight engine runs the real diffusers code path end to end on tiny, randomly initialised
pipelines of the real classes (SD 3.5, FLUX.1, SDXL, SD 1.5), loaded from a local weights folder."""

import numpy as np
import pytest

pytest.importorskip(
    "diffusers", reason="the open-weights extra is not installed: pip install 'portraitist[open-weights]'"
)

from tiny_pipelines import build  # noqa: E402

from portraitist.engines import EngineUnavailable, Request, Unsupported, get_engine  # noqa: E402

CASES = [("sd3", "sd3.5-large", ("euler", "heun", "dpmpp_2m")), ("flux", "flux.1-dev", ("euler", "dpmpp_2m")),
         ("sdxl", "sdxl", ("euler", "euler_a", "dpmpp_2m")), ("sd15", "realistic-vision-5.1", ("ddim", "dpmpp_2m", "heun"))]  # fmt: skip


def pixels(img):
    return np.asarray(img, dtype=np.int16)


@pytest.mark.parametrize(("kind", "name", "samplers"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.slow
def test_open_weight_engine_end_to_end(tmp_path, kind, name, samplers):
    folder = build(kind, tmp_path)
    engine = get_engine(name, weights=folder)
    assert engine.availability() == (True, f"weights at {folder}")
    base = Request("portrait of a smiling woman with red hair", seed=11, steps=2, width=32, height=32)
    steps = []
    a = engine.generate(base, callback=lambda i, n, p: steps.append((i, n)))[0]
    assert a.size == (32, 32) and steps == [(1, 2), (2, 2)]
    assert (a.info["model"], a.info["seed"], a.info["steps"], a.info["sampler"]) == (name, 11, 2, "euler")
    again = engine.generate(base)[0]
    assert np.array_equal(pixels(a), pixels(again)), "same seed, same image"
    other_seed = engine.generate(Request(base.prompt, seed=12, steps=2, width=32, height=32))[0]
    assert not np.array_equal(pixels(a), pixels(other_seed))
    negative = engine.generate(Request(base.prompt, negative_prompt="glasses, blurry", seed=11, steps=2,
                                       width=32, height=32, guidance=5.0 if kind != "flux" else None))[0]  # fmt: skip
    assert not np.array_equal(pixels(a), pixels(negative)), "the negative prompt reaches the model"
    assert negative.info["negative_prompt"] == "glasses, blurry"
    for sampler in samplers:
        img = engine.generate(Request(base.prompt, seed=11, steps=3, width=32, height=32, sampler=sampler))[0]
        assert img.info["sampler"] == sampler and np.isfinite(pixels(img)).all()
    two = engine.generate(Request(base.prompt, seed=11, steps=2, width=32, height=32, n=2))
    assert np.array_equal(pixels(two[0]), pixels(a)) and two[1].info["seed"] == 12


def test_open_weight_engine_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("PORTRAITIST_MODELS", raising=False)
    engine = get_engine("sd3.5-medium", weights=tmp_path / "nowhere")
    ok, why = engine.availability()
    assert not ok and "stabilityai/stable-diffusion-3.5-medium" in why
    with pytest.raises(EngineUnavailable, match="no weights"):
        engine.generate(Request("a man"))
    with pytest.raises(Unsupported, match="no sampler 'ddim'"):
        engine.generate(Request("a man", sampler="ddim"))  # flow models have no DDIM
    with pytest.raises(ValueError, match="guidance 0 to 0"):
        get_engine("flux.1-schnell").generate(Request("a man", guidance=3.5))
    folder = build("sd15", tmp_path)
    monkeypatch.setenv("PORTRAITIST_MODELS", str(folder.parent))
    (folder.parent / "realistic-vision-5.1").symlink_to(folder)
    assert get_engine("realistic-vision-5.1").availability()[0]


@pytest.mark.slow
def test_cli_generates_with_an_open_weight_model(tmp_path, capsys):
    from portraitist.cli import main
    from portraitist.png import read_settings

    folder = build("sd3", tmp_path)
    out = tmp_path / "out"
    assert main(["generate", "portrait of a woman, 85mm lens", "--model", "sd3.5-large", "--weights", str(folder),
                 "--negative-preset", "blurry", "--steps", "2", "--width", "32", "--height", "32", "--n", "1",
                 "--out", str(out)]) == 0  # fmt: skip
    settings = read_settings(out / "000000.png")
    assert settings["model"] == "sd3.5-large" and settings["negative_prompt"].startswith(
        "blurry, out of focus"
    )
    captured = capsys.readouterr()
    assert "native 32x32" in captured.out and "focal_length_mm '85'" in captured.err
