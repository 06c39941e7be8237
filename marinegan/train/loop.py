"""`train_gan`: the DCGAN training loop (after the PyTorch example's ``dcgan/main.py``), made robust.

One step = one discriminator update on a real and a fake batch, then one generator update, with
optional DiffAugment, hinge loss, spectral norm (in the model config) and an EMA generator.
Runs on CPU, on CUDA (bfloat16 autocast with ``amp``) and under ``torchrun`` (DistributedDataParallel;
gloo on CPU, NCCL on CUDA; only rank 0 writes files).

Resuming is exact: the data order of each epoch and the random numbers of each step are derived
from ``(seed, epoch)`` and ``(seed, step, rank)``, and the checkpoint holds both models, the EMA copy
and both optimisers. A run killed at any point and resumed ends with the same weights as an
uninterrupted run (bit for bit on CPU).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from marinegan.device import resolve_device
from marinegan.errors import ConfigError
from marinegan.images import to_uint8
from marinegan.models.dcgan import Discriminator, Generator
from marinegan.synth.seeding import index_seed
from marinegan.train import artefacts
from marinegan.train.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from marinegan.train.config import TrainConfig
from marinegan.train.diffaugment import diff_augment
from marinegan.train.ema import ema_decay, ema_update, recalibrate_batchnorm
from marinegan.train.loggers import MetricLogger, check_backends
from marinegan.train.losses import d_fake_loss, d_real_loss, g_loss
from marinegan.train.prepare import prepare_images

_STEP_STREAM, _EPOCH_STREAM = 2, 3


@dataclass
class TrainResult:
    """What a run produced (on rank 0; other ranks get the same numbers and no files)."""

    run_dir: Path
    generator_dir: Path
    steps: int
    seconds: float
    images_per_second: float
    last_metrics: dict = field(default_factory=dict)


@dataclass
class _Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owns_group: bool = False  # train_gan created the process group, so it tears it down

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed(device: str | torch.device) -> tuple[_Dist, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist(), resolve_device(device)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device)
    if dev.type == "cuda":
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return _Dist(dist.get_rank(), dist.get_world_size(), local_rank, owns), dev


def _epoch_batches(n: int, epoch: int, cfg: TrainConfig, d: _Dist) -> list[torch.Tensor]:
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(index_seed(cfg.seed, epoch, _EPOCH_STREAM)))
    shard = perm[d.rank :: d.world]
    if len(shard) < cfg.batch_size:
        return [shard]
    return list(torch.split(shard, cfg.batch_size))[: len(shard) // cfg.batch_size]  # drop the ragged last batch


# Settings a resumed run may change: they decide how long it runs and what it records, not what it learns.
RESUMABLE_CHANGES = ("steps", "sample_every", "checkpoint_every", "log_every")


def _check_resume_config(saved: dict, cfg: TrainConfig, path: Path) -> None:
    now = cfg.to_dict()
    diff = [k for k in now if k not in RESUMABLE_CHANGES and saved.get(k) != now[k]]
    if diff:
        raise ConfigError(f"{path} was written with other settings for {diff}; resume with the same settings "
                          f"(only {', '.join(RESUMABLE_CHANGES)} may change, steps only upwards), or start a new "
                          "run folder")


@torch.no_grad()
def _sample(g: Generator, z: torch.Tensor, *, is_ema: bool = False, seed: int = 0) -> torch.Tensor:
    """Fixed-noise samples in eval mode; an EMA generator first gets BatchNorm statistics that fit its weights."""
    was = g.training
    if is_ema:
        recalibrate_batchnorm(g, g.config.nz, seed=seed)
    g.eval()
    out = g(z).float().cpu()
    g.train(was)
    return out


def train_gan(
    dataset: Dataset,
    config: TrainConfig | None = None,
    out_dir: str | Path = "runs/gan",
    *,
    resume: bool = False,
    device: str | torch.device = "auto",
    loggers: list[str] | tuple[str, ...] = (),
    data_description: str = "",
    data_license: str = "",
    progress: bool = True,
) -> TrainResult:
    """Train a DCGAN on ``dataset`` and write the run's artefacts to ``out_dir``.

    Args:
        dataset: images, ``(image, target)`` or ``(image, label)`` items with uint8 ``(C, H, W)`` images
            (any of marinegan's readers, or :func:`~marinegan.object_crops` for RGBA objects).
        config: a :class:`TrainConfig` (the DCGAN tutorial's recipe by default).
        out_dir: the run folder: ``metrics.jsonl``, ``loss.png``, ``progress.gif``, ``real_vs_fake.png``,
            ``generator/`` (a ``save_pretrained`` folder), ``discriminator/``, ``checkpoint.pt``,
            ``train_config.json``.
        resume: continue from ``out_dir/checkpoint.pt`` (same settings; ``steps`` may be raised).
        device: ``"auto"`` (CUDA if present), ``"cpu"``, ``"cuda"``; under torchrun each rank uses its GPU.
        loggers: any of ``"wandb"``, ``"tensorboard"`` (installed separately); JSONL is always written.
        data_description: what the data is, for the model card (source, size, attribution).
        data_license: the data's terms, which the weights carry (for the model card's licence section).
        progress: show a tqdm bar.
    """
    cfg = config or TrainConfig()
    run_dir = Path(out_dir)
    check_backends(loggers)  # a missing wandb is refused before the run folder exists
    d, dev = _init_distributed(device)
    config_path = run_dir / "train_config.json"
    state = None
    if resume:
        if config_path.is_file():
            _check_resume_config(json.loads(config_path.read_text()), cfg, config_path)
        if (run_dir / CHECKPOINT_NAME).is_file():
            state = load_checkpoint(run_dir, map_location=dev)
            if cfg.steps < int(state["step"]):  # refused before anything in the run folder is rewritten
                raise ConfigError(f"{run_dir} has already trained {int(state['step'])} steps; steps={cfg.steps} "
                                  f"cannot undo them. Resume with steps >= {int(state['step'])}, or start a new "
                                  "run folder")
    elif (run_dir / CHECKPOINT_NAME).exists() or config_path.exists():
        raise ConfigError(f"{run_dir} already holds a training run; resume it (resume=True, --resume) "
                          "or choose a new folder")
    if d.world > 1:
        dist.barrier()  # every rank has checked the folder before rank 0 writes into it (else a late rank refuses)
    data = prepare_images(dataset, cfg.model.image_size, cfg.model.channels, progress=progress and d.main)
    data = data.to(dev)
    if d.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        config_path.write_text(json.dumps(cfg.to_dict(), indent=2))

    torch.manual_seed(cfg.seed)
    g_net, d_net = Generator(cfg.model).to(dev), Discriminator(cfg.model).to(dev)
    ema = copy.deepcopy(g_net).eval() if cfg.ema > 0 else None
    opt_g = torch.optim.Adam(g_net.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(d_net.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    start = 0
    if state is not None:
        g_net.load_state_dict(state["generator"])
        d_net.load_state_dict(state["discriminator"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        start = int(state["step"])
    g_train, d_train = g_net, d_net
    if d.world > 1:
        ids = [dev.index] if dev.type == "cuda" else None
        g_train = DistributedDataParallel(g_net, device_ids=ids)
        d_train = DistributedDataParallel(d_net, device_ids=ids)
    sampler = ema if ema is not None else g_net
    fixed = torch.randn(cfg.n_fixed, cfg.model.nz, generator=torch.Generator().manual_seed(cfg.seed)).to(dev)
    ops = cfg.diffaugment_ops
    autocast = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.amp and dev.type == "cuda")
    frames_dir = run_dir / "progress"
    logger = MetricLogger(run_dir, list(loggers), cfg.to_dict(), resume_step=start) if d.main else None
    if d.main:
        frames_dir.mkdir(exist_ok=True)
        for stale in frames_dir.glob("step_*.png"):  # frames after the checkpoint will be redrawn
            if int(stale.stem.split("_")[1]) > start:
                stale.unlink()

    steps_per_epoch = len(_epoch_batches(len(data), 0, cfg, d))
    batches, batches_epoch = [], -1
    rng = torch.Generator(device=dev)
    bar = tqdm(total=cfg.steps, initial=start, desc="training GAN", disable=not (progress and d.main),
               dynamic_ncols=True)
    t_start = t_log = time.perf_counter()
    images_since_log = 0
    record: dict = {}
    step = last_checkpoint = start
    try:
        for step in range(start, cfg.steps):
            epoch, j = divmod(step, steps_per_epoch)
            if epoch != batches_epoch:
                batches, batches_epoch = _epoch_batches(len(data), epoch, cfg, d), epoch
            rng.manual_seed(index_seed(cfg.seed, step, _STEP_STREAM + 16 * (d.rank + 1)))
            real = data[batches[j].to(dev)].float().div_(127.5).sub_(1)
            b = real.shape[0]
            z = torch.randn(b, cfg.model.nz, generator=rng, device=dev)

            # (1) discriminator: real batch and fake batch, as two backward passes (PyTorch DCGAN example)
            opt_d.zero_grad(set_to_none=True)
            with d_train.no_sync() if d.world > 1 else contextlib.nullcontext():
                with autocast:
                    out_real = d_train(diff_augment(real, ops, rng)).float()
                loss_real = d_real_loss(cfg.loss, out_real)
                loss_real.backward()
            with autocast:
                fake = g_train(z)
                out_fake = d_train(diff_augment(fake.detach(), ops, rng)).float()
            loss_fake = d_fake_loss(cfg.loss, out_fake)
            loss_fake.backward()
            opt_d.step()

            # (2) generator
            opt_g.zero_grad(set_to_none=True)
            with autocast:
                out_g = d_train(diff_augment(fake, ops, rng)).float()
            loss_g = g_loss(cfg.loss, out_g)
            loss_g.backward()
            opt_g.step()
            if ema is not None:
                ema_update(ema, g_net, ema_decay(cfg.ema, step))

            done = step + 1
            images_since_log += b * d.world
            if d.main and (done % cfg.log_every == 0 or done == cfg.steps):
                now = time.perf_counter()
                record = {
                    "step": done, "epoch": epoch,
                    "loss_d": (loss_real + loss_fake).item(), "loss_g": loss_g.item(),
                    "d_real": torch.sigmoid(out_real).mean().item(), "d_fake": torch.sigmoid(out_fake).mean().item(),
                    "images_per_s": images_since_log / max(now - t_log, 1e-9), "seconds": now - t_start,
                }
                t_log, images_since_log = now, 0
                logger.log(record)
                bar.set_postfix(loss_d=f"{record['loss_d']:.3f}", loss_g=f"{record['loss_g']:.3f}", refresh=False)
            if d.main and (done % cfg.sample_every == 0 or done == cfg.steps or step == start == 0):
                frame = artefacts.progress_frame(_sample(sampler, fixed, is_ema=ema is not None, seed=cfg.seed), done)
                frame.save(frames_dir / f"step_{done:07d}.png")
                logger.log_image("samples", frame, done)
            if d.main and (done % cfg.checkpoint_every == 0 or done == cfg.steps):
                save_checkpoint(run_dir, {
                    "step": done, "generator": g_net.state_dict(), "discriminator": d_net.state_dict(),
                    "ema": ema.state_dict() if ema is not None else {}, "opt_g": opt_g.state_dict(),
                    "opt_d": opt_d.state_dict(), "config": json.dumps(cfg.to_dict()),
                })
                last_checkpoint = done
            bar.update(1)
    except KeyboardInterrupt:
        bar.close()
        if d.main:
            logger.close()
            print(f"\ninterrupted at step {step}: {run_dir / CHECKPOINT_NAME} keeps step {last_checkpoint} "
                  f"(checkpoints every {cfg.checkpoint_every} steps). Continue with: marinegan train --resume "
                  f"{run_dir}", file=sys.stderr)
        raise
    bar.close()
    seconds = time.perf_counter() - t_start
    steps_run = cfg.steps - start
    ips = steps_run * cfg.batch_size * d.world / max(seconds, 1e-9) if steps_run else 0.0
    generator_dir = run_dir / "generator"
    if d.main:
        logger.close()
        if ema is not None and steps_run == 0:  # otherwise the last step's frame has just fitted them
            recalibrate_batchnorm(ema, cfg.model.nz, seed=cfg.seed)
        _write_artefacts(run_dir, cfg, sampler, d_net, data, fixed, data_description, data_license, generator_dir)
        print(f"trained {cfg.steps} steps ({steps_run} in this session, {seconds:.1f} s, {ips:.1f} images/s); "
              f"losses D {record.get('loss_d', float('nan')):.3f} G {record.get('loss_g', float('nan')):.3f}; "
              f"artefacts in {run_dir}", file=sys.stderr)
    if d.world > 1:
        print(f"[rank {d.rank}/{d.world}] finished {steps_run} steps", file=sys.stderr, flush=True)
        dist.barrier()
        if d.owns_group:  # an orderly teardown: left to interpreter exit, gloo can abort a rank
            dist.destroy_process_group()
    return TrainResult(run_dir, generator_dir, cfg.steps, seconds, ips, record)


def _write_artefacts(run_dir: Path, cfg: TrainConfig, sampler: Generator, d_net: Discriminator,
                     data: torch.Tensor, fixed: torch.Tensor, data_description: str, data_license: str,
                     generator_dir: Path) -> None:
    records = artefacts.read_metrics(run_dir / "metrics.jsonl")
    if records:
        artefacts.plot_losses(records, run_dir / "loss.png")
    artefacts.write_gif(run_dir / "progress", run_dir / "progress.gif")
    pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(cfg.seed))[: cfg.n_fixed]
    artefacts.real_vs_fake(data[pick.to(data.device)].cpu(), to_uint8(_sample(sampler, fixed)),  # BN already fit
                           run_dir / "real_vs_fake.png")
    recipe = (f"marinegan.train_gan, {cfg.steps} steps, batch {cfg.batch_size}, Adam lr {cfg.lr} betas "
              f"({cfg.beta1}, {cfg.beta2}), loss {cfg.loss}, DiffAugment '{cfg.diffaugment or 'off'}', "
              f"EMA {cfg.ema or 'off'}, spectral norm {'on' if cfg.model.spectral_norm else 'off'}, seed {cfg.seed}.")
    card = {"training_data": data_description or f"{len(data)} images (source not described).", "recipe": recipe,
            "data_license": data_license, **({"license": "other"} if data_license else {})}
    for folder, model in ((generator_dir, sampler), (run_dir / "discriminator", d_net)):
        if (folder / "README.md").exists():
            (folder / "README.md").unlink()  # a resumed run refreshes its card
        model.save_pretrained(folder, model_card_kwargs=card)
