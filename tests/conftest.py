"""Shared pytest fixtures. Tests import only ``cargogym.…`` (importlib import mode)."""

from __future__ import annotations

import os
import shutil

import pytest

requires_cargo = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH")


@pytest.fixture(scope="session")
def ray_session():
    """One real local Ray cluster (num_cpus=2) shared by the whole test session."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"TIKTOKEN_ENCODINGS_BASE": os.environ.get("TIKTOKEN_ENCODINGS_BASE", "")}})
    yield ray
    # left running until interpreter exit: other session-scoped users may still need it


def pytest_sessionfinish(session, exitstatus):
    try:
        import ray

        if ray.is_initialized():
            ray.shutdown()
    except Exception:
        pass


@pytest.fixture(scope="session")
def envs_ledger_suite():
    """Hand-made ledger tasks of every family (cargogym.envs.handmade), labelled by real cargo runs."""
    if shutil.which("cargo") is None:
        pytest.skip("cargo not on PATH")
    from cargogym.envs.handmade import TestLabeler, ledger_suite

    labeler = TestLabeler()
    try:
        yield ledger_suite(labeler)
    finally:
        labeler.close()
