"""Real-data readers: YOLO, COCO, image folders, object crops; every broken input is reported."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from marinegan.data import (
    CocoDataset,
    DataError,
    DataWarning,
    ImageFolderDataset,
    YoloDataset,
    object_crops,
    open_dataset,
)
from marinegan.toydata import TOY_CLASSES, make_toy_coco, make_toy_yolo


@pytest.fixture
def yolo(tmp_path):
    return make_toy_yolo(tmp_path / "yolo", n=8, size=64, seed=1)


def test_yolo_items_follow_torchvision_conventions(yolo):
    ds = YoloDataset(yolo)
    assert len(ds) == 8 and ds.classes == ["__background__", *TOY_CLASSES] and ds.num_classes == 3
    image, target = ds[0]
    assert isinstance(image, tv_tensors.Image) and image.dtype == torch.uint8 and image.shape == (3, 64, 64)
    assert isinstance(target["boxes"], tv_tensors.BoundingBoxes)
    assert target["boxes"].format == tv_tensors.BoundingBoxFormat.XYXY and target["boxes"].canvas_size == (64, 64)
    assert target["labels"].dtype == torch.int64 and target["labels"].min() >= 1
    assert target["synthetic"] is False


def test_yolo_boxes_match_the_label_file(yolo):
    line = (yolo / "labels" / "scene_0000.txt").read_text().splitlines()[0].split()
    cls, cx, cy, w, h = int(line[0]), *map(float, line[1:])
    _, target = YoloDataset(yolo)[0]
    expected = torch.tensor([(cx - w / 2) * 64, (cy - h / 2) * 64, (cx + w / 2) * 64, (cy + h / 2) * 64])
    torch.testing.assert_close(target["boxes"][0].as_subclass(torch.Tensor), expected, atol=1e-3, rtol=0)
    assert target["labels"][0] == cls + 1


def test_yolo_and_coco_of_the_same_scenes_agree(tmp_path):
    y = YoloDataset(make_toy_yolo(tmp_path / "y", n=6, seed=3))
    c = CocoDataset(tmp_path / "c" / "images", make_toy_coco(tmp_path / "c", n=6, seed=3))
    assert y.classes == c.classes
    for i in range(6):
        torch.testing.assert_close(y[i][1]["boxes"].as_subclass(torch.Tensor),
                                   c[i][1]["boxes"].as_subclass(torch.Tensor), atol=1e-3, rtol=0)
        assert torch.equal(y[i][1]["labels"], c[i][1]["labels"])
        assert torch.equal(y[i][0], c[i][0])


def test_transforms_v2_move_boxes_with_the_image(yolo):
    ds = YoloDataset(yolo, transforms=v2.RandomHorizontalFlip(p=1.0))
    plain = YoloDataset(yolo)
    (img_f, t_f), (img, t) = ds[0], plain[0]
    assert torch.equal(img_f, img.flip(-1))
    b = t["boxes"].as_subclass(torch.Tensor)
    torch.testing.assert_close(t_f["boxes"].as_subclass(torch.Tensor)[:, [0, 2]], 64 - b[:, [2, 0]])


def test_yolo_split_from_data_yaml(tmp_path):
    root = make_toy_yolo(tmp_path / "d", n=4, split="train", seed=0)
    make_toy_yolo(root, n=2, split="val", seed=1)
    (root / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\nnames: {0: bottle, 1: bag}\n")
    assert len(YoloDataset(root, "train")) == 4 and len(YoloDataset(root, "val")) == 2
    assert YoloDataset(root, "val").classes[1:] == ["bottle", "bag"]


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda r: (r / "labels" / "scene_0002.txt").unlink(), "label file .*scene_0002.txt is missing"),
        (lambda r: (r / "labels" / "scene_0002.txt").write_text("7 0.5 0.5 0.1 0.1\n"), "class 7 is out of range"),
        (lambda r: (r / "labels" / "scene_0002.txt").write_text("0 0.5 0.5\n"), "expected 'class cx cy w h'"),
        (lambda r: (r / "labels" / "scene_0002.txt").write_text("0 0.95 0.5 0.3 0.1\n"), "lies outside the 64x64"),
        (lambda r: (r / "labels" / "scene_0002.txt").write_text("0 0.5 0.5 0.0 0.1\n"), "has no area"),
        (lambda r: (r / "images" / "scene_0002.png").write_bytes(b"\x89PNG broken"), "scene_0002.png cannot be read"),
        (lambda r: (r / "images" / "scene_0002.png").write_bytes(
            (r / "images" / "scene_0002.png").read_bytes()[:200]), "scene_0002.png cannot be read"),
    ],
)
def test_broken_yolo_input_raises_or_is_skipped_with_a_warning(yolo, damage, message):
    damage(yolo)
    with pytest.raises(DataError, match=message):
        YoloDataset(yolo)
    with pytest.warns(DataWarning, match=message) as record:
        ds = YoloDataset(yolo, on_error="skip")
    assert len(ds) == 7
    assert any("kept 7 samples, skipped 1" in str(w.message) for w in record)


def test_missing_class_names_and_folders(tmp_path, yolo):
    (yolo / "data.yaml").unlink()
    with pytest.raises(DataError, match="no data.yaml or classes.txt"):
        YoloDataset(yolo)
    with pytest.raises(DataError, match="does not exist"):
        YoloDataset(tmp_path / "nowhere")


def test_empty_label_file_is_an_image_without_objects(yolo):
    (yolo / "labels" / "scene_0001.txt").write_text("")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = YoloDataset(yolo)
    assert len(ds) == 8 and ds[1][1]["boxes"].shape == (0, 4)


def test_coco_problems(tmp_path):
    path = make_toy_coco(tmp_path, n=5, size=64)
    data = json.loads(path.read_text())
    data["annotations"][0]["category_id"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match="unknown category_id 99"):
        CocoDataset(tmp_path / "images", path)
    with pytest.warns(DataWarning):
        assert len(CocoDataset(tmp_path / "images", path, on_error="skip")) == 4
    path.write_text("{oops")
    with pytest.raises(DataError, match="not valid JSON"):
        CocoDataset(tmp_path / "images", path)


def test_image_folder_and_open_dataset(tmp_path, yolo):
    folder = ImageFolderDataset(yolo / "images")
    assert len(folder) == 8 and folder[0][1]["boxes"].shape == (0, 4)
    assert isinstance(open_dataset(yolo), YoloDataset)
    assert isinstance(open_dataset(yolo / "images"), ImageFolderDataset)
    assert isinstance(open_dataset(make_toy_coco(tmp_path / "c", n=2)), CocoDataset)


def test_object_crops_cover_every_box(yolo):
    ds = YoloDataset(yolo)
    n_boxes = sum(len(ds[i][1]["boxes"]) for i in range(len(ds)))
    crops = object_crops(ds, size=32, pad=0.1, alpha=True, min_side=1, progress=False)
    assert crops.images.shape == (n_boxes, 4, 32, 32) and crops.images.dtype == torch.uint8
    alpha = crops.images[:, 3].float() / 255
    assert (alpha[:, 16, 16] == 1).all(), "the object's centre is opaque"
    assert (alpha[:, 0, 0] == 0).all(), "the padding corner is transparent"
    assert set(crops.labels.tolist()) <= {1, 2}
    # the crop shows the object: its centre colour matches the scene's pixel at the box centre
    image, target = ds[0]
    x0, y0, x1, y1 = target["boxes"][0].tolist()
    centre = image[:, int((y0 + y1) / 2), int((x0 + x1) / 2)].float()
    assert (crops.images[0, :3, 16, 16].float() - centre).abs().max() < 40


def test_object_crops_without_objects_is_an_error(yolo):
    with pytest.raises(DataError, match="no object"):
        object_crops(ImageFolderDataset(yolo / "images"), progress=False)
