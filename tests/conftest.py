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


@pytest.fixture
def rgba_dir(tmp_path) -> Path:
    """A tiny random RGBA object generator saved with save_pretrained (for the command-line tests)."""
    from marinegan import DCGANConfig, Generator

    torch.manual_seed(0)
    Generator(DCGANConfig(image_size=32, channels=4, ngf=8, nz=16)).save_pretrained(tmp_path / "rgba")
    return tmp_path / "rgba"


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def pytest_sessionfinish(session, exitstatus) -> None:  # noqa: ARG001
    _SERVER.__exit__(None, None, None)


REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "trash-icra19"
REQUIRE_REAL_DATA = os.environ.get("MARINEGAN_REQUIRE_REAL_DATA") == "1"


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "real_data: reads ../shared/data/trash-icra19 (skipped where absent, "
                                       "required when MARINEGAN_REQUIRE_REAL_DATA=1, as in CI)")


def pytest_collection_modifyitems(config, items) -> None:  # noqa: ARG001
    if REAL_DATA.is_dir() or REQUIRE_REAL_DATA:  # required: the real_data fixture fails instead
        return
    for item in items:
        if "real_data" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=f"real photographs not found at {REAL_DATA} "
                                                    "(../shared/data/trash-icra19 beside the repository)"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The Trash-ICRA19 slice; a test using it fails when CI requires it and it is absent."""
    if not REAL_DATA.is_dir():
        pytest.fail(f"MARINEGAN_REQUIRE_REAL_DATA=1 but {REAL_DATA} does not exist")
    return REAL_DATA


TRASH_CLASSES = ["plastic", "bio", "rov"]
TRASH_IGNORED = ["timestamp", "metal", "wood", "paper", "cloth", "rubber", "fishing", "unknown"]
