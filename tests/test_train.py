"""GAN training: artefacts, learning, exact resume after a kill, DDP on CPU, clear errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch
from PIL import Image

from marinegan import ConfigError, DCGANConfig, load_generator
from marinegan.toydata import make_toy_yolo
from marinegan.train import TrainConfig, train_gan
from marinegan.train.diffaugment import diff_augment

TINY = DCGANConfig(image_size=32, nz=16, ngf=8, ndf=8)


def solid_images(n: int, rgb=(220, 30, 30)) -> list[torch.Tensor]:
    return [torch.tensor(rgb, dtype=torch.uint8)[:, None, None].expand(3, 40, 40).clone() for _ in range(n)]


def test_run_writes_every_artefact(tmp_path):
    cfg = TrainConfig(model=TINY, steps=12, batch_size=8, sample_every=5, checkpoint_every=6, ema=0.9)
    result = train_gan(solid_images(20), cfg, tmp_path / "run", device="cpu", progress=False,
                       data_description="20 red squares")
    run = tmp_path / "run"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, 13))
    assert {"loss_d", "loss_g", "d_real", "d_fake", "images_per_s"} <= set(records[0])
    assert all(0 <= r["d_real"] <= 1 and 0 <= r["d_fake"] <= 1 for r in records)
    assert Image.open(run / "loss.png").size[0] > 300
    gif = Image.open(run / "progress.gif")
    assert gif.n_frames == 4  # steps 1, 5, 10 and the last (12)
    assert Image.open(run / "real_vs_fake.png").width > 2 * 8 * 32
    g = load_generator(run / "generator", device="cpu")
    assert g.config == TINY
    card = (run / "generator" / "README.md").read_text()
    assert "20 red squares" in card and "12 steps" in card and "EMA 0.9" in card
    assert result.steps == 12 and result.images_per_second > 0


def test_training_learns_the_data_colour(tmp_path):
    cfg = TrainConfig(model=TINY, steps=150, batch_size=16, lr=1e-3, sample_every=1000, checkpoint_every=1000)
    train_gan(solid_images(32), cfg, tmp_path / "run", device="cpu", progress=False)
    fake = load_generator(tmp_path / "run" / "generator", device="cpu").generate(64, seed=0)
    mean_rgb = ((fake.mean(dim=(0, 2, 3)) + 1) * 127.5).tolist()
    assert mean_rgb[0] > 150 and mean_rgb[1] < 90 and mean_rgb[2] < 90, f"generated mean colour {mean_rgb}"


def test_resume_after_kill_matches_an_uninterrupted_run(tmp_path):
    data = make_toy_yolo(tmp_path / "data", n=24, size=48, seed=0)
    args = ["--image-size", "32", "--nz", "16", "--ngf", "8", "--ndf", "8", "--steps", "400", "--batch-size", "8",
            "--checkpoint-every", "10", "--sample-every", "100", "--diffaugment", "color,translation,cutout",
            "--ema", "0.95", "--loss", "hinge", "--spectral-norm", "--device", "cpu", "--seed", "3"]
    cli = [sys.executable, "-m", "marinegan.cli", "train"]
    subprocess.run([*cli, str(data), "--out", str(tmp_path / "full"), *args], check=True, capture_output=True,
                   timeout=300)

    proc = subprocess.Popen([*cli, str(data), "--out", str(tmp_path / "killed"), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = tmp_path / "killed" / "checkpoint.pt"
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = torch.load(ckpt, weights_only=True)
    assert 0 < state["step"] < 400, "the run must be killed part-way"
    assert not (tmp_path / "killed" / "generator").exists()

    subprocess.run([*cli, "--resume", str(tmp_path / "killed")], check=True, capture_output=True, timeout=300)
    full = load_generator(tmp_path / "full" / "generator", device="cpu")
    resumed = load_generator(tmp_path / "killed" / "generator", device="cpu")
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), f"{name} differs after resume"
    steps = [json.loads(line)["step"] for line in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 401)), "metrics hold each step once"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_two_cpu_processes(tmp_path):
    data = make_toy_yolo(tmp_path / "data", n=16, size=48, seed=0)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={free_port()}",
         "--master_addr=127.0.0.1",
         "-m", "marinegan.cli", "train", str(data), "--out", str(tmp_path / "ddp"), "--image-size", "32",
         "--nz", "16", "--ngf", "8", "--ndf", "8", "--steps", "6", "--batch-size", "4", "--device", "cpu",
         "--sample-every", "3", "--checkpoint-every", "3"],
        capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[rank 0/2] finished 6 steps" in proc.stderr and "[rank 1/2] finished 6 steps" in proc.stderr
    lines = (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [1, 2, 3, 4, 5, 6], "only rank 0 writes metrics"
    assert all(json.loads(x)["images_per_s"] > 0 for x in lines)
    load_generator(tmp_path / "ddp" / "generator", device="cpu")


def test_existing_run_and_changed_settings_are_refused(tmp_path):
    cfg = TrainConfig(model=TINY, steps=2, batch_size=4)
    train_gan(solid_images(8), cfg, tmp_path / "run", device="cpu", progress=False)
    with pytest.raises(ConfigError, match="already holds a training run"):
        train_gan(solid_images(8), cfg, tmp_path / "run", device="cpu", progress=False)
    with pytest.raises(ConfigError, match=r"other settings for \['lr'\]"):
        train_gan(solid_images(8), TrainConfig(model=TINY, steps=4, batch_size=4, lr=1e-3), tmp_path / "run",
                  resume=True, device="cpu", progress=False)
    more = train_gan(solid_images(8), TrainConfig(model=TINY, steps=4, batch_size=4), tmp_path / "run",
                     resume=True, device="cpu", progress=False)
    assert more.steps == 4


@pytest.mark.parametrize("kwargs, message", [
    ({"loss": "wgan"}, "loss='wgan'"), ({"diffaugment": "color,zoom"}, r"unknown DiffAugment ops \['zoom'\]"),
    ({"ema": 1.0}, "ema=1.0"), ({"steps": 0}, "steps=0"),
])
def test_bad_training_settings(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**kwargs)


def test_missing_logging_backend_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"wandb, which is not installed: pip install 'marinegan\[wandb\]'"):
        train_gan(solid_images(4), TrainConfig(model=TINY, steps=1, batch_size=4), tmp_path / "r", device="cpu",
                  loggers=["wandb"], progress=False)
    assert not (tmp_path / "r").exists()  # refused before the run folder is made


def test_rgba_model_needs_rgba_images(tmp_path):
    from marinegan.errors import DataError

    with pytest.raises(DataError, match="object_crops"):
        train_gan(solid_images(4), TrainConfig(model=DCGANConfig(image_size=32, channels=4, ngf=8, ndf=8, nz=8),
                                               steps=1, batch_size=4), tmp_path / "r", device="cpu", progress=False)


def test_diffaugment_is_differentiable_seeded_and_keeps_alpha_colour():
    x = torch.rand(4, 4, 16, 16) * 2 - 1
    a = diff_augment(x, ["color", "translation", "cutout"], torch.Generator().manual_seed(1))
    b = diff_augment(x, ["color", "translation", "cutout"], torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == x.shape and not torch.equal(a, x)
    torch.testing.assert_close(diff_augment(x, ["color"], torch.Generator())[:, 3], x[:, 3])
    shifted = diff_augment(x, ["translation"], torch.Generator().manual_seed(0))
    assert {round(v, 6) for v in shifted.flatten().tolist()} - {round(v, 6) for v in x.flatten().tolist()} <= {0.0}
    y = x.clone().requires_grad_(True)
    diff_augment(y, ["color", "translation", "cutout"], torch.Generator()).sum().backward()
    assert y.grad.abs().sum() > 0


def test_tensorboard_backend_logs_the_same_scalars_as_the_jsonl(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train_gan(solid_images(8), TrainConfig(model=TINY, steps=5, batch_size=4), tmp_path / "run", device="cpu",
              loggers=["tensorboard"], progress=False)
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    assert {"loss_d", "loss_g", "d_real", "d_fake"} <= set(events.Tags()["scalars"])
    logged = [e.value for e in events.Scalars("loss_g")]
    jsonl = [json.loads(x)["loss_g"] for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [e.step for e in events.Scalars("loss_g")] == [1, 2, 3, 4, 5]
    assert logged == pytest.approx(jsonl, rel=1e-6)


@pytest.mark.real_data
def test_saved_ema_generator_draws_like_the_raw_generator_on_real_cutouts(real_data, tmp_path):
    """The saved EMA copy used to draw grey noise: no decay warm-up and the raw G's BatchNorm statistics."""
    from conftest import TRASH_CLASSES, TRASH_IGNORED

    from marinegan import VocDataset, object_crops
    from marinegan.models.dcgan import Generator

    ds = VocDataset(real_data, "val", classes=TRASH_CLASSES, ignore=TRASH_IGNORED)
    crops = object_crops(ds, 32, alpha="box", progress=False)
    model = DCGANConfig(image_size=32, channels=4, nz=32, ngf=16, ndf=16)
    cfg = TrainConfig(model=model, steps=150, batch_size=32, ema=0.999, diffaugment="color,translation,cutout",
                      sample_every=1000, checkpoint_every=1000)
    train_gan(crops, cfg, tmp_path / "run", device="cpu", progress=False)
    raw = Generator(model)
    raw.load_state_dict(torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["generator"])
    ema = load_generator(tmp_path / "run" / "generator", device="cpu")
    a, b = raw.generate(256, seed=1), ema.generate(256, seed=1)
    mean_a, mean_b = a.mean(dim=(0, 2, 3)), b.mean(dim=(0, 2, 3))
    std_a, std_b = a.std(dim=(0, 2, 3)), b.std(dim=(0, 2, 3))
    assert (mean_a - mean_b).abs().max() < 0.15, f"per-channel means differ: raw {mean_a} vs EMA {mean_b}"
    assert ((std_b / std_a) - 1).abs().max() < 0.35, f"per-channel spreads differ: raw {std_a} vs EMA {std_b}"
    real = crops.images.float() / 127.5 - 1
    assert (real.mean(dim=(0, 2, 3)) - mean_b).abs().max() < 0.3, "the EMA samples have the data's colours"


def test_ema_decay_warms_up_and_batchnorm_statistics_fit_the_ema_weights():
    from marinegan.models.dcgan import Generator
    from marinegan.train.ema import ema_decay, recalibrate_batchnorm

    assert ema_decay(0.999, 0) == pytest.approx(0.1) and ema_decay(0.999, 10_000) == 0.999
    assert ema_decay(0.999, 100) < 0.95
    g = Generator(TINY)
    with torch.no_grad():
        for p in g.parameters():
            p.mul_(3)
    recalibrate_batchnorm(g, TINY.nz, batches=8, batch_size=64, seed=0)
    assert not g.training
    # eval-mode activations after the first BatchNorm are standardised again, for these weights
    z = torch.randn(512, TINY.nz, 1, 1, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        h = g.main[1](g.main[0](z))
    assert h.mean(dim=(0, 2, 3)).abs().max() < 0.2 + g.main[1].bias.abs().max()
    before = {k: v.clone() for k, v in g.state_dict().items()}
    recalibrate_batchnorm(g, TINY.nz, batches=8, batch_size=64, seed=0)
    assert all(torch.equal(before[k], v) for k, v in g.state_dict().items()), "deterministic from the seed"
