"""Check the throughput targets against the JSON the benchmark scripts wrote.

    python benchmarks/targets.py docs/performance            # a folder with composite/mixing/generation.json
    python benchmarks/targets.py DIR --strict                # exit 1 when a target is missed

Targets (ratios measured in one run, against a baseline in the same process):

- composited samples/s >= 0.9x reading the same backgrounds, default options, materialised, at 0 and 2
  workers; each blend mode's row is listed with its ratio (only the default must meet the target);
- ``mix_datasets(real, synthetic, 0.3)`` through a shuffled DataLoader >= 0.95x the real set alone;
- lazy generation through the Dataset >= 0.95x the raw batched forward;
- for each ``paste*.json`` (``bench_paste.py``; ``paste.json`` from this machine, ``paste_<gpu>.json`` from a
  GPU machine, its bank made on CUDA): on-the-fly pasting (``PasteObjects``, p=0.5, fresh objects) >= 0.9x
  reading the same frames, with 2 workers (issue 17).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _rows(folder: Path, name: str) -> list[dict]:
    path = folder / f"{name}.json"
    if not path.is_file():
        raise SystemExit(f"{path} does not exist: run benchmarks/bench_{name}.py --json {path}")
    return json.loads(path.read_text())["rows"]


def _ratio(rows: list[dict], what: str, workers: int | None = None) -> float:
    found = [r for r in rows if r["what"].startswith(what) and (workers is None or r.get("workers") == workers)]
    if len(found) != 1:
        raise SystemExit(f"expected one row starting {what!r} (workers={workers}), found {len(found)}")
    return float(found[0]["ratio"])


def _machine(machine: str) -> str:
    """The GPU (or else the CPU) named in a benchmark JSON's ``machine`` line."""
    return machine.rsplit(", ", 1)[-1] if "no GPU" not in machine else machine.split(",")[0]


def targets(folder: Path) -> list[tuple[str, str, float, float]]:
    """``(target, where, ratio, threshold)`` for every target, in the order of the issue."""
    composite, mixing, generation = (_rows(folder, n) for n in ("composite", "mixing", "generation"))
    out = []
    for w in (0, 2):
        out.append(("composited samples/s vs reading the same backgrounds (default options, materialised)",
                    f"{w} workers", _ratio(composite, "composite, materialised (default options)", w), 0.9))
    for w in (0, 2):
        out.append(("mix_datasets(real, synthetic, 0.3) vs the real set alone", f"{w} workers",
                    _ratio(mixing, "mix_datasets(real, synthetic, 0.3)", w), 0.95))
    out.append(("lazy generation through the Dataset vs the raw batched forward", "",
                _ratio(generation, "SyntheticPlasticDataset via DataLoader"), 0.95))
    for path in sorted(folder.glob("paste*.json")):  # paste.json, and e.g. paste_h100.json from a GPU machine
        doc = json.loads(path.read_text())
        paste = doc["rows"]
        where = "2 workers" + ("" if path.stem == "paste" else f" ({_machine(doc.get('machine', path.stem))})")
        out.append(("PasteObjects(p=0.5) from a generator bank made each epoch vs reading the same frames",
                    where, _ratio(paste, "PasteObjects(p=0.5), generator bank", 2), 0.9))
        out.append(("PasteObjects(p=0.5) from a fixed bank (compositing only)", where,
                    _ratio(paste, "PasteObjects(p=0.5), fixed bank", 2), 0.0))
        if any(r["what"].startswith("PasteObjects(p=0.5) matching") for r in paste):  # listed for its cost
            out.append(("PasteObjects(p=0.5) matching blur, haze and noise, fixed bank", where,
                        _ratio(paste, "PasteObjects(p=0.5) matching", 2), 0.0))
    for r in composite:
        if r["what"].startswith("blend=") and r["what"].endswith(": materialised"):
            threshold = 0.9 if "(default)" in r["what"] else 0.0  # listed for its cost; the default must hold
            out.append((r["what"].replace(": materialised", ", materialised"), "0 workers", r["ratio"], threshold))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", type=Path, help="folder holding composite.json, mixing.json and generation.json")
    p.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    args = p.parse_args()
    rows = targets(args.folder)
    print("| target | where | ratio | needs | met? |")
    print("| --- | --- | --- | --- | --- |")
    for what, where, ratio, threshold in rows:
        verdict = "(cost shown)" if threshold == 0 else ("yes" if ratio >= threshold else "**no**")
        print(f"| {what} | {where} | {ratio:.3f} | {'>= ' + format(threshold, '.2f') if threshold else ''} | "
              f"{verdict} |")
    checked = [r for r in rows if r[3]]
    missed = [r for r in checked if r[2] < r[3]]
    print(f"\n{len(checked) - len(missed)} of {len(checked)} targets met")
    if missed and args.strict:
        sys.exit(1)


if __name__ == "__main__":
    main()
