"""Export: YOLO, COCO and ImageFolder outputs load in their consumer libraries as they are."""

from __future__ import annotations

import csv
import os

import pytest
import torch
from torchvision.datasets import ImageFolder

from marinegan import (
    ConfigError,
    DCGANConfig,
    Generator,
    SyntheticPlasticDataset,
    YoloDataset,
    export_dataset,
    mix_datasets,
)
from marinegan.terms import find_data_terms
from marinegan.toydata import make_toy_yolo


@pytest.fixture(scope="module")
def mix(tmp_path_factory):
    root = make_toy_yolo(tmp_path_factory.mktemp("real") / "r", n=10, size=64, seed=5)
    (root / "SOURCES.md").write_text("toy scenes, CC0\n")
    real = YoloDataset(root)
    torch.manual_seed(0)
    g = Generator(DCGANConfig(image_size=32, channels=4, ngf=8, nz=16))
    syn = SyntheticPlasticDataset(g, 20, backgrounds=real, label="bag", device="cpu")
    m = mix_datasets(real, syn, 0.5)
    m.root = root
    return m


def n_boxes(ds) -> int:
    return sum(len(ds[i][1]["boxes"]) for i in range(len(ds)))


def test_yolo_export_round_trips_through_our_reader(mix, tmp_path):
    out = export_dataset(mix, tmp_path / "y", "yolo", terms=find_data_terms(mix.root), progress=False)
    back = YoloDataset(out)
    assert len(back) == len(mix) and back.classes == mix.classes
    for i in (0, 5, len(mix) - 1):
        assert torch.equal(back[i][0], mix[i][0])
        torch.testing.assert_close(back[i][1]["boxes"].as_subclass(torch.Tensor),
                                   mix[i][1]["boxes"].as_subclass(torch.Tensor), atol=1e-3, rtol=0)
        assert torch.equal(back[i][1]["labels"], mix[i][1]["labels"])
    with open(out / "sources.csv") as f:
        rows = list(csv.DictReader(f))
    assert sum(r["origin"] == "synthetic" for r in rows) == mix.counts()["synthetic"]
    assert (out / "ATTRIBUTION" / "SOURCES.md").read_text() == "toy scenes, CC0\n"


def test_yolo_export_trains_in_ultralytics_offline(mix, tmp_path, monkeypatch):
    pytest.importorskip("ultralytics")
    # val: a real user names real validation images; here the check is only that training reads the export
    out = export_dataset(mix, tmp_path / "y", "yolo", val="images", progress=False)
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "ucfg"))
    monkeypatch.chdir(tmp_path)
    from ultralytics import YOLO

    model = YOLO("yolov8n.yaml")
    model.train(data=str(out / "data.yaml"), epochs=1, imgsz=64, batch=4, device="cpu", workers=0, plots=False,
                amp=False, project=str(tmp_path / "runs"), name="t", verbose=False)
    labels = model.trainer.train_loader.dataset.labels
    assert len(labels) == len(mix)
    assert sum(len(lb["cls"]) for lb in labels) == n_boxes(mix)
    assert {int(c) for lb in labels for c in lb["cls"].flatten()} <= {0, 1}


def test_coco_export_loads_in_pycocotools(mix, tmp_path):
    from pycocotools.coco import COCO

    out = export_dataset(mix, tmp_path / "c", "coco", progress=False)
    coco = COCO(str(out / "annotations.json"))
    assert len(coco.getImgIds()) == len(mix)
    assert len(coco.getAnnIds()) == n_boxes(mix)
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == mix.classes[1:]
    first = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    x0, y0, x1, y1 = mix[0][1]["boxes"][0].tolist()
    assert first[0]["bbox"] == pytest.approx([x0, y0, x1 - x0, y1 - y0], abs=1e-3)
    assert sum(im["synthetic"] for im in coco.loadImgs(coco.getImgIds())) == mix.counts()["synthetic"]


def test_folder_export_loads_in_torchvision_imagefolder(tmp_path):
    torch.manual_seed(0)
    scenes = SyntheticPlasticDataset(Generator(DCGANConfig(image_size=32, ngf=8, nz=16)), 6, mode="scene",
                                     device="cpu")
    out = export_dataset(scenes, tmp_path / "f", "folder", progress=False)
    folder = ImageFolder(str(out))
    assert folder.classes == ["plastic"] and len(folder) == 6
    assert folder[0][0].size == (32, 32)


def test_export_refuses_to_overwrite_and_folder_needs_scenes(mix, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        export_dataset(mix, tmp_path / "busy", "yolo")
    assert os.listdir(tmp_path / "busy") == ["keep.txt"]
    with pytest.raises(ConfigError, match="folder export is for scene-mode"):
        export_dataset(mix, tmp_path / "f", "folder", progress=False)
