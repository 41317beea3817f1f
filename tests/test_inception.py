"""The Inception FID path runs end to end with a stand-in TorchScript network of the same call
signature (the real weights are the user's to supply); the resizer matches clean-fid's recipe."""

import numpy as np
import pytest
import torch
from PIL import Image

from portraitist.evaluation.inception import clean_resize, inception_features, inception_fid, load_inception
from portraitist.evaluation.metrics import frechet_distance


class StandIn(torch.nn.Module):
    """Same interface as inception-2015-12-05.pt: float NCHW 0..255 in, (N, 2048) with return_features."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(3 * 8 * 8, 2048)

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        assert x.shape[-1] == 299
        f = self.proj(torch.nn.functional.adaptive_avg_pool2d(x / 255.0, 8).flatten(1))
        return f if return_features else f[:, :1008]


@pytest.fixture
def weights(tmp_path):
    path = tmp_path / "inception-standin.pt"
    torch.manual_seed(0)
    torch.jit.script(StandIn()).save(str(path))
    return path


def test_clean_resize_is_per_channel_float_bicubic():
    img = np.random.default_rng(0).integers(0, 255, (1, 64, 64, 3), dtype=np.uint8)
    out = clean_resize(img)
    assert out.shape == (1, 3, 299, 299) and out.dtype == np.float32
    ref = Image.fromarray(img[0, :, :, 1].astype(np.float32), mode="F").resize(
        (299, 299), Image.Resampling.BICUBIC
    )
    assert np.allclose(out[0, 1], np.clip(np.asarray(ref), 0, 255))


@pytest.mark.slow
def test_fid_path_end_to_end(weights):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 128, (40, 64, 64, 3), dtype=np.uint8)
    b = rng.integers(100, 255, (40, 64, 64, 3), dtype=np.uint8)
    model = load_inception(weights)
    fa = inception_features(a, model, batch=16)
    assert fa.shape == (40, 2048)
    assert inception_fid(a, b, weights) == pytest.approx(frechet_distance(fa, inception_features(b, model)))
    assert inception_fid(a, a, weights) < 1e-3 < inception_fid(a, b, weights)


def test_missing_or_wrong_weights_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not download"):
        load_inception(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not torchscript")
    with pytest.raises(ValueError, match="not a TorchScript"):
        load_inception(bad)
