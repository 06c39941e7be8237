"""Composite throughput: composited detection samples/s vs reading the background images alone.

Lazy sets generated as they are read (sequential order, one forward pass per block), through a
DataLoader with 0 and 2 workers (workers run a CPU copy of the generator).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).parent))
from _common import median_time, parser, table  # noqa: E402

from marinegan import DCGANConfig, Generator, SyntheticPlasticDataset, YoloDataset, resolve_device  # noqa: E402
from marinegan.toydata import make_toy_yolo  # noqa: E402


def main() -> None:
    args = parser(__doc__).parse_args()
    dev = resolve_device(args.device)
    n = 32 if args.quick else 512
    real = YoloDataset(make_toy_yolo(Path(tempfile.mkdtemp()) / "bg", n=min(n, 200), size=256, seed=0,
                                     single_class="plastic"))
    torch.manual_seed(0)
    g = Generator(DCGANConfig(channels=4, nz=64, ngf=32, ndf=32))

    def read(ds, workers: int) -> int:
        loader = DataLoader(ds, batch_size=16, num_workers=workers, collate_fn=list)
        return sum(len(b) for b in loader)

    rows = []
    for workers in (0, 2):
        backgrounds = torch.utils.data.Subset(real, [i % len(real) for i in range(n)])
        t_bg, _ = median_time(lambda b=backgrounds, w=workers: read(b, w), args.repeat, dev)
        t_syn, _ = median_time(lambda w=workers: read(SyntheticPlasticDataset(g, n, backgrounds=real, device=dev,
                                                                              batch_size=128), w), args.repeat, dev)
        rows.append([workers, "read backgrounds only (baseline)", f"{n / t_bg:.1f}", 1.0])
        rows.append([workers, "composite: 1-3 generated objects pasted", f"{n / t_syn:.1f}", t_bg / t_syn])
    print(table(f"Composite samples/s, 256 px backgrounds, 64 px RGBA generator on {dev} "
                f"(median of {args.repeat})", ["workers", "what", "samples/s", "vs backgrounds"], rows))


if __name__ == "__main__":
    main()
