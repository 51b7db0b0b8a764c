"""Foundation: config loading, CLI wiring, missing cargo, wheel install outside the repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cargogym.config import ConfigError, apply_overrides, load_config

REPO = Path(__file__).resolve().parent.parent


@dataclass
class _Inner:
    n: int = 1


@dataclass
class _Cfg:
    name: str = "x"
    rate: float = 0.5
    inner: _Inner = field(default_factory=_Inner)


def test_unknown_config_key_names_key_and_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: a\nwrokers: 3\n")
    with pytest.raises(ConfigError) as e:
        load_config(_Cfg, path)
    assert "'wrokers'" in str(e.value) and str(path) in str(e.value)


def test_nested_unknown_key_and_overrides(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("name: a\ninner:\n  n: 2\n")
    cfg = load_config(_Cfg, path, overrides=["inner.n=7", "rate=1"])
    assert cfg.inner.n == 7 and cfg.rate == 1.0 and cfg.name == "a"
    with pytest.raises(ConfigError, match="'m'"):
        load_config(_Cfg, path, overrides=["inner.m=1"])
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides({}, ["no-equals-sign"])


def test_every_shipped_config_is_valid_yaml():
    import yaml

    files = list((REPO / "configs").rglob("*.yaml"))
    assert files, "configs/ ships YAML files"
    for f in files:
        assert isinstance(yaml.safe_load(f.read_text()), dict), f


def _cli(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "cargogym.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


SUBCOMMANDS = ("tasks", "rollout", "malt", "train", "data", "eval", "gates", "rescore", "bench", "demo")


def test_cli_lists_all_subcommands():
    res = _cli("--help")
    assert res.returncode == 0, res.stderr
    for name in SUBCOMMANDS:
        assert name in res.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_imports_and_has_help(name):
    """``cargogym NAME --help`` shows the real command: cli._register substitutes a "not available"
    placeholder when a subcommand's module fails to import, which the listing alone would hide."""
    from typer.testing import CliRunner

    from cargogym import cli

    assert set(cli.SUBCOMMANDS) == set(SUBCOMMANDS)
    res = CliRunner().invoke(cli.app, [name, "--help"])
    assert res.exit_code == 0, res.output
    assert "not available" not in res.output, res.output
    assert "Usage:" in res.output and name in res.output


def test_cli_bad_config_key_is_one_line_not_traceback(tmp_path):
    bad = tmp_path / "rollout.yaml"
    bad.write_text("polcy: oracle\n")
    res = _cli("rollout", "--config", str(bad))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr + res.stdout
    assert "polcy" in res.stderr and str(bad) in res.stderr.replace("\n", "")


def test_missing_cargo_gives_install_hint():
    env = {k: v for k, v in os.environ.items()}
    env["PATH"] = "/usr/bin:/bin"
    if shutil.which("cargo", path=env["PATH"]):
        pytest.skip("cargo is installed system-wide; cannot hide it")
    res = subprocess.run(["make", "-s", "check-cargo"], cwd=REPO, env=env, capture_output=True, text=True)
    assert res.returncode != 0
    assert "cargo not found" in res.stdout + res.stderr and "rustup" in res.stdout + res.stderr
    from cargogym.errors import CargoNotFoundError, require_cargo

    old = os.environ["PATH"]
    os.environ["PATH"] = env["PATH"]
    try:
        with pytest.raises(CargoNotFoundError, match="Install the Rust toolchain"):
            require_cargo()
    finally:
        os.environ["PATH"] = old


def test_torch_fallback_uses_cpu_index_then_fails_clearly(tmp_path):
    """When the pinned torch is not on the index, make tries PyTorch's CPU index and then stops with
    a message -- it never runs a plain `pip install torch` (CUDA wheels on Linux). The venv's pip is
    a stand-in that records its arguments and fails, as an unreachable index does."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("#!/bin/sh\nexit 0\n")
    log = tmp_path / "pip.log"
    (venv / "bin" / "pip").write_text(f'#!/bin/sh\necho "$*" >> {log}\nexit 1\n')
    for f in ("python", "pip"):
        (venv / "bin" / f).chmod(0o755)
    res = subprocess.run(["make", "-s", f"VENV={venv}", f"{venv}/.installed-stamp"], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0
    calls = log.read_text().splitlines()
    assert calls[0].startswith("install -q torch==")
    assert calls[1] == "install -q --index-url https://download.pytorch.org/whl/cpu torch"
    assert len(calls) == 2, calls                     # stopped: no plain `pip install torch`, no `-e .`
    assert "could not install a CPU build of torch" in res.stderr and "CUDA" in res.stderr


def test_ci_entry_point_gets_docker_from_the_makefile():
    """.ci/run installs nothing itself: the engine comes from `make docker-engine`, stopped at exit."""
    run = (REPO / ".ci" / "run").read_text()
    assert "make -s docker-engine" in run and "trap 'make -s docker-engine-stop' EXIT" in run
    assert "apt-get" not in run and "dockerd" not in run.split("set -uo pipefail", 1)[1]
    res = subprocess.run(["make", "-s", "-n", "docker-engine"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "dockerd --iptables=false --bridge=none" in res.stdout
    res = subprocess.run(["make", "-s", "docker-engine-stop", "DOCKERD_PIDFILE=/nonexistent/dockerd.pid"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout == ""   # nothing started here: nothing stopped


@pytest.mark.slow
def test_wheel_imports_outside_repo(tmp_path):
    """A wheel built from the repo carries the package, its configs and the Rust crates."""
    wheel_dir = tmp_path / "wheel"
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(wheel_dir), str(REPO)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    (wheel,) = wheel_dir.glob("cargogym-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "cargogym/envs/__init__.py" in names
    assert any(n.startswith("cargogym/configs/") and n.endswith(".yaml") for n in names)
    assert any(n.startswith("cargogym/tasks/crates/") and n.endswith("Cargo.toml") for n in names)
    assert not any("/target/" in n or n.startswith("cargogym/tests/") for n in names)
    target = tmp_path / "site"
    res = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                          str(wheel)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    code = ("import cargogym, cargogym.envs, cargogym.config as c; from pathlib import Path; "
            "print(cargogym.__file__); print(sorted(p.name for p in c.CONFIG_DIR.glob('*.yaml')))")
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines()[0].startswith(str(target))
    assert "rollout.yaml" in out.stdout
