"""The Hugging Face Hub, for users: load a generator by name, push a saved one.

Loading is strict and safetensors-only (:mod:`marinegan.models.loading` does the work); every
failure is one :class:`~marinegan.errors.MarineganError` naming the problem and the fix.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from marinegan.device import resolve_device
from marinegan.errors import HubError
from marinegan.models.dcgan import Generator
from marinegan.models.loading import (
    CONFIG_NAME,
    DEFAULT_GENERATOR_DIR,
    PICKLE_NAMES,
    WEIGHTS_NAME,
    hub_reachable,
    load_pretrained,
    load_state_dict_strict,
    read_config,
    resolve_model_files,
)

__all__ = [
    "CONFIG_NAME", "DEFAULT_GENERATOR_DIR", "PICKLE_NAMES", "WEIGHTS_NAME", "load_generator", "load_pretrained",
    "load_state_dict_strict", "push_folder", "read_config", "resolve_model_files",
]


def load_generator(
    name_or_path: str | os.PathLike[str] | Generator = "default",
    *,
    device: str | torch.device = "auto",
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> Generator:
    """Load a :class:`~marinegan.Generator` ready for sampling (eval mode).

    Args:
        name_or_path: ``"default"`` (the generator shipped in the package), a local
            ``save_pretrained`` directory, a Hub repo id ``"org/name"``, or a ``Generator`` (moved to ``device``).
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"`` …
        revision: Hub branch, tag or commit to pin.
        cache_dir: Hub cache directory (defaults to ``$HF_HOME/hub``).
        local_files_only: use the local cache only (also implied by ``HF_HUB_OFFLINE=1``, and used at once
            when the Hub cannot be reached, instead of retrying).
        token: Hub token for private repos.
    """
    if isinstance(name_or_path, Generator):
        return name_or_path.to(resolve_device(device)).eval()
    return Generator.from_pretrained(
        name_or_path,
        device=device,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
    )


def push_folder(folder: str | os.PathLike[str], repo_id: str, *, branch: str | None = None, private: bool = False,
                message: str = "Upload marinegan generator") -> str:
    """Upload a saved generator folder (config, safetensors, model card) to ``repo_id``; returns the commit URL.

    Any failure (no network, no token, refused) is one :class:`HubError` that says the folder is intact.
    """
    from huggingface_hub import HfApi

    from marinegan.models.loading import _quiet_hub

    folder = Path(folder)
    try:
        with _quiet_hub():
            if not hub_reachable():
                raise ConnectionError("the Hub cannot be reached (offline?)")
            api = HfApi()
            api.create_repo(repo_id, private=private, exist_ok=True)
            info = api.upload_folder(folder_path=str(folder), repo_id=repo_id, revision=branch,
                                     commit_message=message, allow_patterns=[CONFIG_NAME, WEIGHTS_NAME, "README.md"])
    except Exception as exc:  # httpx, requests, Hub HTTP errors: one line, whatever the transport
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise HubError(f"pushing {folder} to {repo_id} failed: {reason}. Nothing was changed locally: {folder} is "
                       "intact; push again when the Hub can be reached (and `hf auth login` or HF_TOKEN is set)."
                       ) from None
    return str(getattr(info, "commit_url", info))
