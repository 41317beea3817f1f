"""Official dataset layouts, built on the fly from generated or pack images, read correctly; label
files that are missing or malformed fail clearly; unknown values are counted, not guessed."""

import io
import zipfile

import numpy as np
import pytest
from conftest import find_pack, jpeg_bytes, make_pack, png_bytes, synthetic_face
from PIL import Image

from portraitist.data import DataError, load, open_source
from portraitist.data.schema import CELEBA_ATTRIBUTES
from portraitist.data.sources import CELEBA_CROP


def celeba_official(root, faces: list[np.ndarray], partitions: list[int]):
    """Official CelebA layout: each 64px face is upscaled into the CelebA-64 crop box of a 178x218 frame."""
    (root / "img_align_celeba").mkdir(parents=True)
    lines = [str(len(faces)), " ".join(CELEBA_ATTRIBUTES)]
    rng = np.random.default_rng(0)
    for i, face in enumerate(faces):
        name = f"{i + 1:06d}.jpg"
        frame = Image.new("RGB", (178, 218), (0, 0, 0))
        frame.paste(Image.fromarray(face).resize((128, 128), Image.Resampling.LANCZOS), CELEBA_CROP[:2])
        frame.save(root / "img_align_celeba" / name, quality=95)
        values = rng.choice(["-1", "1"], size=40)
        values[CELEBA_ATTRIBUTES.index("Male")] = "1" if i % 2 else "-1"
        lines.append(name + " " + " ".join(f"{v:>2}" for v in values))
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    (root / "list_eval_partition.txt").write_text(
        "\n".join(f"{i + 1:06d}.jpg {p}" for i, p in enumerate(partitions)) + "\n"
    )
    (root / "identity_CelebA.txt").write_text(
        "\n".join(f"{i + 1:06d}.jpg {100 + i % 3}" for i in range(len(faces)))
    )
    return root


def pack_faces(n: int) -> list[np.ndarray]:
    """Real faces from the CelebA pack when present, else generated ones."""
    pack = find_pack("celeba64")
    if pack is None:
        rng = np.random.default_rng(0)
        return [synthetic_face(rng) for _ in range(n)]
    with zipfile.ZipFile(pack / "images.zip") as z:
        names = z.namelist()[:n]
        return [np.asarray(Image.open(io.BytesIO(z.read(m))).convert("RGB")) for m in names]


def test_official_celeba_layout_with_standard_crop(tmp_path):
    faces = pack_faces(6)
    root = celeba_official(tmp_path / "celeba", faces, [0, 0, 0, 1, 2, 2])
    src = open_source(root)
    assert src.kind == "celeba" and src.crop_box == (25, 57, 153, 185)
    fs = load(root, progress=False)
    assert len(fs) == 6
    assert fs.split_counts() == {"train": 3, "valid": 1, "test": 2}
    assert [lab.gender for lab in fs.labels] == ["female", "male"] * 3
    assert fs.identities[:3] == ["100", "101", "102"]
    for i, face in enumerate(faces):  # the crop brings back the face that was placed in the box
        psnr = 10 * np.log10(255**2 / np.mean((fs[i][0].astype(float) - face.astype(float)) ** 2))
        assert psnr > 25, f"image {i}: PSNR {psnr:.1f} dB, the crop is misplaced"


def test_official_celeba_bad_attribute_line_names_the_line(tmp_path):
    root = celeba_official(tmp_path / "celeba", pack_faces(2), [0, 0])
    text = (root / "list_attr_celeba.txt").read_text().splitlines()
    text[3] = text[3].rsplit(" ", 3)[0]  # drop three values from the second image
    (root / "list_attr_celeba.txt").write_text("\n".join(text))
    with pytest.raises(DataError, match="line 4"):
        open_source(root)


def test_official_fairface_layout(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "fairface"
    for split, n in (("train", 4), ("val", 2)):
        (root / split).mkdir(parents=True)
        rows = ["file,age,gender,race,service_test"]
        for i in range(n):
            (root / split / f"{i + 1}.jpg").write_bytes(jpeg_bytes(synthetic_face(rng, size=224)))
            rows.append(f"{split}/{i + 1}.jpg,30-39,{'Female' if i % 2 else 'Male'},Southeast Asian,True")
        (root / f"fairface_label_{split}.csv").write_text("\n".join(rows) + "\n")
    fs = load(root, progress=False)
    assert open_source(root).kind == "fairface"
    assert fs.split_counts() == {"train": 4, "valid": 2}
    assert {lab.race for lab in fs.labels} == {"southeast_asian"}
    assert fs.labels[0].age_low == 30 and fs.labels[0].age_high == 39


def test_official_utkface_file_names(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "UTKFace"
    root.mkdir()
    names = [
        "25_1_2_20170116174525125.jpg.chip.jpg",
        "61_0_0_20170109142408075.jpg.chip.jpg",
        "3_1_4_2017.jpg",
    ]
    for n in names + ["61_1_20170109142408075.jpg.chip.jpg"]:  # the last lacks its race field
        (root / n).write_bytes(jpeg_bytes(synthetic_face(rng, size=200)))
    src = open_source(root)
    assert src.kind == "utkface"
    by_name = dict(zip(src.files, src.labels, strict=True))
    assert by_name[names[0]].gender == "female" and by_name[names[0]].race == "asian"
    assert by_name[names[0]].age_low == 25
    assert by_name[names[1]].gender == "male" and by_name[names[1]].race == "white"
    assert by_name[names[2]].race == "other"
    assert by_name["61_1_20170109142408075.jpg.chip.jpg"].race is None
    assert "1 unrecognised" in src.report.summary()


def test_ffhq_folders_of_pngs_use_the_official_split(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "ffhq-thumbnails128x128"
    for num in (0, 1, 60000):
        folder = root / f"{num // 1000 * 1000:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{num:05d}.png").write_bytes(png_bytes(Image.fromarray(synthetic_face(rng, size=128))))
    fs = load(root, progress=False)
    assert open_source(root).kind == "ffhq"
    assert fs.split_counts() == {"train": 2, "valid": 1}
    assert fs.images.shape == (3, 64, 64, 3)


def test_any_image_folder_counts_and_reports_bad_files(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "my_photos"
    (root / "nested").mkdir(parents=True)
    (root / "a.jpg").write_bytes(jpeg_bytes(synthetic_face(rng, size=80)))
    (root / "nested" / "b.png").write_bytes(
        png_bytes(Image.fromarray(synthetic_face(rng, size=100)).convert("L"))
    )
    (root / "nested" / "c.webp").write_bytes(b"\x00" * 100)  # corrupt
    (root / "notes.txt").write_text("not an image")
    (root / "tiny.png").write_bytes(png_bytes(Image.fromarray(synthetic_face(rng, size=16))))
    with pytest.warns(UserWarning, match="skipped 2 of 4"):
        fs = load(root, progress=False)
    assert len(fs) == 2
    assert any("1 corrupt" in n and "1 too_small" in n for n in fs.notes)


def test_empty_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no image files"):
        open_source(tmp_path / "empty")


def test_pack_without_labels_file_is_a_clear_error(tmp_path):
    root = make_pack(tmp_path / "p", [{"file": "a.jpg", "age": "3", "gender": "Male", "race": "White"}], {})
    (root / "labels.csv").unlink()
    (root / "x.jpg").write_bytes(b"")
    with pytest.raises(DataError):
        open_source(root, kind="pack")


@pytest.mark.parametrize(
    "csv_text,match",
    [
        ("name,age\na.jpg,3\n", "lacks column"),
        ("file,age,gender,race\na.jpg,3,Male\n", "line 2: expected 4 fields"),
        ("file,age,gender,race\n", "no rows"),
        ("file,colour\na.jpg,red\n", "no known label schema"),
    ],
)
def test_malformed_labels_csv(tmp_path, csv_text, match):
    root = make_pack(tmp_path / "p", [{"file": "a.jpg"}], {"a.jpg": b""})
    (root / "labels.csv").write_text(csv_text)
    with pytest.raises(DataError, match=match):
        open_source(root)


def test_labels_csv_that_is_not_text(tmp_path):
    root = make_pack(tmp_path / "p", [{"file": "a.jpg"}], {"a.jpg": b""})
    (root / "labels.csv").write_bytes(b"file,age\n\xff\xfe\xfa,3\n")
    with pytest.raises(DataError, match="not UTF-8"):
        open_source(root)


def test_unknown_label_values_become_unknown_and_are_counted(tmp_path):
    rng = np.random.default_rng(0)
    rows = [
        {"file": "a.jpg", "age": "34", "gender": "Male", "race": "Martian", "split": "train"},
        {"file": "b.jpg", "age": "ancient", "gender": "x", "race": "White", "split": "train"},
    ]
    images = {r["file"]: jpeg_bytes(synthetic_face(rng)) for r in rows}
    src = open_source(make_pack(tmp_path / "p", rows, images))
    assert src.labels[0].race is None and src.labels[0].age_low == 34
    assert src.labels[1].age_low is None and src.labels[1].gender is None and src.labels[1].race == "white"
    summary = src.report.summary()
    assert "3 unrecognised" in summary and "Martian" in summary


def test_member_missing_from_zip_is_skipped_and_counted(tmp_path):
    rng = np.random.default_rng(0)
    rows = [{"file": f"{i}.jpg", "age": "30", "gender": "Male", "race": "White"} for i in range(3)]
    images = {"0.jpg": jpeg_bytes(synthetic_face(rng)), "1.jpg": jpeg_bytes(synthetic_face(rng))[:300]}
    with pytest.warns(UserWarning, match="skipped 2 of 3"):
        fs = load(make_pack(tmp_path / "p", rows, images), progress=False)
    assert len(fs) == 1 and fs.files == ["0.jpg"]
    assert "1 missing" in fs.notes[0] and ("1 truncated" in fs.notes[0] or "1 corrupt" in fs.notes[0])


def test_corrupt_zip_is_a_clear_error(tmp_path):
    root = make_pack(tmp_path / "p", [{"file": "a.jpg", "age": "3", "gender": "Male", "race": "White"}], {})
    (root / "images.zip").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(DataError, match="not a readable zip"):
        open_source(root)


def test_unknown_name_says_where_it_looked():
    with pytest.raises(FileNotFoundError, match="PORTRAITIST_DATA"):
        open_source("no-such-pack-anywhere")
