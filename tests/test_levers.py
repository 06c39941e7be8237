"""Issue 17's levers at toy size: overlays masked out of cut-outs, the own-frames copy-paste arms, box sizes
from the data, synthetic samples on top of the real epochs and a real-only tail, through `marinegan ablate`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_voc import write_sample

from marinegan import VocDataset, object_crops
from marinegan.errors import ConfigError, DataError
from marinegan.toydata import make_toy_yolo


def test_an_overlay_is_masked_out_of_a_cutout_instead_of_dropping_the_object(tmp_path):
    write_sample(tmp_path / "voc", "f0", [("plastic", 20, 20, 50, 50), ("timestamp", 40, 2, 63, 20)], size=(64, 64))
    ds = VocDataset(tmp_path / "voc", classes=["plastic"], ignore=["timestamp"])
    with pytest.raises(Exception, match="no object"):
        object_crops(ds, 32, alpha="box", progress=False)  # by default a crop touching the overlay is dropped
    masked = object_crops(ds, 32, alpha="box", overlays="mask", progress=False)
    assert len(masked) == 1 and masked.stats["overlay_masked"] == 1
    alpha = masked.images[0, 3]
    # the crop square is (16.5..53.5)^2 in the frame: the timestamp's part of it is rows 0..2, columns 20..32
    assert (alpha[:2, 21:] == 0).all() and alpha[16, 16] == 255
    with pytest.raises(ConfigError, match="RGBA"):
        object_crops(ds, 32, overlays="mask", progress=False)


def _loosely_labelled(root: Path) -> Path:
    """Three frames, each with a red square of 24 px labelled plastic by a box of 32 px (a loose annotator)."""
    import numpy as np
    from PIL import Image
    from test_voc import voc_xml

    root.mkdir()
    rng = np.random.default_rng(0)
    for k, (x, y) in enumerate([(20, 20), (60, 30), (30, 60)]):
        image = rng.integers(90, 110, (100, 100, 3)).astype(np.uint8)  # grey sea floor with a little noise
        image[y + 4:y + 28, x + 4:x + 28] = (200, 40, 40)
        Image.fromarray(image).save(root / f"f{k}.png")
        (root / f"f{k}.xml").write_text(voc_xml(f"f{k}.png", (100, 100), [("plastic", x, y, x + 32, y + 32)]))
    return root


def test_cutouts_measure_how_loosely_their_boxes_were_drawn(tmp_path):
    """The GrabCut cut-outs' alpha spans 0.75 of each loose box, so box_grow() is 4/3, what turns the tight box of a
    pasted cut-out back into its label's."""
    root = _loosely_labelled(tmp_path / "voc")
    crops = object_crops(VocDataset(root, classes=["plastic"]), 64, alpha="grabcut", progress=False)
    assert crops.stats["grabcut"] == 3
    assert torch.allclose(crops.fill, torch.full((3, 2), 0.75), atol=0.07), crops.fill
    assert crops.box_grow() == pytest.approx(4 / 3, rel=0.08)
    side = 64 / 1.2  # the default pad: a tenth of the box's long side on each side of it
    assert torch.allclose(crops.boxes, torch.tensor([[32 - side / 2, 32 - side / 2, 32 + side / 2, 32 + side / 2]] * 3),
                          atol=1.5), "each crop knows where its label was"
    box = object_crops(VocDataset(root, classes=["plastic"]), 64, alpha="box", progress=False)
    assert not box.fill.isnan().any() and (box.fill > crops.fill).all(), "a feathered box spans more than the object"
    with pytest.raises(ConfigError, match="alpha='grabcut'"):
        object_crops(VocDataset(root, classes=["plastic"]), 64, progress=False).box_grow()


def test_ablate_defaults_are_the_tested_recipe_and_each_turns_off(tmp_path):
    """By default ablate grows pasted boxes by the factor the run's own cut-outs give (4/3 for loose labels, named
    in the arm), trains the synthetic arms' last quarter on real frames and clips every run's gradients at 20;
    --box-grow 1 --real-tail 0 --clip-grad 0 give back the recipe that ran before (docs/results.md's commands)."""
    root = _loosely_labelled(tmp_path / "voc")
    measured = round(object_crops(VocDataset(root, classes=["plastic"]), 64, alpha="grabcut", progress=False)
                     .box_grow(), 2)
    assert measured == pytest.approx(4 / 3, rel=0.08)
    args = [sys.executable, "-m", "marinegan", "ablate", str(root), str(root), "default", "--classes", "plastic",
            "--arms", "copy-paste-fresh", "--sizes", "3", "--seeds", "0", "--steps", "4", "--image-size", "64",
            "--device", "cpu"]
    proc = subprocess.run([*args, "--out", str(tmp_path / "new")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"--box-grow data: {measured} " in proc.stdout
    arm = f"copy-paste-fresh[scale=0.2-0.7,box_grow={measured}]"
    assert f"| {arm} | 3 | 0.5 | 3 | 1 |" in proc.stdout
    recipe = json.loads((tmp_path / "new" / "ablation.json").read_text())
    assert recipe["clip_grad"] == 20 and recipe["real_tail"] == 0.25
    run = json.loads((tmp_path / "new" / "runs" / f"{arm}_n3_r0.5_s0.json").read_text())
    assert run["real_tail_steps"] == 1, "the last quarter of 4 steps on the real frames alone"
    old = subprocess.run([*args, "--out", str(tmp_path / "old"), "--box-grow", "1", "--real-tail", "0",
                          "--clip-grad", "0"], capture_output=True, text=True, timeout=600)
    assert old.returncode == 0, old.stderr[-3000:]
    assert "| copy-paste-fresh[scale=0.2-0.7] | 3 | 0.5 | 3 | 1 |" in old.stdout and "--box-grow data" not in old.stdout
    recipe = json.loads((tmp_path / "old" / "ablation.json").read_text())
    assert recipe["clip_grad"] is None and recipe["real_tail"] == 0
    real_only = [*args[:args.index("--arms") + 1], "real", *args[args.index("--arms") + 2:]]
    proc = subprocess.run([*real_only, "--out", str(tmp_path / "real")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]  # the default --box-grow data with nothing pasted
    assert "--box-grow data" not in proc.stdout and "| real | 3 | 0 | 0 | 1 |" in proc.stdout
    bad = subprocess.run([*args, "--out", str(tmp_path / "bad"), "--box-grow", "loose"], capture_output=True,
                         text=True, timeout=600)
    assert bad.returncode != 0 and "--box-grow takes a factor (e.g. 1.33) or data, not 'loose'" in bad.stderr


@pytest.mark.parametrize("budget, synthetic_steps", [("equal", 2), ("real-epochs", 4)])
def test_ablate_levers_at_toy_size(tmp_path, budget, synthetic_steps):
    train = make_toy_yolo(tmp_path / "train", n=10, size=96, seed=0, single_class="plastic")
    val = make_toy_yolo(tmp_path / "val", n=4, size=96, seed=1, single_class="plastic")
    out = tmp_path / "abl"
    proc = subprocess.run([sys.executable, "-m", "marinegan", "ablate", str(train), str(val), "default", "--arms",
                           "real,copy-paste-own,gan,gan-fresh,copy-paste-own-fresh", "--sizes", "6", "--ratios",
                           "0.5", "--seeds", "0",
                           "--steps", "2", "--scale", "data", "--overlays", "mask", "--budget", budget,
                           "--match", "blur,haze,noise", "--grid", "2", "--keep-realistic", "0.5",
                           "--update-occluded", "--min-contrast", "5", "--real-tail", "0.5", "--box-grow", "1.33",
                           "--truncation", "1.5",
                           "--image-size", "64", "--val-size", "3", "--out", str(out), "--device", "cpu"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    looks = "blur_match,noise_match,haze_match,grid=2,update_occluded,min_contrast=5.0,box_grow=1.33"
    assert f"| copy-paste-own[scale=data,{looks},overlays=mask] | 6 | 0.5 | 6 | 1 |" in proc.stdout
    assert f"| gan[scale=data,{looks},trunc=1.5] | 6 | 0.5 | 6 | 1 |" in proc.stdout
    own_fresh = f"copy-paste-own-fresh[scale=data,{looks},overlays=mask]"
    assert f"| {own_fresh} | 6 | 0.5 | 6 | 1 |" in proc.stdout
    runs = {json.loads(p.read_text())["arm"]: json.loads(p.read_text()) for p in (out / "runs").glob("*.json")}
    assert runs["real"]["steps"] == 2  # 6 real frames; a mix holds 12 items: on top, it trains twice as long
    assert runs[f"gan[scale=data,{looks},trunc=1.5]"]["steps"] == synthetic_steps
    fresh = runs[f"gan-fresh[scale=data,{looks},keep=0.5,trunc=1.5]"]
    assert fresh["steps"] == synthetic_steps and fresh["synthetic"] == 6
    assert fresh["real_tail_steps"] == synthetic_steps // 2 and "real_tail_steps" not in runs["real"]
    recipe = json.loads((out / "ablation.json").read_text())
    assert recipe["budget"] == budget and recipe["real_tail"] == 0.5
    assert "last 0.5 of the steps on the real frames alone" in (out / "results.md").read_text()
    assert "own frames" in recipe["arms"][f"copy-paste-own[scale=data,{looks},overlays=mask]"]
    assert "fresh:the run's own frames (grabcut, overlays mask)" in recipe["arms"][own_fresh]
    assert runs[own_fresh]["steps"] == synthetic_steps and runs[own_fresh]["real_tail_steps"] == synthetic_steps // 2
    fresh_recipe = recipe["arms"][f"gan-fresh[scale=data,{looks},keep=0.5,trunc=1.5]"]
    assert "the most realistic 0.5 by CropDataset" in fresh_recipe and "latents within ±1.5" in fresh_recipe
    assert "latents within ±1.5" in recipe["arms"][f"gan[scale=data,{looks},trunc=1.5]"]


@pytest.mark.parametrize("arms, truncation", [("real,copy-paste-fresh", "1"), ("gan-fresh", "0")])
def test_a_truncation_without_a_generator_arm_or_not_positive_is_refused_in_one_line(tmp_path, arms, truncation):
    proc = subprocess.run([sys.executable, "-m", "marinegan", "ablate", str(tmp_path / "t"), str(tmp_path / "v"),
                           "--arms", arms, "--truncation", truncation, "--out", str(tmp_path / "abl")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "--truncation" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "abl").exists()


def test_the_budget_needs_steps():
    from marinegan import ablate

    with pytest.raises(ConfigError, match="real-epochs"):
        ablate(torch.zeros(1), torch.zeros(1), None, budget="real-epochs")


def test_two_jobs_give_the_runs_one_job_gives(tmp_path):
    """--jobs: runs in parallel processes, each its own thread count; the same runs, the same numbers."""
    from marinegan import ablate, open_dataset
    from marinegan.evaluate import CopyPasteArm

    root = tmp_path / "d"
    make_toy_yolo(root, n=8, size=64, split="train", single_class="plastic")
    make_toy_yolo(root, n=3, size=64, split="val", seed=1, single_class="plastic")
    train, val = open_dataset(root, "train"), open_dataset(root, "val")
    arms = {"copy-paste-own": CopyPasteArm(None, label="plastic")}
    common = dict(ratios=[0.5], seeds=[0, 1], steps=2, device="cpu", progress=False, threads=1, baseline=False)
    one = ablate(train, val, arms, out_dir=tmp_path / "one", jobs=1, **common)
    two = ablate(train, val, arms, out_dir=tmp_path / "two", jobs=2, **common)
    key = lambda r: (r["arm"], r["seed"])  # noqa: E731
    assert len(two.runs) == 2
    for a, b in zip(sorted(one.runs, key=key), sorted(two.runs, key=key), strict=True):
        assert key(a) == key(b) and a["map"] == b["map"] and a["map_50"] == b["map_50"]
    with pytest.raises(ConfigError, match="picklable"):
        ablate(train, val, {"x": lambda bg, *_: bg}, out_dir=tmp_path / "three", jobs=2, **common)


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_an_ablation_ends_its_job_workers(tmp_path):
    """A --jobs ablation killed outright (SIGKILL: no handler runs) leaves no worker training on, unsaved."""
    import contextlib
    import os
    import signal
    import time

    make_toy_yolo(tmp_path / "d", n=8, size=64, split="train", single_class="plastic")
    make_toy_yolo(tmp_path / "d", n=3, size=64, split="val", seed=1, single_class="plastic")
    script = (f"from marinegan import ablate, open_dataset; d = {str(tmp_path / 'd')!r}; "
              "ablate(open_dataset(d, 'train'), open_dataset(d, 'val'), None, seeds=[0, 1], steps=100000, jobs=2, "
              f"threads=1, device='cpu', progress=False, out_dir={str(tmp_path / 'abl')!r})")
    main = subprocess.Popen([sys.executable, "-c", script])
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while len(workers := _children(main.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)  # the pool's two workers (and perhaps a resource tracker) start
        assert len(workers) >= 2, "the two job workers did not start"
        time.sleep(3)  # into their runs
        main.send_signal(signal.SIGKILL)
        main.wait()
        deadline = time.monotonic() + 30
        alive = workers
        while alive and time.monotonic() < deadline:
            time.sleep(0.5)
            alive = [w for w in workers if Path(f"/proc/{w}").exists()
                     and Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
        assert not alive, f"workers {alive} still run after their ablation was killed"
    finally:
        for w in [*workers, main.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(w, signal.SIGKILL)


def test_ablate_pastes_distractors_of_another_class_in_the_fresh_arms(tmp_path):
    train = make_toy_yolo(tmp_path / "train", n=10, size=96, seed=0)  # bottles and bags
    val = make_toy_yolo(tmp_path / "val", n=4, size=96, seed=1)
    out = tmp_path / "abl"
    common = [sys.executable, "-m", "marinegan", "ablate", str(train), str(val), "default", "--label", "bottle",
              "--sizes", "6", "--seeds", "0", "--steps", "2", "--image-size", "64", "--val-size", "3",
              "--out", str(out), "--device", "cpu", "--box-grow", "1"]  # arm names without the measured growth
    proc = subprocess.run([*common, "--arms", "real,gan-fresh,copy-paste-fresh", "--distractors", "bag"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    recipe = json.loads((out / "ablation.json").read_text())["arms"]
    for arm in ("gan-fresh[scale=0.2-0.7,distract=bag,keep=0.75]", "copy-paste-fresh[scale=0.2-0.7,distract=bag]"):
        assert f"| {arm} | 6 | 0.5 | 6 | 1 |" in proc.stdout
        assert "with 1-2 of " in recipe[arm] and " distractors " in recipe[arm]
    for args, message in ((["--distractors", "bottle"], "is the pasted class"),
                          (["--distractors", "fish"], "neither a class"),
                          (["--arms", "real,gan", "--distractors", "bag"], "fresh arms only")):
        proc = subprocess.run([*common, *args], capture_output=True, text=True, timeout=300)
        assert proc.returncode != 0 and message in proc.stderr, proc.stderr[-2000:]


def test_ablate_filters_generated_objects_by_the_generators_own_discriminator(tmp_path):
    """--judge RUN: the gan-fresh arm keeps the objects its discriminator (saved beside the generator by training)
    rates most real, named in the arm; a judge that cannot rate the generator's objects, or that nothing would use,
    is refused in one line before any training."""
    from marinegan import DCGANConfig, Discriminator, Generator

    torch.manual_seed(0)
    config = DCGANConfig(image_size=32, channels=4, ngf=8, ndf=8, nz=16)
    Generator(config).save_pretrained(tmp_path / "run" / "generator")
    Discriminator(config).save_pretrained(tmp_path / "run" / "discriminator")
    Discriminator(DCGANConfig(image_size=64, channels=4, ndf=8)).save_pretrained(tmp_path / "other")
    train = make_toy_yolo(tmp_path / "train", n=10, size=96, seed=0, single_class="plastic")
    val = make_toy_yolo(tmp_path / "val", n=4, size=96, seed=1, single_class="plastic")
    out = tmp_path / "abl"
    common = [sys.executable, "-m", "marinegan", "ablate", str(train), str(val), str(tmp_path / "run" / "generator"),
              "--arms", "gan-fresh", "--sizes", "6", "--seeds", "0", "--steps", "2", "--image-size", "64",
              "--val-size", "3", "--box-grow", "1", "--out", str(out), "--device", "cpu"]
    proc = subprocess.run([*common, "--keep-realistic", "0.5", "--judge", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    arm = "gan-fresh[scale=0.2-0.7,keep=0.5,judge=discriminator]"
    assert f"| {arm} | 6 | 0.5 | 6 | 1 |" in proc.stdout
    assert "the most realistic 0.5 by Discriminator" in json.loads((out / "ablation.json").read_text())["arms"][arm]
    for args, message in ((["--keep-realistic", "1", "--judge", str(tmp_path / "run")], "set --keep-realistic below 1"),
                          (["--keep-realistic", "0.5", "--judge", str(tmp_path / "nowhere")], "holds no config.json"),
                          (["--keep-realistic", "0.5", "--judge", str(tmp_path / "other")],
                           "takes 4-channel 64 px images but the generator makes 4-channel 32 px objects")):
        bad = subprocess.run([*common[:-4], "--out", str(tmp_path / "bad"), "--device", "cpu", *args],
                             capture_output=True, text=True, timeout=300)
        assert bad.returncode != 0 and message in bad.stderr, bad.stderr[-2000:]
        assert not (tmp_path / "bad" / "runs").exists()


def test_ablate_gan_plus_copy_paste_arm_draws_from_the_cutouts_and_as_many_generated_objects(tmp_path):
    """gan+copy-paste-fresh: each epoch's bank is REAL_TRAIN's cut-outs beside as many new generated objects (the
    realism filter applied to the generated ones), recorded in the recipe."""
    import re

    train = make_toy_yolo(tmp_path / "train", n=10, size=96, seed=0, single_class="plastic")
    val = make_toy_yolo(tmp_path / "val", n=4, size=96, seed=1, single_class="plastic")
    out = tmp_path / "abl"
    proc = subprocess.run([sys.executable, "-m", "marinegan", "ablate", str(train), str(val), "default", "--arms",
                           "gan+copy-paste-fresh", "--sizes", "6", "--seeds", "0", "--steps", "2", "--image-size",
                           "64", "--val-size", "3", "--box-grow", "1", "--out", str(out), "--device", "cpu"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    arm = "gan+copy-paste-fresh[scale=0.2-0.7,keep=0.75]"
    assert f"| {arm} | 6 | 0.5 | 6 | 1 |" in proc.stdout
    recipe = json.loads((out / "ablation.json").read_text())["arms"][arm]
    assert "the most realistic 0.75 by CropDataset" in recipe
    beside = re.search(r"beside (\d+) cut-outs", recipe)
    assert beside and f"bank {beside.group(1)}:" in recipe, "as many generated objects per epoch as cut-outs"


def test_ablate_cuts_the_copy_paste_objects_at_the_generators_side_with_cutout_size(tmp_path):
    """--cutout-size S: REAL_TRAIN's cut-outs (and each run's own) are cut at S px, so a generator of another sprite
    side gets a copy-paste baseline of its own resolution, and the arms say so in their names and recipes;
    gan+copy-paste-fresh refuses cut-outs of another side than the generator's objects, in one line, before any
    data is read."""
    from marinegan import DCGANConfig, Generator, open_dataset
    from marinegan.evaluate.ablation import fingerprint

    torch.manual_seed(0)
    Generator(DCGANConfig(image_size=32, channels=4, ngf=8, ndf=8, nz=16)).save_pretrained(tmp_path / "g32")
    train = make_toy_yolo(tmp_path / "train", n=10, size=96, seed=0, single_class="plastic")
    val = make_toy_yolo(tmp_path / "val", n=4, size=96, seed=1, single_class="plastic")
    out = tmp_path / "abl"
    common = [sys.executable, "-m", "marinegan", "ablate", str(train), str(val), str(tmp_path / "g32"), "--arms",
              "copy-paste-fresh,copy-paste-own-fresh,gan+copy-paste-fresh", "--sizes", "6", "--seeds", "0",
              "--steps", "2", "--image-size", "64", "--val-size", "3", "--box-grow", "1", "--device", "cpu"]
    proc = subprocess.run([*common, "--cutout-size", "32", "--out", str(out)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    recipes = json.loads((out / "ablation.json").read_text())["arms"]
    cut32 = object_crops(open_dataset(train), 32, alpha="grabcut", progress=False).images
    assert cut32.shape[-1] == 32
    assert recipes["copy-paste-fresh[scale=0.2-0.7,side=32]"].startswith(f"fresh:{fingerprint(cut32)}, 32 px bank")
    assert "(grabcut, overlays skip, 32 px)" in recipes["copy-paste-own-fresh[scale=0.2-0.7,side=32]"]
    assert f"beside {len(cut32)} cut-outs {fingerprint(cut32)}" in \
        recipes["gan+copy-paste-fresh[scale=0.2-0.7,keep=0.75,side=32]"]
    bad = subprocess.run([*common, "--out", str(tmp_path / "bad")], capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "pass --cutout-size 32" in bad.stderr, bad.stderr[-2000:]
    assert "reading" not in bad.stderr and not (tmp_path / "bad").exists()


def test_fresh_own_frame_copy_paste_cuts_its_bank_from_the_runs_frames_only(tmp_path):
    """copy-paste-own-fresh (FreshArm(own_frames=True)): each run pastes the cut-outs of its own frames, new draws
    every epoch, never an object of a frame it was not given; frames without the label's objects get a clear
    error, and the recipe records where the cut-outs came from."""
    from torch.utils.data import Subset

    from marinegan.evaluate.ablation import FreshArm

    real = VocDataset(_loosely_labelled(tmp_path / "voc"), classes=["plastic"])
    arm = FreshArm(label="plastic", own_frames=True)
    assert "the run's own frames (grabcut, overlays skip)" in arm.describe()
    for frames in ([0], [0, 2]):
        run = Subset(real, frames)
        run.classes = real.classes  # as ablate's seeded subsets keep them
        synthetic = arm(run, 4, seed=0)
        own = object_crops(run, 64, alpha="grabcut", progress=False).images
        assert torch.equal(synthetic.paste.bank.sprites(0), own) and len(own) == len(frames)
        image, target = synthetic[1]
        assert target["pasted"] >= 1 and target["synthetic"]
    with pytest.raises(ConfigError, match="realism filter"):
        FreshArm(label="plastic", own_frames=True, keep=0.5, judge=own)
    empty = tmp_path / "empty"
    empty.mkdir()
    from PIL import Image
    from test_voc import voc_xml

    Image.new("RGB", (100, 100), (100, 100, 100)).save(empty / "e.png")
    (empty / "e.xml").write_text(voc_xml("e.png", (100, 100), [("bio", 10, 10, 40, 40)]))
    with pytest.raises(DataError, match="frames hold no object to cut out for own-frame copy-paste .* use more"):
        arm(VocDataset(empty, classes=["plastic", "bio"]), 4, seed=0)
