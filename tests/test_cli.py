"""The command line: help, info, generate, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from PIL import Image

from marinegan import DCGANConfig, Generator


@pytest.fixture
def model_dir(tmp_path):
    torch.manual_seed(0)
    Generator(DCGANConfig(image_size=32, ngf=8, nz=16)).save_pretrained(tmp_path / "gen")
    return tmp_path / "gen"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "marinegan.cli", *args], capture_output=True, text=True, timeout=300)


def test_help_lists_subcommands():
    out = run_cli("--help").stdout
    for cmd in ("info", "generate"):
        assert cmd in out


def test_info_prints_config_parameters_and_device(model_dir):
    proc = run_cli("info", str(model_dir), "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    n = sum(p.numel() for p in Generator(DCGANConfig(image_size=32, ngf=8, nz=16)).parameters())
    assert f"parameters: {n:,}" in proc.stdout
    assert "image_size: 32" in proc.stdout and "device: cpu" in proc.stdout


def test_generate_writes_grid_and_individual_images(model_dir, tmp_path):
    out, imgs = tmp_path / "grid.png", tmp_path / "imgs"
    proc = run_cli("generate", str(model_dir), "-n", "10", "--seed", "1", "--out", str(out),
                   "--images-dir", str(imgs), "--nrow", "5", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    grid = Image.open(out)
    assert grid.size == (5 * 34 + 2, 2 * 34 + 2)  # 5x2 tiles of 32 px with 2 px padding
    files = sorted(imgs.glob("*.png"))
    assert len(files) == 10 and Image.open(files[0]).size == (32, 32)
    again = tmp_path / "again.png"
    run_cli("generate", str(model_dir), "-n", "10", "--seed", "1", "--out", str(again), "--nrow", "5")
    assert again.read_bytes() == out.read_bytes(), "same seed must give the same grid"
    truncated = tmp_path / "truncated.png"
    proc = run_cli("generate", str(model_dir), "-n", "10", "--seed", "1", "--out", str(truncated), "--nrow", "5",
                   "--truncation", "0.5", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert truncated.read_bytes() != out.read_bytes(), "truncated latents make other images"
    bad = run_cli("generate", str(model_dir), "--out", str(tmp_path / "bad.png"), "--truncation", "0")
    assert bad.returncode == 2 and "positive number of standard deviations" in bad.stderr, bad.stderr
    assert not (tmp_path / "bad.png").exists()


def test_bad_model_gives_one_line_error_and_exit_2(tmp_path):
    proc = run_cli("info", str(tmp_path / "missing"))
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_export_and_mix_commands(rgba_dir, tmp_path):
    from marinegan import YoloDataset
    from marinegan.toydata import make_toy_yolo

    real = make_toy_yolo(tmp_path / "real", n=10, size=64, single_class="plastic")
    (real / "SOURCES.md").write_text("toy\n")
    proc = run_cli("export", str(rgba_dir), "-n", "6", "--format", "coco", "--out", str(tmp_path / "syn"),
                   "--backgrounds", str(real), "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    coco = json.loads((tmp_path / "syn" / "annotations.json").read_text())
    assert len(coco["images"]) == 6 and all(im["synthetic"] for im in coco["images"])
    assert (tmp_path / "syn" / "ATTRIBUTION" / "SOURCES.md").is_file()

    proc = run_cli("mix", str(real), str(rgba_dir), "--ratio", "0.5", "--out", str(tmp_path / "mixed"),
                   "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert "20 samples (10 real, 10 synthetic)" in proc.stdout
    assert len(YoloDataset(tmp_path / "mixed")) == 20


def test_mix_command_with_a_bad_ratio_changes_nothing(rgba_dir, tmp_path):
    from marinegan.toydata import make_toy_yolo

    real = make_toy_yolo(tmp_path / "real", n=4, size=64, single_class="plastic")
    proc = run_cli("mix", str(real), str(rgba_dir), "--ratio", "1.5", "--out", str(tmp_path / "mixed"))
    assert proc.returncode == 2 and "--ratio 1.5 must be a number in [0, 1]" in proc.stderr
    assert not (tmp_path / "mixed").exists()


def test_push_command_uploads_the_saved_folder(hub_server, model_dir):
    card = model_dir / "README.md"
    card.write_text(card.read_text().replace("Not recorded.", "Trained on toy scenes.", 1))
    env_proc = subprocess.run([sys.executable, "-m", "marinegan.cli", "push", str(model_dir), "ocean/cli-push"],
                              capture_output=True, text=True, timeout=120)
    assert env_proc.returncode == 0, env_proc.stderr
    repo = hub_server.hub.repos["ocean/cli-push"]
    files = repo.commits[repo.refs["main"]]
    assert files["model.safetensors"] == (model_dir / "model.safetensors").read_bytes()
    assert b"Trained on toy scenes." in files["README.md"]


def test_push_refuses_a_broken_folder_before_sending_anything(hub_server, model_dir):
    (model_dir / "model.safetensors").write_bytes(b"broken")
    before = len(hub_server.hub.requests)
    proc = run_cli("push", str(model_dir), "ocean/never")
    assert proc.returncode == 2 and "not a valid safetensors file" in proc.stderr
    assert len(hub_server.hub.requests) == before


def test_demo_command(rgba_dir, tmp_path):
    proc = run_cli("demo", "--out", str(tmp_path / "demo"), "--model", str(rgba_dir), "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert "40 real + 17 synthetic" in proc.stdout and "procedural toy scenes" in proc.stdout
    picture = Image.open(tmp_path / "demo" / "demo_grid.png")
    assert picture.width > 8 * 128 and picture.height > 2 * 128


def test_ablate_command_runs_the_three_arm_grid_at_toy_size(tmp_path):
    """The command of docs/results.md, at toy size: real, copy-paste and gan arms, equal steps, curve, reports."""
    from marinegan.toydata import make_toy_yolo

    train = make_toy_yolo(tmp_path / "train", n=10, size=96, seed=0, single_class="plastic")
    val = make_toy_yolo(tmp_path / "val", n=4, size=96, seed=1, single_class="plastic")
    out = tmp_path / "abl"
    args = ("ablate", str(train), str(val), "default", "--arms", "real,copy-paste,gan", "--scale", "0.15,0.45",
            "--sizes", "6",
            "--ratios", "0.5", "--seeds", "0", "--steps", "2", "--curve-every", "1", "--detector",
            "fcos_efficientnet_lite0", "--pretrained-backbone", "--image-size", "64", "--out", str(out),
            "--device", "cpu")
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| copy-paste | 6 | 0.5 | 6 | 1 |" in proc.stdout and "| gan | 6 | 0.5 | 6 | 1 |" in proc.stdout
    rows = (out / "runs.csv").read_text().splitlines()
    assert len(rows) == 4 and rows[0].startswith("arm,size,ratio,seed,")
    assert (out / "curve.png").is_file() and (out / "ablation.png").is_file()
    real_run = out / "runs" / "real_n6_r0_s0.json"
    stamp = real_run.stat().st_mtime_ns
    attempt = run_cli(*args[:5], "gan", *args[6:], "--blend", "gaussian")
    assert attempt.returncode == 0, attempt.stderr[-2000:]
    assert "| gan[blend=gaussian] | 6 | 0.5 | 6 | 1 |" in attempt.stdout, "an attempt joins the table as its own row"
    assert "| copy-paste | 6 |" in attempt.stdout and real_run.stat().st_mtime_ns == stamp, "real runs are shared"
    bad = run_cli("ablate", str(train), str(val), "--arms", "real,diffusion", "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "unknown arm(s) ['diffusion']" in bad.stderr
    assert not (tmp_path / "x").exists(), "a refused command writes nothing"
    look = run_cli("ablate", str(train), str(val), "--arms", "gan", "--match", "blur,fog", "--out", str(tmp_path / "z"))
    assert look.returncode == 2 and "--match: unknown ['fog']; choose from blur, haze, noise" in look.stderr
    assert not (tmp_path / "z").exists()
    empty = run_cli("ablate", str(train), str(val), "--arms", "", "--out", str(tmp_path / "y"))
    assert empty.returncode == 2 and "name at least one arm" in empty.stderr and not (tmp_path / "y").exists()
