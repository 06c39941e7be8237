"""What a new user trips over, round two (issue 18): each item fails before its fix and passes now."""

from __future__ import annotations

import csv
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from marinegan import DCGANConfig, Generator, SyntheticPlasticDataset, VocDataset, YoloDataset, mix_datasets
from marinegan.cli import cli_message, main
from marinegan.data import DataError, ImageFolderDataset, open_dataset
from marinegan.export import export_dataset
from marinegan.synth.composite import CompositeOptions, composite
from marinegan.terms import find_data_terms
from marinegan.toydata import make_toy_yolo

TRAIN_ARGS = ["--image-size", "32", "--nz", "16", "--ngf", "8", "--ndf", "8", "--batch-size", "4",
              "--checkpoint-every", "5", "--sample-every", "100", "--device", "cpu"]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "marinegan", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd)


def in_process(capsys, *args: str) -> tuple[int, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out + out.err


def one_error_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.startswith("error")]
    assert len(lines) == 1 and "Traceback" not in text, text[-3000:]
    return lines[0]


def bare_toy(root: Path, **kwargs) -> Path:
    """Toy scenes without the SOURCE.txt that make_toy_yolo writes: a dataset that states no terms."""
    make_toy_yolo(root, **kwargs)
    (root / "SOURCE.txt").unlink()
    return root


def write_voc(folder: Path) -> Path:
    """A flat Pascal VOC folder of three frames with plastic and bio boxes."""
    from test_voc import write_sample

    for k in range(3):
        write_sample(folder, f"f{k}", [("plastic", 5, 5, 30, 30), ("bio", 35, 10, 60, 40)])
    return folder


@pytest.fixture
def shelf(tmp_path):
    """Datasets kept as in ../shared/data: a folder of datasets with one SOURCES.md beside them."""
    root = tmp_path / "data"
    bare_toy(root / "reefs", n=8, size=64, seed=0, single_class="plastic")
    bare_toy(root / "other", n=4, size=64, seed=1, single_class="plastic")
    (root / "SOURCES.md").write_text(
        "# Data\n\n## reefs/ — reef frames\n\n- **Terms**: research use only; credit the Reef Lab.\n\n"
        "## other/ — something else\n\n- **Terms**: CC0.\n")
    return root


# 1 -- the data's terms travel with everything made from it ----------------------------------------------------
def test_terms_in_the_parent_sources_md_are_found_and_only_the_datasets_own_section_is_quoted(shelf):
    terms = find_data_terms(shelf / "reefs")
    assert terms.files == (shelf / "SOURCES.md",)
    assert "research use only" in terms.text and "CC0" not in terms.text
    assert "license: other" not in terms.card_text and "research use only" in terms.card_text


def test_a_dataset_cards_license_and_explicit_terms_are_found(tmp_path):
    data = bare_toy(tmp_path / "cards", n=2, size=32, single_class="plastic")
    (data / "README.md").write_text("---\nlicense: cc-by-4.0\npretty_name: toy\n---\n# A dataset card\n")
    assert find_data_terms(data).license == "cc-by-4.0"
    given = find_data_terms(None, license="cc-by-nc-4.0", terms="non-commercial use, credit us")
    assert given.license == "cc-by-nc-4.0" and "credit us" in given.text
    assert not find_data_terms(bare_toy(tmp_path / "bare", n=2, size=32))


def test_export_and_mix_of_a_dataset_on_a_shelf_write_attribution(shelf, rgba_dir, tmp_path):
    proc = cli("export", str(rgba_dir), "-n", "3", "--out", str(tmp_path / "syn"), "--backgrounds",
               str(shelf / "reefs"), "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert "research use only" in (tmp_path / "syn" / "ATTRIBUTION" / "SOURCES.md").read_text()
    assert "no licence or terms" not in proc.stderr
    proc = cli("mix", str(shelf / "reefs"), str(rgba_dir), "--ratio", "0.5", "--out", str(tmp_path / "mixed"),
               "--device", "cpu", "--data-license", "cc-by-nc-4.0")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "mixed" / "ATTRIBUTION" / "SOURCES.md").is_file()
    assert "cc-by-nc-4.0" in (tmp_path / "mixed" / "ATTRIBUTION" / "TERMS.md").read_text()


@pytest.mark.real_data
def test_the_readmes_own_dataset_path_finds_its_terms(real_data):
    terms = find_data_terms(real_data)
    assert terms.files == (real_data.parent / "SOURCES.md",)
    assert "academic teaching and research" in terms.text and "JAMSTEC" in terms.text


def test_train_writes_a_card_with_license_other_quoting_the_data_terms(shelf, tmp_path):
    proc = cli("train", str(shelf / "reefs"), "--out", str(tmp_path / "run"), "--steps", "2", *TRAIN_ARGS)
    assert proc.returncode == 0, proc.stderr
    card = (tmp_path / "run" / "generator" / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["license"] == "other"
    assert "research use only; credit the Reef Lab" in card and "was not recorded" not in card


def test_train_with_explicit_terms_and_a_dataset_without_any_says_so_at_the_start(tmp_path):
    bare = bare_toy(tmp_path / "bare", n=8, size=64, single_class="plastic")
    proc = cli("train", str(bare), "--out", str(tmp_path / "run"), "--steps", "2", *TRAIN_ARGS)
    assert proc.returncode == 0, proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith("warning: no licence or terms found for") and "--data-license" in first
    proc = cli("train", str(bare), "--out", str(tmp_path / "run2"), "--steps", "2", "--data-license", "cc0-1.0",
               "--data-terms", "public domain, no credit needed", *TRAIN_ARGS)
    assert proc.returncode == 0, proc.stderr
    card = (tmp_path / "run2" / "generator" / "README.md").read_text()
    assert yaml.safe_load(card.split("---")[1])["license"] == "other"
    assert "cc0-1.0" in card and "public domain, no credit needed" in card
    assert "no licence or terms found" not in proc.stderr


# 2 -- 16-bit greyscale ---------------------------------------------------------------------------------------
def test_a_16_bit_greyscale_png_is_scaled_to_8_bits_not_clipped_white(tmp_path):
    folder = tmp_path / "grey16"
    folder.mkdir()
    values = np.linspace(20000, 60000, 64 * 48).reshape(48, 64).astype(np.uint16)
    Image.fromarray(values).save(folder / "frame.png")
    assert Image.open(folder / "frame.png").mode.startswith("I")
    image, _ = ImageFolderDataset(folder)[0]
    assert image.dtype == torch.uint8 and image.shape == (3, 48, 64)
    expected = torch.from_numpy(np.rint(values / 257).astype(np.uint8))
    assert torch.equal(image[0], expected) and torch.equal(image[1], image[2])
    assert abs(image.float().mean().item() - values.mean() / 257) < 1


# 3 -- duplicate class names ----------------------------------------------------------------------------------
def test_duplicate_class_names_are_refused(tmp_path, capsys):
    data = make_toy_yolo(tmp_path / "d", n=2, size=32, single_class="plastic")
    voc = write_voc(tmp_path / "voc")
    with pytest.raises(DataError, match="'plastic' appear"):
        VocDataset(voc, classes=["plastic", "plastic"])
    code, out = in_process(capsys, "mix", str(data), "--classes", "plastic,plastic", "--out", str(tmp_path / "m"))
    assert code == 2 and "plastic is listed more than once" in one_error_line(out)
    assert not (tmp_path / "m").exists()
    with pytest.raises(Exception, match="unique"):
        SyntheticPlasticDataset(Generator(DCGANConfig(image_size=32, channels=4, ngf=8, nz=16)), 2,
                                backgrounds=open_dataset(data), classes=["__background__", "plastic", "plastic"])


# 4 -- train --steps 0 ----------------------------------------------------------------------------------------
def test_train_steps_zero_is_refused(tmp_path, capsys):
    data = make_toy_yolo(tmp_path / "d", n=4, size=32)
    code, out = in_process(capsys, "train", str(data), "--out", str(tmp_path / "run"), "--steps", "0")
    assert code == 2 and "--steps" in one_error_line(out)
    assert not (tmp_path / "run").exists()


# 5 -- a failed or interrupted command leaves nothing that blocks its re-run --------------------------------------
class Interrupting(torch.utils.data.Dataset):
    """A dataset whose reading is interrupted (Ctrl-C) after ``at`` items."""

    def __init__(self, inner, at: int, exc: BaseException) -> None:
        self.inner, self.at, self.exc, self.classes = inner, at, exc, inner.classes

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, i):
        if i == self.at:
            raise self.exc
        return self.inner[i]


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), OSError(errno.ENOSPC, "No space left on device")])
def test_an_interrupted_or_failing_export_leaves_nothing_and_the_rerun_works(tmp_path, exc):
    real = open_dataset(make_toy_yolo(tmp_path / "d", n=6, size=32, single_class="plastic"))
    with pytest.raises(type(exc)):
        export_dataset(Interrupting(real, 3, exc), tmp_path / "out", "yolo", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # no out/, no partial sibling
    export_dataset(real, tmp_path / "out", "yolo", progress=False)
    assert len(YoloDataset(tmp_path / "out")) == 6


def test_a_full_disk_is_one_line_and_leaves_no_folder(tmp_path, capsys, monkeypatch, rgba_dir):
    real = make_toy_yolo(tmp_path / "d", n=4, size=32, single_class="plastic")

    def full(self, fp, *args, **kwargs):  # noqa: ARG001
        raise OSError(errno.ENOSPC, "No space left on device", str(fp))
    monkeypatch.setattr(Image.Image, "save", full)
    code, out = in_process(capsys, "export", str(rgba_dir), "-n", "3", "--out", str(tmp_path / "syn"),
                           "--backgrounds", str(real), "--device", "cpu")
    assert code == 2 and "the disk is full" in one_error_line(out)
    assert not (tmp_path / "syn").exists() and not list(tmp_path.glob(".syn*"))


def test_ablate_with_an_unknown_detector_writes_nothing(tmp_path, capsys):
    data = make_toy_yolo(tmp_path / "d", n=4, size=32)
    code, out = in_process(capsys, "ablate", str(data), str(data), "--detector", "yolov99", "--out",
                           str(tmp_path / "abl"))
    assert code == 2 and "unknown detector 'yolov99'" in one_error_line(out)
    assert not (tmp_path / "abl").exists()


def test_train_log_wandb_without_wandb_is_refused_before_the_scan_and_the_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)
    code, out = in_process(capsys, "train", str(tmp_path / "no-such-data"), "--out", str(tmp_path / "run"),
                           "--log", "wandb")
    assert code == 2 and "pip install 'marinegan[wandb]'" in one_error_line(out)
    assert not (tmp_path / "run").exists()


def test_export_folder_of_a_composite_set_and_demo_bad_ratio_write_nothing(tmp_path, capsys, rgba_dir):
    real = make_toy_yolo(tmp_path / "d", n=4, size=32, single_class="plastic")
    code, out = in_process(capsys, "export", str(rgba_dir), "-n", "3", "--format", "folder", "--out",
                           str(tmp_path / "syn"), "--backgrounds", str(real), "--device", "cpu")
    assert code == 2 and "--mode scene" in one_error_line(out)
    code, out = in_process(capsys, "demo", "--out", str(tmp_path / "demo"), "--ratio", "2")
    assert code == 2 and "--ratio 2" in one_error_line(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "rgba"]


# 6 -- one line, exit 2, instead of tracebacks --------------------------------------------------------------------
def test_an_unwritable_output_folder_is_one_line(tmp_path, capsys, rgba_dir):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # writing below a file fails for root too, unlike chmod
    code, out = in_process(capsys, "generate", str(rgba_dir), "--out", str(blocker / "grid.png"), "--device", "cpu")
    assert code == 2 and "cannot use" in one_error_line(out)
    real = make_toy_yolo(tmp_path / "d", n=4, size=32, single_class="plastic")
    code, out = in_process(capsys, "export", str(rgba_dir), "-n", "2", "--out", str(blocker / "syn"),
                           "--backgrounds", str(real), "--device", "cpu")
    assert code == 2 and "cannot use" in one_error_line(out)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_one_line(tmp_path, capsys, rgba_dir):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, out = in_process(capsys, "generate", str(rgba_dir), "--out", str(locked / "grid.png"), "--device", "cpu")
    assert code == 2 and "may write to" in one_error_line(out)


def test_a_read_only_output_folder_is_one_line_as_root_too(tmp_path, capsys, monkeypatch, rgba_dir):
    def refuse(path, *args, **kwargs):  # noqa: ARG001
        raise PermissionError(errno.EACCES, "Permission denied", str(path))
    real = make_toy_yolo(tmp_path / "d", n=4, size=32, single_class="plastic")
    monkeypatch.setattr(os, "mkdir", refuse)
    code, out = in_process(capsys, "export", str(rgba_dir), "-n", "2", "--out", str(tmp_path / "new" / "syn"),
                           "--backgrounds", str(real), "--device", "cpu")
    assert code == 2 and "choose a folder you may write to" in one_error_line(out)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_device_cuda_without_cuda_is_one_line(tmp_path, capsys, rgba_dir):
    code, out = in_process(capsys, "generate", str(rgba_dir), "--out", str(tmp_path / "g.png"), "--device", "cuda")
    assert code == 2 and "CUDA is not available" in one_error_line(out)


def test_generate_refuses_bad_out_paths_nrow_zero_and_overwriting(tmp_path, capsys, rgba_dir):
    (tmp_path / "folder").mkdir()
    for out in (tmp_path / "folder", tmp_path / "grid.txt"):
        code, text = in_process(capsys, "generate", str(rgba_dir), "--out", str(out), "--device", "cpu")
        assert code == 2 and ".png" in one_error_line(text)
    code, text = in_process(capsys, "generate", str(rgba_dir), "--nrow", "0", "--out", str(tmp_path / "g.png"))
    assert code == 2 and "--nrow" in one_error_line(text)
    args = ["generate", str(rgba_dir), "-n", "4", "--out", str(tmp_path / "g.png"), "--images-dir",
            str(tmp_path / "imgs"), "--device", "cpu"]
    assert in_process(capsys, *args)[0] == 0
    before = (tmp_path / "g.png").read_bytes()
    code, text = in_process(capsys, *args[:-4], "--seed", "1", *args[-4:])
    assert code == 2 and "--overwrite" in one_error_line(text)
    assert (tmp_path / "g.png").read_bytes() == before and len(list((tmp_path / "imgs").iterdir())) == 4
    code, _ = in_process(capsys, *args, "-n", "2", "--seed", "1", "--overwrite")
    assert code == 0 and (tmp_path / "g.png").read_bytes() != before
    assert len(list((tmp_path / "imgs").iterdir())) == 2  # replaced, not mixed with the old images


# 7 -- sources.csv traces every image to its source ---------------------------------------------------------------
def test_sources_csv_names_each_images_own_index_and_file(tmp_path):
    real = open_dataset(make_toy_yolo(tmp_path / "d", n=10, size=32, single_class="plastic"))
    g = Generator(DCGANConfig(image_size=32, channels=4, ngf=8, nz=16))
    syn = SyntheticPlasticDataset(g, 10, backgrounds=real, device="cpu")
    mix = mix_datasets(real, syn, 0.5, size=10, seed=3)  # a seeded subset of the real frames
    out = export_dataset(mix, tmp_path / "out", "yolo", progress=False)
    with open(out / "sources.csv") as f:
        rows = list(csv.DictReader(f))
    for k, row in enumerate(rows):
        synthetic, j = mix.sources[k]
        assert row["origin"] == ("synthetic" if synthetic else "real") and int(row["source_index"]) == j
        if synthetic:
            assert row["source_file"] == str(real.samples[syn[j][1]["background_index"]].path)
        else:
            assert row["source_file"] == str(real.samples[j].path)
    assert any(int(r["source_index"]) != k for k, r in enumerate(rows) if r["origin"] == "real")


# 9 -- invisible pasted objects are not labelled -------------------------------------------------------------------
def test_a_pasted_object_with_a_few_visible_pixels_is_left_out_with_its_box():
    background = torch.full((3, 120, 160), 90, dtype=torch.uint8)
    speck = torch.zeros(1, 4, 32, 32, dtype=torch.uint8)
    speck[0, :3] = 200
    speck[0, 3] = 100  # faint everywhere: alpha under 0.5 ...
    speck[0, 3, 15:17, 15:18] = 255  # ... but for a 2x3 spot
    options = CompositeOptions(scale=(0.3, 0.3), flip=False, color_match=0)
    image, boxes, kept = composite(background, speck, torch.Generator().manual_seed(0), options)
    assert len(boxes) == 0 and len(kept) == 0 and torch.equal(image, background)
    image, boxes, _ = composite(background, speck, torch.Generator().manual_seed(0),
                                CompositeOptions(scale=(0.3, 0.3), flip=False, color_match=0, min_visible_area=0))
    assert len(boxes) == 1 and (boxes[0, 2:] - boxes[0, :2]).prod() < 20  # the old behaviour, on request


# 11 -- the smaller ones ----------------------------------------------------------------------------------------------
def test_one_seed_tables_show_no_spread_and_the_title_fits(tmp_path):
    from marinegan.evaluate.ablation import plot_ablation, results_table, summarise

    runs = [{"arm": a, "size": 10, "ratio": r, "seed": 0, "real": 10, "synthetic": s, "map_50": m, "map": m / 2}
            for a, r, s, m in (("real", 0.0, 0, 0.4), ("gan[blend=gaussian,scale=0.2-0.7]", 0.5, 10, 0.5))]
    table = "\n".join(results_table(summarise(runs)))
    assert "±" not in table and "0.400" in table
    path = plot_ablation(summarise(runs), tmp_path / "a.png", "fcos_efficientnet_lite0, 1000 steps")
    top = np.asarray(Image.open(path).convert("L"))[:40]
    assert (top[:, :3] > 250).all() and (top[:, -3:] > 250).all()  # no title text runs off either edge


def test_cli_messages_name_the_flags_as_typed(tmp_path, capsys):
    assert cli_message("ratio=-0.2 must be in [0, 1]") == "--ratio -0.2 must be in [0, 1]"
    assert cli_message("size=5 real frames", "ablate") == "--sizes 5 real frames"
    data = make_toy_yolo(tmp_path / "d", n=4, size=32, split="train")
    make_toy_yolo(tmp_path / "d", n=2, size=32, split="val", seed=1)
    code, out = in_process(capsys, "ablate", str(tmp_path / "d"), str(tmp_path / "d"), "--ratios", "1.5",
                           "--out", str(tmp_path / "abl"), "--device", "cpu")
    line = one_error_line(out)
    assert code == 2 and "--ratios 1.5" in line and "--ratio " not in line
    assert "--split ..." in out and "--split on the command line" not in out
    assert data.is_dir()


def test_hints_point_to_what_exists(tmp_path, capsys, rgba_dir):
    voc = write_voc(tmp_path / "voc")
    code, out = in_process(capsys, "mix", str(voc), "--classes", "plastic", "--out", str(tmp_path / "m"))
    line = one_error_line(out)
    assert code == 2 and "--classes" in line and "--ignore" in line and "class_map" not in line
    code, out = in_process(capsys, "export", str(rgba_dir), "--backgrounds", str(voc), "--classes", "bio,plastic",
                           "--out", str(tmp_path / "e"), "--device", "cpu")
    assert code == 2 and "--label plastic" in one_error_line(out)


def test_info_on_a_run_folder_points_to_its_generator(tmp_path, capsys, rgba_dir):
    run = tmp_path / "run1"
    run.mkdir()
    rgba_dir.rename(run / "generator")
    code, out = in_process(capsys, "info", str(run))
    assert code == 2 and f"{run / 'generator'}" in one_error_line(out)


def test_exported_data_yaml_has_no_val_on_the_training_images_unless_given(tmp_path, rgba_dir, capsys):
    real = make_toy_yolo(tmp_path / "d", n=4, size=32, single_class="plastic")
    assert in_process(capsys, "mix", str(real), str(rgba_dir), "--out", str(tmp_path / "a"), "--device", "cpu")[0] == 0
    assert "val" not in yaml.safe_load((tmp_path / "a" / "data.yaml").read_text())
    assert in_process(capsys, "mix", str(real), str(rgba_dir), "--out", str(tmp_path / "b"), "--device", "cpu",
                      "--val", "/data/real/val/images")[0] == 0
    assert yaml.safe_load((tmp_path / "b" / "data.yaml").read_text())["val"] == "/data/real/val/images"


def test_a_missing_lite_extra_is_named_before_the_dataset_scan(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite_pytorch", None)
    code, out = in_process(capsys, "ablate", str(tmp_path / "absent"), str(tmp_path / "absent"), "--detector",
                           "fcos_efficientnet_lite0")
    assert code == 2 and "pip install 'marinegan[lite]'" in one_error_line(out)


# 12 -- a cap on validation frames ----------------------------------------------------------------------------------
def test_val_size_scores_on_a_seeded_subset_and_the_report_says_so(tmp_path):
    from marinegan import ablate
    from marinegan.evaluate.ablation import validation_subset

    root = tmp_path / "d"
    make_toy_yolo(root, n=6, size=64, split="train", single_class="plastic")
    make_toy_yolo(root, n=9, size=64, split="val", seed=1, single_class="plastic")
    train, val = open_dataset(root, "train"), open_dataset(root, "val")
    a, b = validation_subset(val, 4), validation_subset(val, 4)
    assert len(a) == 4 and a.indices == b.indices and validation_subset(val, 50) is val
    result = ablate(train, val, None, seeds=[0], steps=1, val_size=4, out_dir=tmp_path / "abl", device="cpu",
                    progress=False)
    assert len(result.runs) == 1
    report = (tmp_path / "abl" / "results.md").read_text()
    assert "on 4 of its frames" in report
    assert json.loads((tmp_path / "abl" / "ablation.json").read_text())["val_size"] == 4


def test_an_ablation_that_failed_before_any_run_finished_takes_the_corrected_recipe(tmp_path):
    from marinegan import ablate
    from marinegan.errors import ConfigError

    root = tmp_path / "d"
    make_toy_yolo(root, n=6, size=64, split="train", single_class="plastic")
    make_toy_yolo(root, n=3, size=64, split="val", seed=1, single_class="plastic")
    train, val = open_dataset(root, "train"), open_dataset(root, "val")

    def broken(backgrounds, length, seed):  # noqa: ARG001
        raise ConfigError("this arm fails in its first run")
    args = dict(ratios=[0.5], seeds=[0], steps=1, out_dir=tmp_path / "abl", device="cpu", progress=False,
                baseline=False)
    with pytest.raises(ConfigError, match="fails in its first run"):
        ablate(train, val, {"x": broken}, **args)
    result = ablate(train, val, None, **{**args, "baseline": True, "lr": 0.005})  # not "another recipe"
    assert len(result.runs) == 1
    with pytest.raises(ConfigError, match="another recipe"):  # once a run has finished, its recipe is kept
        ablate(train, val, None, **{**args, "baseline": True, "lr": 0.02})
