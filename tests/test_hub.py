"""Hub I/O: save/load round trips from a local dir, a loopback Hub, the offline cache; clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from marinegan import ConfigError, DCGANConfig, Generator, HubError, WeightsError, load_generator

SMALL = DCGANConfig(image_size=32, ngf=8, ndf=8, nz=16)
Z = torch.randn(4, 16, generator=torch.Generator().manual_seed(0))


def small_generator(seed: int) -> Generator:
    torch.manual_seed(seed)
    return Generator(SMALL).eval()


@pytest.fixture
def saved(tmp_path) -> tuple[Generator, Path]:
    g = small_generator(0)
    g.save_pretrained(tmp_path / "gen", model_card_kwargs={"training_data": "toy squares", "license": "cc-by-4.0"})
    return g, tmp_path / "gen"


def test_save_pretrained_writes_config_weights_and_card(saved):
    g, path = saved
    assert sorted(p.name for p in path.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert json.loads((path / "config.json").read_text()) == SMALL.to_dict()
    card = (path / "README.md").read_text()
    for expected in ("library_name: marinegan", "toy squares", "cc-by-4.0", "Intended use"):
        assert expected in card
    assert f"{sum(p.numel() for p in g.parameters()):,}" in card


def test_local_round_trip_gives_identical_outputs(saved):
    g, path = saved
    loaded = load_generator(path, device="cpu")
    assert loaded.config == SMALL
    assert not loaded.training
    torch.testing.assert_close(loaded(Z), g(Z), rtol=0, atol=0)
    torch.testing.assert_close(Generator.from_pretrained(str(path))(Z), g(Z), rtol=0, atol=0)


def test_load_generator_auto_device_is_cuda_only_when_available(saved):
    loaded = load_generator(saved[1])  # device="auto"
    assert loaded.device.type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_hub_download_and_revision_pinning(hub_server, tmp_path):
    g1, g2 = small_generator(1), small_generator(2)
    g1.save_pretrained(tmp_path / "v1")
    g2.save_pretrained(tmp_path / "v2")
    sha1 = hub_server.hub.commit_dir("ocean/pinned", tmp_path / "v1", tag="v1.0")
    hub_server.hub.commit_dir("ocean/pinned", tmp_path / "v2")

    latest = load_generator("ocean/pinned", device="cpu")
    by_tag = load_generator("ocean/pinned", device="cpu", revision="v1.0")
    by_sha = load_generator("ocean/pinned", device="cpu", revision=sha1)
    torch.testing.assert_close(latest(Z), g2(Z), rtol=0, atol=0)
    torch.testing.assert_close(by_tag(Z), g1(Z), rtol=0, atol=0)
    torch.testing.assert_close(by_sha(Z), g1(Z), rtol=0, atol=0)
    assert not torch.allclose(latest(Z), by_tag(Z))
    resolved = [p for m, p in hub_server.hub.requests if "/ocean/pinned/resolve/" in p]
    assert any("/resolve/v1.0/model.safetensors" in p for p in resolved)


def test_offline_cache_loads_without_any_request(hub_server, hf_home, tmp_path):
    g = small_generator(3)
    g.save_pretrained(tmp_path / "m")
    hub_server.hub.commit_dir("ocean/offline", tmp_path / "m")
    load_generator("ocean/offline", device="cpu")  # populates $HF_HOME/hub through the loopback Hub
    torch.save(Z, tmp_path / "z.pt")
    before = len(hub_server.hub.requests)
    script = (
        "import torch, marinegan\n"
        f"z = torch.load({str(tmp_path / 'z.pt')!r}, weights_only=True)\n"
        "g = marinegan.load_generator('ocean/offline', device='cpu')\n"
        f"torch.save(g(z), {str(tmp_path / 'out.pt')!r})\n"
        "try:\n"
        "    marinegan.load_generator('ocean/never-downloaded', device='cpu')\n"
        "except marinegan.HubError as e:\n"
        "    print('ERR', e)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(hf_home)}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    torch.testing.assert_close(torch.load(tmp_path / "out.pt", weights_only=True), g(Z), rtol=0, atol=0)
    assert "not in the local Hub cache" in proc.stdout
    assert len(hub_server.hub.requests) == before, "offline load must not send any request"


def test_push_to_hub_then_load_back(hub_server):
    g = small_generator(4)
    url = g.push_to_hub("ocean/pushed", commit_message="first generator")
    assert "ocean/pushed" in str(url)
    files = hub_server.hub.repos["ocean/pushed"].commits[hub_server.hub.repos["ocean/pushed"].refs["main"]]
    assert {"config.json", "model.safetensors", "README.md"} <= set(files)
    torch.testing.assert_close(load_generator("ocean/pushed", device="cpu")(Z), g(Z), rtol=0, atol=0)


# ---- bad input: one clear error each -------------------------------------------------------------


def test_missing_hub_repo(hub_server):  # noqa: ARG001
    with pytest.raises(HubError, match="'ocean/nope' was not found"):
        load_generator("ocean/nope")


def test_missing_revision(hub_server, tmp_path):
    small_generator(0).save_pretrained(tmp_path / "m")
    hub_server.hub.commit_dir("ocean/rev", tmp_path / "m")
    with pytest.raises(HubError, match="revision 'v9' does not exist"):
        load_generator("ocean/rev", revision="v9")


def test_hub_repo_with_only_a_pickle_is_refused_and_nothing_is_unpickled(hub_server):
    config = json.dumps(SMALL.to_dict()).encode()
    hub_server.hub.commit("ocean/pickled", {"config.json": config, "pytorch_model.bin": b"not even read"})
    with pytest.raises(WeightsError, match="never unpickles"):
        load_generator("ocean/pickled")
    assert not any("pytorch_model.bin" in p for _, p in hub_server.hub.requests)


def test_local_pickle_is_refused_with_conversion_hint(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(SMALL.to_dict()))
    torch.save(small_generator(0).state_dict(), tmp_path / "pytorch_model.bin")
    with pytest.raises(WeightsError, match=r"\(pytorch_model.bin\) but no model.safetensors.*weights_only=True"):
        load_generator(tmp_path)


def test_pickle_only_folder_names_the_pickle_not_a_missing_config(tmp_path):
    """A folder with only a pickle used to answer 'config.json does not exist'."""
    torch.save(small_generator(0).state_dict(), tmp_path / "pytorch_model.bin")
    with pytest.raises(WeightsError) as err:
        load_generator(tmp_path)
    msg = str(err.value)
    assert "pickled weights (pytorch_model.bin)" in msg and "s.save_file(torch.load(" in msg
    assert "write its config.json" in msg


def test_a_mistyped_local_path_is_not_sent_to_the_hub(hub_server, tmp_path, monkeypatch):
    (tmp_path / "runs").mkdir()
    monkeypatch.chdir(tmp_path)
    before = len(hub_server.hub.requests)
    with pytest.raises(WeightsError, match=r"no such local folder: runs/generator \(runs/ exists but holds no "):
        load_generator("runs/generator")
    assert len(hub_server.hub.requests) == before


def test_unreachable_hub_answers_at_once_and_quietly(tmp_path):
    code = ("import os, time; os.environ['HF_ENDPOINT'] = 'http://127.0.0.1:9'\n"
            "from marinegan import load_generator\nt = time.time()\n"
            "try:\n    load_generator('ocean/absent', device='cpu')\nexcept Exception as e:\n"
            "    print(type(e).__name__, e)\nprint('seconds', time.time() - t)\n")
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    seconds = float(proc.stdout.split("seconds")[-1])
    assert "HubError" in proc.stdout and "cannot be reached" in proc.stdout and "no local folder" in proc.stdout
    assert seconds < 8 and "Retrying" not in proc.stderr, proc.stderr


def test_models_do_not_import_the_hub_module():
    """hub.py and models/dcgan.py imported each other (load_pretrained <-> Generator): models must stand alone."""
    import ast

    import marinegan.models

    for path in Path(marinegan.models.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            assert not any(n == "marinegan.hub" or n.startswith("marinegan.hub.") for n in names), path.name


def test_weights_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        small_generator(0).save_pretrained(tmp_path / "g")
    finally:
        os.umask(old)
    for name in ("model.safetensors", "config.json"):
        assert (tmp_path / "g" / name).stat().st_mode & 0o777 == 0o644, name


def test_weights_that_do_not_match_the_config(saved):
    _, path = saved
    cfg = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**cfg, "ngf": 16}))
    with pytest.raises(WeightsError, match=r"key 'main.0.weight' has shape \(16, 32, 4, 4\).*expects \(16, 64, 4, 4\)"):
        load_generator(path)


def test_missing_and_unexpected_keys(saved):
    g, path = saved
    state = {k: v.contiguous() for k, v in g.state_dict().items()}
    save_file({k: v for k, v in state.items() if k != "main.1.weight"}, str(path / "model.safetensors"))
    with pytest.raises(WeightsError, match="missing key 'main.1.weight'"):
        load_generator(path)
    save_file({**state, "extra.weight": torch.zeros(1)}, str(path / "model.safetensors"))
    with pytest.raises(WeightsError, match="unexpected key 'extra.weight'"):
        load_generator(path)


def test_corrupt_weights_file(saved):
    _, path = saved
    (path / "model.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(WeightsError, match="not a valid safetensors file"):
        load_generator(path)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not a readable JSON config"),
        (json.dumps({"image_size": 64, "hidden": 3}), r"unknown keys \['hidden'\]"),
        (json.dumps({"image_size": 40}), "image_size=40 is not supported"),
    ],
)
def test_bad_config_file(saved, content, message):
    _, path = saved
    (path / "config.json").write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_generator(path)


def test_home_relative_directory(saved, monkeypatch):
    g, path = saved
    monkeypatch.setenv("HOME", str(path.parent))
    torch.testing.assert_close(load_generator(f"~/{path.name}", device="cpu")(Z), g(Z), rtol=0, atol=0)


def test_missing_directory_and_missing_files(tmp_path):
    with pytest.raises(WeightsError, match="no such local folder"):
        load_generator(tmp_path / "absent")
    with pytest.raises(WeightsError, match="config.json does not exist"):
        load_generator(tmp_path)
