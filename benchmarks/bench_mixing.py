"""Mixing overhead: a DataLoader over mix_datasets(real, synthetic, 0.3) vs one over the real set alone.

The synthetic set is materialised first (the recommended set-up for shuffled training), so no figure
includes running the generator. A third row reads the very same items through a plain
``ConcatDataset``: the gap between it and the mix is mix_datasets' own overhead; the gap between it
and the real set is the cost of reading composited items (see bench_composite.py).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch
from torch.utils.data import ConcatDataset, DataLoader, Subset

sys.path.insert(0, str(Path(__file__).parent))
from _common import median_time, parser, table  # noqa: E402

from marinegan import (  # noqa: E402
    DCGANConfig,
    Generator,
    SyntheticPlasticDataset,
    YoloDataset,
    detection_collate,
    mix_datasets,
    resolve_device,
)
from marinegan.toydata import make_toy_yolo  # noqa: E402


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--workers", type=int, default=0)
    args = p.parse_args()
    dev = resolve_device(args.device)
    n_real = 32 if args.quick else 400
    real = YoloDataset(make_toy_yolo(Path(tempfile.mkdtemp()) / "real", n=n_real, size=256, seed=0,
                                     single_class="plastic"))
    torch.manual_seed(0)
    g = Generator(DCGANConfig(channels=4, nz=64, ngf=32, ndf=32))
    synthetic = SyntheticPlasticDataset(g, n_real, backgrounds=real, device=dev, materialize=True)
    mixed = mix_datasets(real, synthetic, 0.3, seed=0)

    def run(ds) -> int:
        loader = DataLoader(ds, batch_size=8, shuffle=True, collate_fn=detection_collate, num_workers=args.workers,
                            generator=torch.Generator().manual_seed(0))
        return sum(len(images) for images, _ in loader)

    t_real, n_r = median_time(lambda: run(real), args.repeat, dev)
    t_mix, n_m = median_time(lambda: run(mixed), args.repeat, dev)
    n_syn = mixed.counts()["synthetic"]
    same_items = ConcatDataset([real, Subset(synthetic, range(n_syn))])
    t_cat, n_c = median_time(lambda: run(same_items), args.repeat, dev)
    rows = [["real set alone (baseline)", n_r, f"{n_r / t_real:.1f}", 1.0],
            [f"ConcatDataset(real, first {n_syn} synthetic)", n_c, f"{n_c / t_cat:.1f}",
             (n_c / t_cat) / (n_r / t_real)],
            [f"mix_datasets(real, synthetic, 0.3): {n_syn} synthetic", n_m,
             f"{n_m / t_mix:.1f}", (n_m / t_mix) / (n_r / t_real)]]
    print(table(f"Mixing: images/s through a shuffled DataLoader ({args.workers} workers, 256 px, "
                f"median of {args.repeat})", ["what", "images", "images/s", "vs real alone"], rows))


if __name__ == "__main__":
    main()
