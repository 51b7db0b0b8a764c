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


# -- sandbox / rewards (issue 4) ------------------------------------------------------------------
@pytest.fixture(scope="session")
def sb_local():
    """One real LocalSandbox (rlimits, pids cgroup, own network namespace) for the session."""
    if shutil.which("cargo") is None:
        pytest.skip("cargo not on PATH")
    from cargogym.sandbox.exec import make_sandbox

    sb = make_sandbox("local")
    yield sb
    sb.close()


@pytest.fixture(scope="session")
def sb_workspaces(sb_local):
    """A WorkspaceManager (overlay when root, else copies) shared by the session."""
    from cargogym.sandbox.workspace import WorkspaceManager

    m = WorkspaceManager(sandbox=sb_local)
    yield m
    m.close()


@pytest.fixture(scope="session")
def sb_minicrate_task():
    """A single-bug task on tests/fixtures/minicrate: ``add`` subtracts (3 F2P, 5 P2P)."""
    from pathlib import Path

    from cargogym.sandbox.patch import make_diff
    from cargogym.tasks.record import Task

    root = Path(__file__).parent / "fixtures" / "minicrate"
    src = (root / "src" / "math.rs").read_text()
    broken = src.replace("    a + b\n", "    a - b\n")
    return Task(
        instance_id="minicrate-add", repo=str(root), base_commit="", problem_statement="add is wrong",
        patch=make_diff({"src/math.rs": broken}, {"src/math.rs": src}), test_patch="",
        setup_patch=make_diff({"src/math.rs": src}, {"src/math.rs": broken}),
        FAIL_TO_PASS=["lib::math::tests::adds_small_numbers", "lib::math::tests::adds_negative_numbers",
                      "test:api::add_and_clamp"],
        PASS_TO_PASS=["lib::math::tests::clamps_below", "lib::math::tests::clamps_above",
                      "lib::text::tests::reverses_words", "lib::text::tests::shouts", "test:api::text_roundtrip"],
        files=["src/math.rs"])


# -- training (issue 7) ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def training_minicrate_tasks():
    """Four single-bug tasks on tests/fixtures/minicrate with distinct problem statements."""
    from pathlib import Path

    from cargogym.sandbox.patch import make_diff
    from cargogym.tasks.record import Task

    root = Path(__file__).parent / "fixtures" / "minicrate"
    math, text = (root / "src" / "math.rs").read_text(), (root / "src" / "text.rs").read_text()
    bugs = [  # (id, file, pristine, broken, statement, F2P)
        ("add", "src/math.rs", math, math.replace("    a + b\n", "    a - b\n"), "add subtracts instead of adding",
         ["lib::math::tests::adds_small_numbers", "lib::math::tests::adds_negative_numbers", "test:api::add_and_clamp"]),
        ("clamp", "src/math.rs", math, math.replace("if x < lo {", "if x > lo {"), "clamp ignores its lower bound",
         ["lib::math::tests::clamps_below", "lib::math::tests::clamps_above", "test:api::add_and_clamp"]),
        ("shout", "src/text.rs", text, text.replace("to_uppercase", "to_lowercase"), "shout does not upper-case",
         ["lib::text::tests::shouts", "test:api::text_roundtrip"]),
        ("reverse", "src/text.rs", text, text.replace(".rev()", ""), "reverse_words keeps the word order",
         ["lib::text::tests::reverses_words"]),
    ]
    every = ["lib::math::tests::adds_small_numbers", "lib::math::tests::adds_negative_numbers",
             "lib::math::tests::clamps_below", "lib::math::tests::clamps_above", "lib::text::tests::reverses_words",
             "lib::text::tests::shouts", "test:api::add_and_clamp", "test:api::text_roundtrip"]
    tasks = []
    for name, rel, good, bad, statement, f2p in bugs:
        assert good != bad, name
        tasks.append(Task(
            instance_id=f"minicrate-{name}", repo=str(root), base_commit="", problem_statement=statement,
            patch=make_diff({rel: bad}, {rel: good}), test_patch="", setup_patch=make_diff({rel: good}, {rel: bad}),
            FAIL_TO_PASS=f2p, PASS_TO_PASS=[t for t in every if t not in f2p], files=[rel]))
    return tasks
