"""The command line, run as a user runs it (a real subprocess), on a generated pack and on the real ones."""

import json
import subprocess
import sys

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
def test_real_pack_preview(shared_data, tmp_path, pack):
    out = tmp_path / f"{pack}.png"
    run("data", "preview", pack, "--out", str(out), "--n", "4", "--limit", "300")
    assert Image.open(out).size[0] > 300
