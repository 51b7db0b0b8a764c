"""The built-in crate corpus (tasks/crates): std-only, multi-module crates with real test suites that
pass and are clippy-clean."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from cargogym.tasks.corpus import builtin_crates, read_crate
from cargogym.tasks.syntax import parse, text, walk

MIN_UNIT_TESTS = 25
MIN_TESTS_TOTAL = 200
MIN_MODULES = 3
DEPENDENCY_TABLES = ("dependencies", "dev-dependencies", "build-dependencies")

CRATES = builtin_crates()


def _tests_in(src: str) -> int:
    """``#[test]`` functions of a Rust file (attributes in the syntax tree, not in comments)."""
    b = src.encode()
    return sum(1 for n in walk(parse(b).root_node) if n.type == "attribute_item" and text(n, b) == "#[test]")


def _declared_modules(lib_rs: str) -> list[str]:
    """``mod name;`` declarations of lib.rs (file modules, not inline ``mod name { … }``)."""
    b = lib_rs.encode()
    names = []
    for n in walk(parse(b).root_node):
        if n.type == "mod_item" and n.child_by_field_name("body") is None:
            names.append(text(n.child_by_field_name("name"), b))
    return names


def test_the_corpus_has_the_nine_crates():
    assert sorted(CRATES) == ["codec", "exprlang", "graphs", "ledger", "lrucache", "matrix", "scheduler",
                              "semver", "textutil"]


@pytest.mark.parametrize("name", sorted(CRATES))
def test_crate_is_std_only_multi_module_and_tested(name):
    path = CRATES[name]
    manifest = tomllib.loads((path / "Cargo.toml").read_text())
    for table in DEPENDENCY_TABLES:
        assert not manifest.get(table), f"{name}: [{table}] must be empty (the corpus is std-only, built offline)"
    assert not any(manifest.get("target", {}).get(t, {}).get(table)
                   for t in manifest.get("target", {}) for table in DEPENDENCY_TABLES), name
    files = read_crate(path)
    assert "src/lib.rs" in files, f"{name}: no src/lib.rs"
    modules = _declared_modules(files["src/lib.rs"])
    assert len(modules) >= MIN_MODULES, f"{name}: {len(modules)} modules ({modules})"
    for m in modules:
        assert f"src/{m}.rs" in files or f"src/{m}/mod.rs" in files, f"{name}: module {m} has no file"
    unit = sum(_tests_in(t) for rel, t in files.items() if rel.startswith("src/"))
    assert unit >= MIN_UNIT_TESTS, f"{name}: {unit} unit tests"
    assert not (path / "target").exists() and not (path / "Cargo.lock").exists(), f"{name}: build output committed"


def test_corpus_totals():
    unit = integration = 0
    with_tests_dir = []
    for name, path in CRATES.items():
        files = read_crate(path)
        unit += sum(_tests_in(t) for rel, t in files.items() if rel.startswith("src/"))
        it = sum(_tests_in(t) for rel, t in files.items() if rel.startswith("tests/"))
        integration += it
        if it:
            with_tests_dir.append(name)
    assert unit + integration >= MIN_TESTS_TOTAL, (unit, integration)
    assert len(with_tests_dir) >= 2, with_tests_dir


def _cargo(args: list[str], crate: Path, target: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "CARGO_TARGET_DIR": str(target), "CARGO_TERM_COLOR": "never"}
    for k in ("RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "RUSTC_WRAPPER"):
        env.pop(k, None)
    return subprocess.run(["cargo", *args], cwd=crate, env=env, capture_output=True, text=True, timeout=timeout)


def _clippy_missing() -> str | None:
    if shutil.which("cargo") is None:
        return "cargo not on PATH"
    try:
        ok = subprocess.run(["cargo", "clippy", "--version"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return None if ok else "clippy is not installed (`rustup component add clippy`); lint check skipped"


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """Copies of the crates (builds never write into tasks/crates) and one shared target folder."""
    root = tmp_path_factory.mktemp("corpus")
    for name, path in CRATES.items():
        shutil.copytree(path, root / name, ignore=shutil.ignore_patterns("target", "Cargo.lock"))
    return root, root / "target"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH")
@pytest.mark.parametrize("name", sorted(CRATES))
def test_baseline_tests_pass_and_clippy_is_clean(name, copies):
    root, target = copies
    res = _cargo(["test", "--offline"], root / name, target)
    assert res.returncode == 0, f"{name}: cargo test fails\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    passed = sum(int(n) for n in re.findall(r"test result: ok\. (\d+) passed", res.stdout))
    assert passed >= MIN_UNIT_TESTS, f"{name}: only {passed} tests ran"
    missing = _clippy_missing()
    if missing:
        pytest.skip(missing)
    res = _cargo(["clippy", "--offline", "--all-targets", "--", "-D", "warnings"], root / name, target)
    assert res.returncode == 0, f"{name}: clippy warnings\n{res.stderr[-4000:]}"
