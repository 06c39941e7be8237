"""Training speed: train_gan's steps/s vs a plain reference DCGAN loop (the PyTorch example's) on the same data.

Same architecture, data, batch size and device. train_gan's extra work per step (metrics record,
EMA off, no DiffAugment here) is part of its figure; sampling and checkpoints are set beyond the run.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).parent))
from _common import parser, table, write_json  # noqa: E402

from marinegan import DCGANConfig, Discriminator, Generator, resolve_device  # noqa: E402
from marinegan.train import TrainConfig, train_gan  # noqa: E402


def reference_loop(data: torch.Tensor, cfg: DCGANConfig, steps: int, batch: int, dev: torch.device) -> float:
    """The PyTorch example's dcgan/main.py loop (BCE on logits), over a DataLoader of the same images."""
    torch.manual_seed(0)
    net_g, net_d = Generator(cfg).to(dev), Discriminator(cfg).to(dev)
    criterion = nn.BCEWithLogitsLoss()
    opt_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = DataLoader(TensorDataset(data), batch_size=batch, shuffle=True, drop_last=True)
    done, start = 0, None
    while done < steps:
        for (x,) in loader:
            if done == 1:  # the first step is warm-up
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
            real = x.to(dev).float() / 127.5 - 1
            net_d.zero_grad()
            out = net_d(real)
            err_real = criterion(out, torch.ones_like(out))
            err_real.backward()
            fake = net_g(torch.randn(real.shape[0], cfg.nz, device=dev))
            out = net_d(fake.detach())
            err_fake = criterion(out, torch.zeros_like(out))
            err_fake.backward()
            opt_d.step()
            net_g.zero_grad()
            out = net_d(fake)
            err_g = criterion(out, torch.ones_like(out))
            err_g.backward()
            opt_g.step()
            _ = (err_real + err_fake).item(), err_g.item()  # the example reads the losses every step
            done += 1
            if done == steps:
                break
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return (steps - 1) / (time.perf_counter() - start)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--steps", type=int, default=60)
    args = p.parse_args()
    dev = resolve_device(args.device)
    steps = 4 if args.quick else args.steps
    batch = 16 if args.quick else 128
    cfg = DCGANConfig()  # 64x64 RGB, the reference DCGAN
    data = torch.randint(0, 256, (batch * 4, 3, 64, 64), dtype=torch.uint8)
    ref = reference_loop(data, cfg, steps, batch, dev)
    run = train_gan(list(data), TrainConfig(model=cfg, steps=steps, batch_size=batch, sample_every=10**9,
                                            checkpoint_every=10**9), Path(tempfile.mkdtemp()) / "run", device=dev,
                    progress=False)
    records = [json.loads(line) for line in (run.run_dir / "metrics.jsonl").read_text().splitlines()]
    ours = (steps - 1) / (records[-1]["seconds"] - records[0]["seconds"])  # steps 2..N, like the reference
    rows = [["reference loop (PyTorch example)", batch, f"{ref:.3f}", f"{ref * batch:.1f}", 1.0],
            ["marinegan.train_gan", batch, f"{ours:.3f}", f"{ours * batch:.1f}", ours / ref]]
    title = f"DCGAN 64x64 training on {dev}, {steps} steps"
    print(table(title, ["loop", "batch", "steps/s", "images/s", "vs reference"], rows))
    write_json(args.json, title, [{"what": r[0], "value": float(r[2]), "unit": "steps/s", "ratio": float(r[4])}
                                  for r in rows])
    print("\nBoth figures leave out the first (warm-up) step; train_gan's are read from its metrics.jsonl "
          "timestamps, so its final checkpoint and sample grid are not counted.")


if __name__ == "__main__":
    main()
