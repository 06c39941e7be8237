"""Composite throughput: composited detection samples/s against reading the same backgrounds alone.

Real Trash-ICRA19 frames where ``../shared/data/trash-icra19`` exists (toy scenes otherwise; the title
says which). Through a DataLoader with 0 and 2 workers:

- baseline: reading the backgrounds alone (JPEG decode to a uint8 tensor);
- composite (materialised): the synthetic set's sprites generated up front, as recommended for
  shuffled training, so the row measures reading the background plus pasting 1-3 objects;
- composite (lazy): the generator also runs, once per block of 128 items, as the set is read.

Then each blend choice on its own row (materialised, 0 workers), so its cost is visible.
"""

from __future__ import annotations

import sys
from pathlib import Path

from torch.utils.data import DataLoader, Subset

sys.path.insert(0, str(Path(__file__).parent))
from _common import backgrounds, median_time, parser, table, write_json  # noqa: E402

from marinegan import CompositeOptions, SyntheticPlasticDataset, load_generator, resolve_device  # noqa: E402


def main() -> None:
    args = parser(__doc__).parse_args()
    dev = resolve_device(args.device)
    n = 32 if args.quick else 400
    real, what_bg = backgrounds(n, toy=args.toy)
    g = load_generator("default", device=dev)

    def read(ds, workers: int) -> int:
        loader = DataLoader(ds, batch_size=16, num_workers=workers, collate_fn=list)
        return sum(len(b) for b in loader)

    def synthetic(options: CompositeOptions | None = None, materialize: bool = True) -> SyntheticPlasticDataset:
        return SyntheticPlasticDataset(g, n, backgrounds=real, device=dev, batch_size=128, options=options, label=1,
                                       materialize=materialize, progress=False)

    rows: list[dict] = []
    materialized = synthetic()
    for workers in (0, 2):
        same_backgrounds = Subset(real, [materialized[i][1]["background_index"] for i in range(n)])
        t_bg, _ = median_time(lambda b=same_backgrounds, w=workers: read(b, w), args.repeat, dev)
        t_mat, _ = median_time(lambda w=workers: read(materialized, w), args.repeat, dev)
        t_lazy, _ = median_time(lambda w=workers: read(synthetic(materialize=False), w), args.repeat, dev)
        rows += [
            {"what": "read the same backgrounds only (baseline)", "workers": workers, "value": n / t_bg,
             "unit": "samples/s", "ratio": 1.0},
            {"what": "composite, materialised sprites (default options)", "workers": workers, "value": n / t_mat,
             "unit": "samples/s", "ratio": t_bg / t_mat},
            {"what": "composite, lazy: generator runs per block of 128", "workers": workers, "value": n / t_lazy,
             "unit": "samples/s", "ratio": t_bg / t_lazy},
        ]
    base = rows[0]["value"]
    for blend, match in (("alpha", 0.0), ("hard", 0.0), ("alpha", 0.5), ("gaussian", 0.5), ("poisson", 0.5)):
        ds = synthetic(CompositeOptions(blend=blend, color_match=match))
        t, _ = median_time(lambda d=ds: read(d, 0), args.repeat, dev)
        rows.append({"what": f"blend={blend}, color_match={match}" + (" (default)" if (blend, match) == (
            "alpha", 0.5) else ""), "workers": 0, "value": n / t, "unit": "samples/s", "ratio": (n / t) / base})
    title = (f"Composite samples/s on {what_bg}; 1-3 objects from the default 64 px RGBA generator on {dev} "
             f"(median of {args.repeat})")
    print(table(title, ["workers", "what", "samples/s", "vs backgrounds"],
                [[r["workers"], r["what"], f"{r['value']:.1f}", r["ratio"]] for r in rows]))
    write_json(args.json, title, rows)


if __name__ == "__main__":
    main()
