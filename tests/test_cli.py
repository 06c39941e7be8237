"""The command line: help, info, generate, and one-line errors with exit code 2."""

from __future__ import annotations

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


def test_bad_model_gives_one_line_error_and_exit_2(tmp_path):
    proc = run_cli("info", str(tmp_path / "missing"))
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
