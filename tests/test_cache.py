"""The decoded cache is built once, reused without decoding, rebuilt when the source changes or the
cache is damaged, and a build killed half way leaves nothing that looks complete."""

import numpy as np
import pytest
from conftest import jpeg_bytes, synthetic_face

import portraitist.data.cache as cache
from portraitist.data import decode, load, open_source


def test_second_open_reads_the_cache_without_decoding(demographic_pack, tmp_path, monkeypatch):
    first = decode(open_source(demographic_pack), 64, root=tmp_path)
    pixels = np.array(first.images)

    def no_decoding(*a, **k):
        raise AssertionError("decoded again although the cache was valid")

    monkeypatch.setattr(cache, "decode_image", no_decoding)
    again = decode(open_source(demographic_pack), 64, root=tmp_path)
    assert isinstance(again.images, np.memmap)
    assert np.array_equal(np.asarray(again.images), pixels)
    assert again.path == first.path


def test_sizes_and_sources_get_their_own_cache(demographic_pack, tmp_path):
    a = decode(open_source(demographic_pack), 64, root=tmp_path)
    b = decode(open_source(demographic_pack), 32, root=tmp_path)
    c = decode(open_source(demographic_pack, limit=5), 64, root=tmp_path)
    assert len({a.path, b.path, c.path}) == 3
    assert b.images.shape[1:] == (32, 32, 3) and len(c.images) == 5


def test_changed_source_invalidates_the_cache(demographic_pack, tmp_path):
    before = decode(open_source(demographic_pack), 64, root=tmp_path)
    csv = demographic_pack / "labels.csv"
    csv.write_text(csv.read_text())  # same text, new modification time
    after = decode(open_source(demographic_pack), 64, root=tmp_path)
    assert after.path != before.path


def test_truncated_cache_file_is_detected_and_rebuilt(demographic_pack, tmp_path):
    first = decode(open_source(demographic_pack), 64, root=tmp_path)
    good = np.array(first.images)
    path = first.path / "images.npy"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.warns(UserWarning, match="damaged"):
        again = decode(open_source(demographic_pack), 64, root=tmp_path)
    assert np.array_equal(np.asarray(again.images), good)


def test_build_interrupted_midway_leaves_no_cache(demographic_pack, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = cache.decode_image

    def dies_on_fifth(*a, **k):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(cache, "decode_image", dies_on_fifth)
    root = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        decode(open_source(demographic_pack), 64, root=root)
    assert [p.name for p in root.iterdir() if p.is_dir()] == []
    monkeypatch.setattr(cache, "decode_image", real)
    assert len(decode(open_source(demographic_pack), 64, root=root).images) == 30


def test_source_with_no_decodable_image_is_a_clear_error(tmp_path):
    root = tmp_path / "bad"
    root.mkdir()
    (root / "a.jpg").write_bytes(b"junk")
    with pytest.raises(ValueError, match="no image of bad could be decoded"):
        load(root, progress=False)


def test_absurd_size_is_refused(demographic_pack):
    with pytest.raises(ValueError, match="between 8 and 1024"):
        decode(open_source(demographic_pack), 100000)


def test_cached_pixels_match_direct_decoding(demographic_pack, tmp_path):
    from portraitist.data import decode_image

    src = open_source(demographic_pack)
    dec = decode(src, 64, root=tmp_path)
    direct = decode_image(src.read(src.files[3]), 64)
    assert np.array_equal(dec.images[3], direct)


def test_synthetic_helper_is_valid():
    assert len(jpeg_bytes(synthetic_face(np.random.default_rng(0)))) > 100
