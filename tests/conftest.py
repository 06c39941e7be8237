"""Test set-up: a loopback Hub for every test, set before ``huggingface_hub`` is imported.

``HF_ENDPOINT`` points at a :class:`tests.hub_server.HubServer` on 127.0.0.1 and ``HF_HOME`` at a
temporary directory, so no test can reach the real Hub or touch the user's cache.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from hub_server import HubServer  # noqa: E402

_SERVER = HubServer().__enter__()
_HF_HOME = tempfile.mkdtemp(prefix="marinegan-hf-home-")
os.environ["HF_ENDPOINT"] = _SERVER.url
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_TOKEN"] = "hf_fake_token_for_loopback_hub"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ.pop("HF_HUB_OFFLINE", None)
os.environ["MPLBACKEND"] = "Agg"

import pytest  # noqa: E402
import torch  # noqa: E402

assert "huggingface_hub" not in sys.modules or os.environ["HF_ENDPOINT"] == _SERVER.url


@pytest.fixture(scope="session")
def hub_server() -> HubServer:
    return _SERVER


@pytest.fixture(scope="session")
def hf_home() -> Path:
    return Path(_HF_HOME)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def pytest_sessionfinish(session, exitstatus) -> None:  # noqa: ARG001
    _SERVER.__exit__(None, None, None)
