"""Pascal VOC: both layouts, classes, aliases, ignored names, every broken input; the real Trash-ICRA19 slice."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TRASH_CLASSES, TRASH_IGNORED
from PIL import Image

from marinegan import VocDataset, object_crops, open_dataset
from marinegan.data import DataError, DataWarning


def voc_xml(filename: str, size: tuple[int, int] | None, objects: list[tuple]) -> str:
    """objects: (name, xmin, ymin, xmax, ymax[, difficult, truncated]) in VOC's 1-based pixels."""
    parts = [f"<annotation><filename>{filename}</filename>"]
    if size is not None:
        parts.append(f"<size><width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>")
    for name, x0, y0, x1, y1, *flags in objects:
        difficult, truncated = (flags + [0, 0])[:2]
        parts.append(f"<object><name>{name}</name><truncated>{truncated}</truncated><difficult>{difficult}"
                     f"</difficult><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax>"
                     "</bndbox></object>")
    return "".join(parts) + "</annotation>"


def write_sample(folder: Path, stem: str, objects: list[tuple], size=(64, 48), xml_size="same",
                 image_folder: Path | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (image_folder or folder).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(stem))
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(
        (image_folder or folder) / f"{stem}.jpg")
    (folder / f"{stem}.xml").write_text(voc_xml(f"{stem}.jpg", size if xml_size == "same" else xml_size, objects))


@pytest.fixture
def flat(tmp_path) -> Path:
    root = tmp_path / "voc"
    write_sample(root / "train", "a",
                 [("plastic", 1, 1, 20, 10), ("timestamp", 25, 1, 64, 8), ("bio", 5, 5, 30, 40, 1)])
    write_sample(root / "train", "b", [("platstic", 10, 10, 30, 30, 0, 1)])
    write_sample(root / "val", "c", [("rov", 1, 1, 64, 48)])
    return root


def test_flat_layout_with_classes_aliases_and_ignored_names(flat):
    ds = VocDataset(flat, "train", classes=["plastic", "bio"], class_map={"platstic": "plastic"}, ignore=["timestamp"])
    assert len(ds) == 2 and ds.classes == ["__background__", "plastic", "bio"]
    image, target = ds[0]
    assert image.shape == (3, 48, 64)
    # VOC's 1-based inclusive corners become 0-based XYXY with an exclusive end
    assert target["boxes"].tolist() == [[0.0, 0.0, 20.0, 10.0], [4.0, 4.0, 30.0, 40.0]]
    assert target["labels"].tolist() == [1, 2]
    assert target["difficult"].tolist() == [False, True] and target["truncated"].tolist() == [False, False]
    assert target["ignored_boxes"].tolist() == [[24.0, 0.0, 64.0, 8.0]]
    _, target_b = ds[1]
    assert target_b["labels"].tolist() == [1] and target_b["truncated"].tolist() == [True]


def test_classes_default_to_every_name_found_sorted(flat):
    ds = VocDataset(flat, "train", class_map={"platstic": "plastic"})
    assert ds.classes == ["__background__", "bio", "plastic", "timestamp"]


def test_devkit_layout_reads_the_split_listing(tmp_path):
    root = tmp_path / "VOCdevkit"
    for stem in ("x1", "x2", "x3"):
        write_sample(root / "Annotations", stem, [("plastic", 2, 2, 20, 20)], image_folder=root / "JPEGImages")
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "train.txt").write_text("x1\nx3\n")
    (root / "ImageSets" / "Main" / "val.txt").write_text("x2\n")
    assert [s.path.name for s in VocDataset(root, "train").samples] == ["x1.jpg", "x3.jpg"]
    assert len(VocDataset(root)) == 3
    with pytest.raises(DataError, match="test.txt does not exist"):
        VocDataset(root, "test")


def test_open_dataset_detects_voc_and_defaults_to_the_train_split(flat):
    with pytest.warns(DataWarning, match="using split 'train'"):
        ds = open_dataset(flat, classes=["plastic", "bio"], class_map={"platstic": "plastic"}, ignore=["timestamp"])
    assert isinstance(ds, VocDataset) and ds.split == "train" and len(ds) == 2
    assert len(open_dataset(flat, "val", classes=["rov"])) == 1


def test_unknown_name_names_the_file_and_the_three_fixes(flat):
    with pytest.raises(DataError) as err:
        VocDataset(flat, "train", classes=["plastic", "bio"], ignore=["timestamp"])
    msg = str(err.value)
    assert "b.xml" in msg and "'platstic'" in msg and "on_error='skip'" in msg and "ignore=" in msg
    assert "classes=" in msg


def test_unknown_name_with_skip_drops_the_box_and_counts(flat):
    with pytest.warns(DataWarning, match="platstic"):
        ds = VocDataset(flat, "train", classes=["plastic", "bio"], ignore=["timestamp"], on_error="skip")
    assert len(ds) == 2 and ds.dropped == {"platstic": 1}
    assert len(ds[1][1]["boxes"]) == 0  # the image stays, without the unknown box


@pytest.mark.parametrize("case, match", [
    ("size", "<size> says 100x100 but the image"),
    ("outside", "lies outside the 64x48 image"),
    ("missing_image", "is missing"),
    ("bad_xml", "not a readable Pascal VOC XML"),
    ("bad_numbers", "not numbers"),
])
def test_broken_files_get_one_clear_message_or_are_skipped(tmp_path, case, match):
    root = tmp_path / "voc"
    write_sample(root, "good", [("plastic", 1, 1, 10, 10)])
    if case == "size":
        write_sample(root, "bad", [("plastic", 1, 1, 10, 10)], xml_size=(100, 100))
    elif case == "outside":
        write_sample(root, "bad", [("plastic", 1, 1, 90, 10)])
    elif case == "missing_image":
        write_sample(root, "bad", [("plastic", 1, 1, 10, 10)])
        (root / "bad.jpg").unlink()
    elif case == "bad_xml":
        (root / "bad.xml").write_text("<annotation><object>")
    else:
        (root / "bad.xml").write_text(voc_xml("bad.jpg", None, [("plastic", "one", 1, 10, 10)]))
    with pytest.raises(DataError, match=match):
        VocDataset(root)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = VocDataset(root, on_error="skip")
    assert len(ds) == 1 and any(match.split("<")[-1][:12] in str(w.message) for w in caught)


def test_a_name_in_classes_and_ignore_is_refused(flat):
    with pytest.raises(DataError, match="both in classes and in ignore"):
        VocDataset(flat, "train", classes=["plastic", "timestamp"], ignore=["timestamp"])


def test_crops_skip_objects_that_touch_an_ignored_box(flat):
    ds = VocDataset(flat, "train", classes=["plastic", "bio"], class_map={"platstic": "plastic"}, ignore=["timestamp"])
    kept = object_crops(ds, 16, pad=0.1, alpha="box", min_side=1, progress=False)
    everything = object_crops(ds, 16, pad=0.1, alpha="box", min_side=1, avoid_ignored=False, progress=False)
    # the bio crop of a.jpg (square x -5..39, y 0..44) covers the timestamp (x 24..64, y 0..8); the others do not
    assert len(everything) == 3 and len(kept) == 2 and kept.stats["overlaps_ignored"] == 1
    assert kept.labels.tolist() == [1, 1]


@pytest.mark.real_data
def test_trash_icra19_train_counts(real_data):
    ds = VocDataset(real_data, "train", classes=TRASH_CLASSES, ignore=TRASH_IGNORED)
    counts = np.bincount(np.concatenate([s.labels for s in ds.samples]), minlength=4)
    assert len(ds) == 1500
    assert counts[1:].tolist() == [1209, 520, 466]  # plastic, bio, rov
    image, target = ds[0]
    assert image.shape[0] == 3 and image.shape[2] == 480 and len(target["boxes"]) == len(target["labels"])


@pytest.mark.real_data
def test_grabcut_cutouts_of_real_plastic(real_data):
    ds = VocDataset(real_data, "val", classes=TRASH_CLASSES, ignore=TRASH_IGNORED)
    sub = torch.utils.data.Subset(ds, range(60))
    sub.classes = ds.classes
    crops = object_crops(sub, 32, alpha="grabcut", label="plastic", progress=False)
    boxed = object_crops(sub, 32, alpha="box", label="plastic", progress=False)
    assert crops.images.shape[1] == 4 and len(crops) == len(boxed) > 5
    assert crops.stats["grabcut"] + crops.stats.get("grabcut_fallback", 0) == len(crops)
    assert crops.stats["grabcut"] > len(crops) // 2
    # GrabCut keeps less seabed than the feathered box: a smaller opaque area on average
    opaque = (crops.images[:, 3] >= 128).float().mean()
    assert opaque < (boxed.images[:, 3] >= 128).float().mean()
    assert torch.equal(crops.images, object_crops(sub, 32, alpha="grabcut", label="plastic", progress=False).images)
