"""Mixing overhead: a DataLoader over mix_datasets(real, synthetic, 0.3) vs one over the real set alone.

Real Trash-ICRA19 frames where ``../shared/data/trash-icra19`` exists (toy scenes otherwise; the title
says which), synthetic composites from the default generator on the same frames.

The synthetic set is materialised first (the recommended set-up for shuffled training: every item
composited once, a read writes its changed pixels back onto the re-read background), so no figure
includes running the generator. A third row reads the very same items through a plain
``ConcatDataset``: the gap between it and the mix is mix_datasets' own overhead; the gap between it
and the real set is the cost of reading composited items (see bench_composite.py). The last row mixes
a set that is not materialised but keeps all its sprites, so it composites on every read: what
materialising buys.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.utils.data import ConcatDataset, DataLoader, Subset

sys.path.insert(0, str(Path(__file__).parent))
from _common import backgrounds, interleaved, parser, table, write_json  # noqa: E402

from marinegan import (  # noqa: E402
    SyntheticPlasticDataset,
    detection_collate,
    load_generator,
    mix_datasets,
    resolve_device,
)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    args = p.parse_args()
    dev = resolve_device(args.device)
    n_real = 32 if args.quick else 400
    real, what = backgrounds(n_real, toy=args.toy)
    g = load_generator("default", device=dev)
    synthetic = SyntheticPlasticDataset(g, n_real, backgrounds=real, device=dev, label=1, materialize=True,
                                        progress=False)
    live = SyntheticPlasticDataset(g, n_real, backgrounds=real, device=dev, label=1, cache_blocks=n_real,
                                   progress=False)
    live_mixed = mix_datasets(real, live, 0.3, seed=0)
    for i in range(len(live)):  # generate every block once; reads then composite live
        live[i]
    mixed = mix_datasets(real, synthetic, 0.3, seed=0)
    n_syn = mixed.counts()["synthetic"]
    same_items = ConcatDataset([real, Subset(synthetic, range(n_syn))])

    def run(ds, workers: int) -> int:
        loader = DataLoader(ds, batch_size=8, shuffle=True, collate_fn=detection_collate, num_workers=workers,
                            generator=torch.Generator().manual_seed(0))
        return sum(len(images) for images, _ in loader)

    rows: list[dict] = []
    for workers in args.workers:
        got = interleaved({
            "real set alone (baseline)": lambda w=workers: run(real, w),
            f"ConcatDataset(real, first {n_syn} synthetic)": lambda w=workers: run(same_items, w),
            f"mix_datasets(real, synthetic, 0.3): {n_syn} synthetic": lambda w=workers: run(mixed, w),
            "the same mix, synthetic set not materialised (composites every read)":
                lambda w=workers: run(live_mixed, w),
        }, args.repeat, dev, baseline="real set alone (baseline)")
        rows += [{"what": what, "workers": workers, "value": rate, "unit": "images/s", "ratio": ratio}
                 for what, (rate, ratio) in got.items()]
    title = (f"Mixing: images/s through a shuffled DataLoader, {what} (median of {args.repeat} rounds, "
             "round-robin)")
    print(table(title, ["workers", "what", "images/s", "vs real alone"],
                [[r["workers"], r["what"], f"{r['value']:.1f}", r["ratio"]] for r in rows]))
    write_json(args.json, title, rows)


if __name__ == "__main__":
    main()
