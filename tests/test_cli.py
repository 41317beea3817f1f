"""The command line, run as a user runs it (a real subprocess), on a generated pack and on the real ones."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from portraitist.png import read_settings


def run(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "portraitist.cli", *args], capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_info_prints_counts_and_histograms(demographic_pack):
    out = run("data", "info", str(demographic_pack)).stdout
    assert "tinyface: 30 images at 64x64" in out
    assert "train 24, valid 6" in out
    assert "east_asian" in out and "light" in out
    assert "not labelled here (unknown): young, smiling" in out


def test_info_json(demographic_pack):
    data = json.loads(run("data", "info", str(demographic_pack), "--json", "--split", "valid").stdout)
    assert data["images"] == 6
    assert sum(data["labels"]["gender"].values()) == 6


def test_preview_writes_captioned_png_with_settings(demographic_pack, tmp_path):
    out = tmp_path / "grid.png"
    proc = run("data", "preview", str(demographic_pack), "--out", str(out), "--n", "6", "--seed", "3")
    assert "wrote" in proc.stdout
    img = Image.open(out)
    assert img.width >= 3 * 160
    settings = read_settings(out)
    assert settings["seed"] == 3 and len(settings["captions"]) == 6
    assert settings["native_resolution"] == "64x64"
    assert "Seed: 3" in img.text["parameters"]


def test_missing_pack_is_a_clear_error_not_a_traceback():
    proc = run("data", "info", "no-such-pack", check=False)
    assert proc.returncode == 2
    assert "error: no dataset" in proc.stderr and "Traceback" not in proc.stderr


def test_malformed_pack_is_a_clear_error(demographic_pack):
    (demographic_pack / "labels.csv").write_text("name\nx\n")
    proc = run("data", "info", str(demographic_pack), check=False)
    assert proc.returncode == 2 and "lacks column" in proc.stderr


@pytest.mark.parametrize("pack", ["celeba64", "fairface64", "utkface64"])
@pytest.mark.slow
def test_real_pack_preview(shared_data, tmp_path, pack):
    out = tmp_path / f"{pack}.png"
    run("data", "preview", pack, "--out", str(out), "--n", "4", "--limit", "300")
    assert Image.open(out).size[0] > 300


def test_help_and_data_info_import_no_torch(demographic_pack):
    """The commands that need no model start without importing torch (bench/startup.py measures it)."""
    for args in (["--help"], ["data", "info", str(demographic_pack)]):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "portraitist.cli", *args],
                              capture_output=True, text=True)  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert not any(line.rstrip().endswith("| torch") for line in proc.stderr.splitlines()), args


def test_our_errors_are_one_line_and_bugs_keep_their_traceback(monkeypatch, capsys):
    from portraitist import cli
    from portraitist.errors import InvalidInput

    def refuse(args):
        raise InvalidInput("the seed must be a non-negative integer")

    def crash(args):
        raise KeyError("an internal bug")

    monkeypatch.setattr(cli, "cmd_models", refuse)
    assert cli.main(["models"]) == 2
    assert capsys.readouterr().err == "error: the seed must be a non-negative integer\n"
    monkeypatch.setattr(cli, "cmd_models", crash)
    with pytest.raises(KeyError, match="an internal bug"):
        cli.main(["models"])


@pytest.mark.slow
def test_a_bad_output_is_refused_before_any_face_is_computed(model_file, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for out, message in [(blocker, "is a file, not a folder"), (blocker / "sub", "is a file, not a folder")]:
        proc = run("generate", "a face", "--weights", str(model_file), "--out", str(out), check=False)
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    for bad in ("0", "1000"):
        proc = run(
            "generate",
            "a face",
            "--weights",
            str(model_file),
            "--upscale",
            bad,
            "--out",
            str(tmp_path),
            check=False,
        )
        assert proc.returncode == 2 and "--upscale enlarges 1 to 16 times" in proc.stderr
    assert not list(tmp_path.glob("*.png"))


def test_directions_never_write_into_the_package():
    proc = run("directions", check=False)
    assert proc.returncode == 2 and "never overwrites" in proc.stderr


def test_unreadable_samples_are_skipped_and_named(tmp_path):
    from portraitist.evaluation.evaluate import load_samples

    for i in range(2):
        Image.new("RGB", (64, 64), (i * 50, 0, 0)).save(tmp_path / f"{i}.png")
    (tmp_path / "2.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    samples = load_samples(tmp_path)
    assert len(samples.images) == 2 and [name.endswith("2.png") for name, _ in samples.skipped] == [True]


@pytest.mark.slow
def test_every_generated_png_says_it_is_synthetic_and_info_reads_it_back(model_file, tmp_path):
    import xml.etree.ElementTree as ET

    run(
        "generate",
        "a smiling woman",
        "--weights",
        str(model_file),
        "--n",
        "2",
        "--steps",
        "2",
        "--out",
        str(tmp_path),
    )
    for png in sorted(tmp_path.glob("*.png")):  # the faces and the grid
        xmp = Image.open(png).text["XML:com.adobe.xmp"]
        root = ET.fromstring(xmp[xmp.index("<x:xmpmeta") : xmp.index("</x:xmpmeta>") + len("</x:xmpmeta>")])
        kind = root.find(".//{http://iptc.org/std/Iptc4xmpExt/2008-02-29/}DigitalSourceType")
        assert kind.text == "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia", png
    info = json.loads(run("info", str(tmp_path / "000000.png"), "--json").stdout)
    asked = info["settings"].get("rerolled_from", info["settings"]["seed"])  # a re-rolled face names both
    assert info["settings"]["prompt"] == "a smiling woman" and asked == 0
    assert info["marks"]["digital_source_type"] == "trainedAlgorithmicMedia"
    assert info["marks"]["model"] == "face-diffusion"
    (tmp_path / "broken.png").write_bytes(b"not an image")
    proc = run("info", str(tmp_path / "broken.png"), check=False)
    assert proc.returncode == 2 and "not a readable image" in proc.stderr


def test_a_data_preview_of_real_photos_is_not_marked_synthetic(demographic_pack, tmp_path):
    from portraitist.png import read_marks

    run("data", "preview", str(demographic_pack), "--out", str(tmp_path / "p.png"), "--n", "4")
    assert read_marks(tmp_path / "p.png") == {}


@pytest.mark.slow
def test_generate_from_a_saved_png_gives_the_same_pixels_or_overrides(model_file, tmp_path):
    run("generate", "a smiling woman", "--weights", str(model_file), "--n", "2", "--seed", "7", "--steps", "3",
        "--guidance", "2.5", "--negative", "glasses", "--out", str(tmp_path / "a"))  # fmt: skip
    original = tmp_path / "a" / "000008.png"  # named by the seed asked for
    made = read_settings(original)
    assert made.get("rerolled_from", made["seed"]) == 8
    run("generate", "--from", str(original), "--weights", str(model_file), "--out", str(tmp_path / "b"))
    (again,) = (tmp_path / "b").glob("*.png")  # named by the face's own seed (a re-rolled one's)
    # the same face; float rounding may differ by a level where it was made in a batch (api.py)
    assert np.abs(np.asarray(Image.open(original), int) - np.asarray(Image.open(again), int)).max() <= 2
    s = read_settings(again)
    assert (s["prompt"], s["negative_prompt"], s["seed"], s["steps"], s["guidance"]) == (
        "a smiling woman",
        "glasses",
        made["seed"],
        3,
        2.5,
    )
    run(
        "generate",
        "--from",
        str(original),
        "--weights",
        str(model_file),
        "--guidance",
        "4",
        "--out",
        str(tmp_path / "c"),
    )
    (changed,) = (tmp_path / "c").glob("*.png")
    assert read_settings(changed)["guidance"] == 4.0
    proc = run("generate", "--from", str(tmp_path / "nothing.png"), "--out", str(tmp_path / "d"), check=False)
    assert proc.returncode == 2 and "no image at" in proc.stderr
    proc = run("generate", "--out", str(tmp_path / "d"), check=False)
    assert proc.returncode == 2 and "give a prompt" in proc.stderr
