"""The README's Python code blocks run as written (on the real Trash-ICRA19 slice they name)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_python_blocks():
    assert BLOCKS, "README.md should show the library from Python"


@pytest.mark.real_data
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(real_data, index):  # noqa: ARG001 (the block reads ../shared/data)
    proc = subprocess.run([sys.executable, "-c", BLOCKS[index]], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the block's own comment says what it prints: check it
    expected = re.findall(r"print\(.*?\)\s+# (\{.*\})", BLOCKS[index])
    for line in expected:
        assert line in proc.stdout, (line, proc.stdout)
