"""Finding and loading a model's files safely: a local directory, the Hugging Face Hub, or its offline cache.

Only ``config.json`` and ``model.safetensors`` are ever read: nothing is unpickled. Every
failure becomes one :class:`~marinegan.errors.MarineganError` that names the problem and the fix.
This module depends on ``huggingface_hub`` and safetensors, never on :mod:`marinegan.hub`, so the
models can be imported and loaded without the user-facing Hub module.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlparse

import torch
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from safetensors import SafetensorError
from safetensors.torch import load_file

from marinegan.device import resolve_device
from marinegan.errors import ConfigError, HubError, WeightsError

if TYPE_CHECKING:
    from marinegan.models.dcgan import _HubModel

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
PICKLE_NAMES = ("pytorch_model.bin", "model.bin", "model.pt", "model.pth", "model.ckpt")
DEFAULT_GENERATOR_DIR = Path(__file__).resolve().parents[1] / "pretrained" / "default"

M = TypeVar("M", bound="_HubModel")


def _resolve_local(directory: Path, filename: str) -> Path:
    path = directory / filename
    if path.is_file():
        return path
    pickles = [n for n in PICKLE_NAMES if (directory / n).is_file()]
    if pickles and not (directory / WEIGHTS_NAME).is_file():
        pickle = directory / pickles[0]
        raise WeightsError(
            f"{directory} holds pickled weights ({pickles[0]}) but no {WEIGHTS_NAME}: marinegan loads safetensors "
            "only and never unpickles weights. If you trust that file, convert it once with: python -c \"import "
            f"torch, safetensors.torch as s; s.save_file(torch.load('{pickle}', weights_only=True), "
            f"'{directory / WEIGHTS_NAME}')\"" + ("" if (directory / CONFIG_NAME).is_file() else
                                                   f", and write its {CONFIG_NAME} (a DCGANConfig as JSON)")
        )
    inner = [d for d in ("generator", "discriminator") if (directory / d / filename).is_file()]
    if inner:  # a training run's folder: its models are inside
        raise WeightsError(f"{directory} is a training run's folder, not a model folder: its generator is in "
                           f"{directory / inner[0]}; pass that folder")
    raise WeightsError(
        f"{path} does not exist. A marinegan model directory needs {CONFIG_NAME} and {WEIGHTS_NAME}, "
        "as written by save_pretrained()."
    )


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the Hub endpoint (``HF_ENDPOINT``) opens within ``timeout`` seconds."""
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _quiet_hub():
    """Silence huggingface_hub's retry warnings: marinegan reports the outcome in one line."""
    log = logging.getLogger("huggingface_hub")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _download(repo_id: str, filename: str, **kwargs) -> Path:
    rev = kwargs.get("revision") or "main"
    try:
        with _quiet_hub():
            return Path(hf_hub_download(repo_id=repo_id, filename=filename, **kwargs))
    except HFValidationError as exc:
        raise HubError(
            f"{repo_id!r} is neither an existing local directory nor a valid Hub repo id "
            f"('org/name'): {exc}"
        ) from None
    # LocalEntryNotFoundError subclasses EntryNotFoundError: it must be caught first.
    except (LocalEntryNotFoundError, OfflineModeIsEnabled):
        raise HubError(
            f"{filename} of {repo_id!r} (revision {rev!r}) is not in the local Hub cache and the Hub cannot be "
            f"reached (offline, or HF_HUB_OFFLINE=1); there is no local folder named {repo_id!r} either. Download it "
            "once while online, or pass a local directory."
        ) from None
    except GatedRepoError:
        raise HubError(
            f"Hub repo {repo_id!r} is gated: accept its terms on the Hub and log in (`hf auth login`) or pass token=."
        ) from None
    except RepositoryNotFoundError:
        raise HubError(
            f"Hub repo {repo_id!r} was not found (or is private), and no local directory has that name. Check the "
            "name, or log in with `hf auth login` / pass token= for a private repo."
        ) from None
    except RevisionNotFoundError:
        raise HubError(
            f"revision {rev!r} does not exist in Hub repo {repo_id!r}. Pass an existing branch, tag or commit."
        ) from None
    except EntryNotFoundError:
        if filename == WEIGHTS_NAME:
            raise WeightsError(
                f"Hub repo {repo_id!r} (revision {rev!r}) has no {WEIGHTS_NAME}. marinegan loads safetensors only "
                "and never unpickles files from the Hub; ask the owner to upload safetensors weights."
            ) from None
        raise HubError(
            f"Hub repo {repo_id!r} (revision {rev!r}) has no {filename}; it was not saved with marinegan's "
            "save_pretrained()."
        ) from None
    except HfHubHTTPError as exc:
        raise HubError(f"the Hub answered an error for {repo_id!r}/{filename}: {exc}") from None


def resolve_model_files(
    name_or_path: str | os.PathLike[str],
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    force_download: bool = False,
) -> tuple[Path, Path]:
    """Return local paths of ``(config.json, model.safetensors)`` for a directory or Hub repo id."""
    name = os.path.expanduser(str(name_or_path))
    if name == "default":
        directory: Path | None = DEFAULT_GENERATOR_DIR
    elif os.path.isdir(name):
        directory = Path(name)
    elif os.path.exists(name) or name.startswith((".", "/", "~")) or name.count("/") != 1 or \
            os.path.isdir(name.split("/")[0]):
        parent = Path(name).parent
        raise WeightsError(
            f"no such local folder: {name}" + (f" ({parent}/ exists but holds no {Path(name).name}/)"
                                               if parent.is_dir() and str(parent) != "." else "")
            + ". Pass the folder written by save_pretrained() (a run's generator/ folder), or a Hub repo id "
            "'org/name' that is not also a local path."
        )
    else:
        directory = None
    if directory is not None:
        return _resolve_local(directory, CONFIG_NAME), _resolve_local(directory, WEIGHTS_NAME)
    from huggingface_hub import constants

    if not local_files_only and not constants.HF_HUB_OFFLINE and not hub_reachable():
        local_files_only = True  # no retries against an unreachable Hub: answer from the cache, at once
    kwargs = dict(
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
        force_download=force_download,
    )
    return _download(name, CONFIG_NAME, **kwargs), _download(name, WEIGHTS_NAME, **kwargs)


def read_config(path: Path, config_class: type):
    """Parse and validate a ``config.json``; any problem names the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable JSON config ({exc})") from None
    return config_class.from_dict(data, source=str(path))


def load_state_dict_strict(model: torch.nn.Module, weights_path: Path, device: torch.device) -> None:
    """Load safetensors weights into ``model``, checking every key and shape first."""
    try:
        state = load_file(str(weights_path), device=str(device))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(
            f"{weights_path}: not a valid safetensors file ({exc}). Re-save the model with save_pretrained()."
        ) from None
    expected = model.state_dict()
    fix = "config.json and model.safetensors must come from the same save_pretrained() call"
    missing = [k for k in expected if k not in state]
    if missing:
        raise WeightsError(f"{weights_path}: missing key {missing[0]!r} ({len(missing)} missing in all); {fix}.")
    unexpected = [k for k in state if k not in expected]
    if unexpected:
        raise WeightsError(
            f"{weights_path}: unexpected key {unexpected[0]!r} ({len(unexpected)} unexpected in all); {fix}."
        )
    for key, tensor in expected.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise WeightsError(
                f"{weights_path}: key {key!r} has shape {tuple(state[key].shape)} but the config expects "
                f"{tuple(tensor.shape)}; {fix}."
            )
    model.load_state_dict(state, strict=True)


def load_pretrained(
    cls: type[M],
    name_or_path: str | os.PathLike[str],
    *,
    device: str | torch.device = "cpu",
    **download_kwargs,
) -> M:
    """Build ``cls`` from its ``config.json`` and load ``model.safetensors`` strictly. See ``from_pretrained``."""
    from marinegan.models.config import DCGANConfig

    config_path, weights_path = resolve_model_files(name_or_path, **download_kwargs)
    config = read_config(config_path, DCGANConfig)
    dev = resolve_device(device)
    model = cls(config)
    model.to(dev)
    load_state_dict_strict(model, weights_path, dev)
    return model.eval()
