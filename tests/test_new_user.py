"""What a new user trips over (issue 12): each item fails before its fix and passes now."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from marinegan import DCGANConfig, Generator, SyntheticPlasticDataset, YoloDataset, mix_datasets
from marinegan.cli import main
from marinegan.toydata import make_toy_yolo

ROOT = Path(__file__).resolve().parents[1]
TRAIN_ARGS = ["--image-size", "32", "--nz", "16", "--ngf", "8", "--ndf", "8", "--batch-size", "4",
              "--checkpoint-every", "5", "--sample-every", "100", "--device", "cpu"]


def cli(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "marinegan", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def in_process(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out = capsys.readouterr()
    return exit_.value.code, out.out + out.err


@pytest.fixture
def split_set(tmp_path):
    root = tmp_path / "split"
    make_toy_yolo(root, n=6, size=48, seed=0, split="train", single_class="plastic")
    make_toy_yolo(root, n=4, size=48, seed=1, split="val", single_class="plastic")
    return root


# 1 ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command, module, fix", [
    ("evaluate", "torch_fidelity", "pip install 'marinegan[metrics]'"),
    ("ablate", "torchmetrics", "pip install --force-reinstall marinegan"),  # mAP is in the base install
])
def test_missing_optional_dependency_is_named_before_any_work(capsys, monkeypatch, split_set, command, module, fix):
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    args = [command, str(split_set)] + ([str(split_set)] if command == "ablate" else [])
    t = time.perf_counter()
    code, out = in_process(capsys, *args, "--device", "cpu")
    assert code == 2 and fix in out and module in out
    assert len(out.strip().splitlines()) == 1 and time.perf_counter() - t < 5


def test_ultralytics_trainer_is_checked_up_front(capsys, monkeypatch, split_set):
    monkeypatch.setitem(sys.modules, "ultralytics", None)
    code, out = in_process(capsys, "ablate", str(split_set), str(split_set), "--trainer", "ultralytics")
    assert code == 2 and "pip install 'marinegan[ultralytics]'" in out


# 2, 3 ---------------------------------------------------------------------------------------------------------
def test_resume_refuses_changed_options_and_steps_below_those_done(tmp_path, split_set):
    run = tmp_path / "run"
    proc = cli("train", str(split_set), "--out", str(run), "--steps", "5", *TRAIN_ARGS)
    assert proc.returncode == 0, proc.stderr
    assert "using split 'train'" in proc.stderr  # train says which split it defaulted to, as every command does
    proc = cli("train", "--resume", str(run), "--batch-size", "8", "--lr", "0.001", "--steps", "8")
    assert proc.returncode == 2
    assert "--batch-size (4 -> 8)" in proc.stderr and "--lr (0.0002 -> 0.001)" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = cli("train", "--resume", str(run), "--steps", "3")
    assert proc.returncode == 2 and "already trained 5 steps; steps=3" not in proc.stderr
    assert "already trained 5 steps; --steps 3 cannot undo them" in proc.stderr
    assert json.loads((run / "train_config.json").read_text())["steps"] == 5, "nothing rewritten"
    proc = cli("train", "--resume", str(run), "--steps", "7", "--sample-every", "2", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((run / "train_config.json").read_text())["steps"] == 7


# 4 ------------------------------------------------------------------------------------------------------------
def test_commands_default_to_the_train_split_and_say_so(tmp_path, split_set, rgba_dir):
    proc = cli("mix", str(split_set), str(rgba_dir), "--ratio", "0.5", "--out", str(tmp_path / "mixed"),
               "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert "using split 'train'" in proc.stderr
    assert "12 samples (6 real, 6 synthetic)" in proc.stdout  # the 4 val images stay out


def test_a_set_without_a_train_split_must_be_given_one(tmp_path):
    root = make_toy_yolo(tmp_path / "s", n=2, size=32, split="val", single_class="plastic")
    from marinegan import open_dataset
    from marinegan.errors import DataError

    with pytest.raises(DataError, match=r"holds the splits \['val'\]; choose one"):
        open_dataset(root)


# 6 ------------------------------------------------------------------------------------------------------------
def test_errors_name_the_flag_of_the_command_line(tmp_path, rgba_dir):
    real = make_toy_yolo(tmp_path / "real", n=3, size=48, single_class="plastic")
    (real / "labels" / "scene_0001.txt").write_text("9 0.5 0.5 0.1 0.1\n")
    proc = cli("mix", str(real), str(rgba_dir), "--out", str(tmp_path / "m"))
    assert proc.returncode == 2 and "--on-error skip" in proc.stderr and "on_error=" not in proc.stderr
    proc = cli("mix", str(real), str(rgba_dir), "--out", str(tmp_path / "m"), "--on-error", "skip", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr


# 7 ------------------------------------------------------------------------------------------------------------
def test_info_on_a_mistyped_local_path_says_no_such_folder(tmp_path):
    (tmp_path / "runs").mkdir()
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "marinegan", "info", "runs/generator"], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2 and "no such local folder: runs/generator" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and time.perf_counter() - t < 20


# 8 ------------------------------------------------------------------------------------------------------------
def test_export_without_backgrounds_asks_for_them(capsys, rgba_dir, tmp_path):
    code, out = in_process(capsys, "export", str(rgba_dir), "-n", "10", "--out", str(tmp_path / "x"))
    assert code == 2 and "--backgrounds" in out and "RGBA object generator" in out
    assert not (tmp_path / "x").exists()


# 9 ------------------------------------------------------------------------------------------------------------
def test_push_offline_is_one_line_and_the_folder_is_intact(rgba_dir):
    before = {p.name: p.read_bytes() for p in rgba_dir.iterdir()}
    proc = cli("push", str(rgba_dir), "ocean/x", env={"HF_ENDPOINT": "http://127.0.0.1:9"}, timeout=60)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "pushing" in proc.stderr and "is intact" in proc.stderr
    assert {p.name: p.read_bytes() for p in rgba_dir.iterdir()} == before


# 10 -----------------------------------------------------------------------------------------------------------
def test_checkpoint_and_weights_honour_the_umask(tmp_path, split_set):
    proc = subprocess.run([sys.executable, "-c", "import os, sys; os.umask(0o022); from marinegan.cli import main; "
                           "main(sys.argv[1:])", "train", str(split_set), "--out", str(tmp_path / "r"),
                           "--steps", "5", *TRAIN_ARGS], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for path in (tmp_path / "r" / "checkpoint.pt", tmp_path / "r" / "generator" / "model.safetensors"):
        assert path.stat().st_mode & 0o777 == 0o644, path


# 11 -----------------------------------------------------------------------------------------------------------
def test_one_argument_order_short_flags_help_defaults_and_python_m():
    helps = {c: cli(c, "--help").stdout for c in ("evaluate", "mix", "ablate", "export", "train")}
    assert re.search(r"REAL\W*\s+\[MODEL\]", helps["evaluate"]) and re.search(r"REAL\W*\s+\[MODEL\]", helps["mix"])
    assert "-n" in helps["evaluate"].split("--n")[0] or "-n, --n" in helps["evaluate"]
    flat = {c: " ".join(h.split()) for c, h in helps.items()}  # help wraps lines
    assert "[default: 1000]" in flat["train"] and "[default: train if there is one]" in flat["mix"]
    proc = cli("mix")  # a usage error: one line, no box
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "─" not in proc.stderr
    assert "missing argument 'real'" in proc.stderr.lower()
    assert "Commands" in cli().stdout  # no arguments: the help, as before


# 12 -----------------------------------------------------------------------------------------------------------
def test_mixed_sets_have_unique_stable_image_ids(tmp_path, rgba_dir):
    real = YoloDataset(make_toy_yolo(tmp_path / "real", n=20, size=48, single_class="plastic"))
    syn = SyntheticPlasticDataset(rgba_dir, 9, backgrounds=real, device="cpu")
    mixed = mix_datasets(real, syn, ratio=0.3, seed=0)
    ids = [mixed[i][1]["image_id"] for i in range(len(mixed))]
    assert len(set(ids)) == len(mixed) == 29 and ids == list(range(29))
    assert {mixed[i][1]["source_image_id"] for i in range(len(mixed)) if not mixed[i][1]["synthetic"]} == set(
        range(20))


# 13 -----------------------------------------------------------------------------------------------------------
def test_ctrl_c_says_which_checkpoint_is_kept_and_how_to_resume(tmp_path, split_set):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "marinegan", "train", str(split_set), "--out", str(run),
                             "--steps", "100000", *TRAIN_ARGS], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 120
    while not (run / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert re.search(r"interrupted at step \d+: .*checkpoint.pt keeps step \d+", err)
    assert f"marinegan train --resume {run}" in err and "Traceback" not in err


def test_loss_curve_is_drawn_with_a_moving_average():
    from marinegan.train.artefacts import moving_average

    assert moving_average([1, 3, 5, 7], 2) == [1, 2, 4, 6]
    noisy = [(-1) ** i for i in range(100)]
    assert max(abs(v) for v in moving_average(noisy, 10)[10:]) <= 0.1


def test_card_without_a_data_licence_says_the_terms_are_unknown(tmp_path):
    Generator(DCGANConfig(image_size=32, ngf=8, nz=8)).save_pretrained(tmp_path / "g")
    card = (tmp_path / "g" / "README.md").read_text()
    assert "licence was not recorded" in card and "Weights: mit" not in card


def test_demo_leaves_no_progress_bar_and_no_folder_after_a_bad_path(tmp_path, rgba_dir):
    proc = cli("demo", "--out", str(tmp_path / "d"), "--real", str(tmp_path / "absent"))
    assert proc.returncode == 2 and not (tmp_path / "d").exists()
    proc = cli("demo", "--out", str(tmp_path / "d2"), "--model", str(rgba_dir), "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert "0/1" not in proc.stderr and "generating synthetic samples" not in proc.stderr


# 14 -----------------------------------------------------------------------------------------------------------
def test_wandb_offline_run_holds_losses_sample_grids_and_config(tmp_path, split_set):
    pytest.importorskip("wandb")
    env = {"WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path / "wb"), "WANDB_SILENT": "true"}
    (tmp_path / "wb").mkdir()
    proc = cli("train", str(split_set), "--out", str(tmp_path / "run"), "--steps", "6", "--log", "wandb",
               "--sample-every", "3", *TRAIN_ARGS[:-4], "--device", "cpu", env=env)
    assert proc.returncode == 0, proc.stderr
    from wandb_records import read_records

    files = sorted((tmp_path / "run").rglob("offline-run-*/*.wandb"))
    assert len(files) == 1, list((tmp_path / "run").rglob("*"))
    history, config = [], {}
    for rec in read_records(files[0]):
        if rec.WhichOneof("record_type") == "history":
            history.append({i.key or "/".join(i.nested_key): i.value_json for i in rec.history.item})
        elif rec.WhichOneof("record_type") == "run":
            config.update({i.key: i.value_json for i in rec.run.config.update})
    steps = [int(h["_step"]) for h in history if "loss_g" in h]
    assert steps == [1, 2, 3, 4, 5, 6]
    grids = [h for h in history if h.get("samples/_type") == '"image-file"']
    assert [int(h["_step"]) for h in grids] == [1, 3, 6]
    assert json.loads(config["batch_size"]) == 4 and json.loads(config["model"])["image_size"] == 32
    assert list((tmp_path / "run").rglob("media/images/samples_*.png"))
    Image.open(next((tmp_path / "run").rglob("media/images/samples_*.png"))).verify()
