"""Shared helpers for the benchmark scripts: timing, the machine, and a plain-text table."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run, numbers not meaningful)")
    p.add_argument("--repeat", type=int, default=3, help="timed repetitions (the median is reported)")
    return p


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    return (f"{cpu}, {os.cpu_count()} CPU threads visible, torch {torch.__version__} "
            f"({torch.get_num_threads()} intra-op threads), {gpu}")


def median_time(fn: Callable[[], int], repeat: int, device: torch.device) -> tuple[float, int]:
    """Run ``fn`` once to warm up, then ``repeat`` times; return (median seconds, items per run)."""
    n = fn()
    times = []
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        n = fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times), n


def table(title: str, headers: list[str], rows: list[list]) -> str:
    cells = [headers, *[[f"{c:.3f}" if isinstance(c, float) else str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    out = [f"## {title}", "", f"machine: {machine()}", "", line(cells[0]),
           "| " + " | ".join("-" * w for w in widths) + " |", *map(line, cells[1:])]
    return "\n".join(out)
