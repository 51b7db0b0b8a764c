"""The shipped, pre-generated task set (tasks/builtin_tasks.jsonl) matches the corpus it was made from."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter

import pytest

from cargogym.sandbox.patch import apply_hunks, parse_patch
from cargogym.tasks.corpus import BUILTIN_TASKS, REGENERATE, builtin_crates, builtin_tasks, read_crate, stale_tasks
from cargogym.tasks.families import fix_lines_shown, suggestion_lines
from cargogym.tasks.record import FAMILIES, content_hash, read_tasks

pytestmark = pytest.mark.skipif(not BUILTIN_TASKS.is_file(), reason="no tasks/builtin_tasks.jsonl shipped")


@pytest.fixture(scope="module")
def shipped():
    return read_tasks(BUILTIN_TASKS)


def _apply(files: dict[str, str], diff: str) -> dict[str, str]:
    out = dict(files)
    for fp in parse_patch(diff):
        rel = fp.new_path or fp.old_path
        out[rel] = apply_hunks(out[fp.old_path], fp)
    return out


def test_size_and_coverage(shipped):
    assert len(shipped) >= 300
    assert {t.family for t in shipped} == set(FAMILIES)
    assert {t.crate for t in shipped} == set(builtin_crates())
    assert len({t.instance_id for t in shipped}) == len(shipped)
    per = Counter((t.crate, t.family) for t in shipped)
    assert all(per[(c, f)] >= 1 for c in builtin_crates() for f in FAMILIES)
    assert Counter(t.review["label"] for t in shipped if t.review) .keys() == {"buggy", "clean"}


def test_not_stale(shipped):
    stale = stale_tasks(shipped)
    assert not stale, (f"{len(stale)} built-in tasks were made from crates that changed since "
                       f"(e.g. {stale[0]}); regenerate with `{REGENERATE}`")
    assert len(builtin_tasks()) == len(shipped)
    assert all(t.family == "review" for t in builtin_tasks(family="review"))


def test_patches_reproduce_base_and_fix(shipped):
    pristine = {name: read_crate(path) for name, path in builtin_crates().items()}
    for t in shipped:
        files = pristine[t.crate]
        if t.family == "review":
            assert t.base_commit == content_hash(files)
            changed = _apply(files, t.review["diff"])
            assert changed != files
            continue
        broken = _apply(files, t.setup_patch)
        assert content_hash(broken) == t.base_commit, t.instance_id
        assert _apply(broken, t.patch) == files, t.instance_id
        assert t.FAIL_TO_PASS and all(n.startswith(("lib::", "test:")) for n in t.FAIL_TO_PASS + t.PASS_TO_PASS)


def test_statements_show_the_symptom_never_the_fix(shipped):
    """No statement shows a line the gold patch adds (beyond echoing a broken line) or a rustc
    ``help:`` suggestion; compile_error statements keep the error code, location and broken line."""
    leaks = {t.instance_id: fix_lines_shown(t.problem_statement, t.patch) for t in shipped}
    assert not {i: ls for i, ls in leaks.items() if ls}
    helps = {t.instance_id: suggestion_lines(t.problem_statement) for t in shipped}
    assert not {i: ls for i, ls in helps.items() if ls}
    for t in shipped:
        if t.family == "compile_error":
            assert "`cargo check` fails" in t.problem_statement
            assert re.search(r"^error(\[E\d{4}\])?: ", t.problem_statement, re.M), t.instance_id
            assert re.search(r"^\s*--> src/\S+:\d+:\d+$", t.problem_statement, re.M), t.instance_id
            assert re.search(r"^\s*\d+ \|\s+\S", t.problem_statement, re.M), t.instance_id


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH")
def test_a_sample_still_validates(shipped, tmp_path):
    from cargogym.tasks.validate import CrateValidator, classify_bug, classify_compile

    crate = sorted(builtin_crates())[0]
    files = read_crate(builtin_crates()[crate])
    sample = {t.family: t for t in shipped if t.crate == crate and t.family != "review"}
    with CrateValidator(crate, files, workers=2, cache_root=tmp_path) as v:
        for fam, t in sorted(sample.items()):
            broken = _apply(files, t.setup_patch)
            changed = {f: broken[f] for f in t.files}
            if fam == "compile_error":
                assert classify_compile(v.baseline.tests, v.evaluate(changed, "check")).ok
            else:
                verdict = classify_bug(v.baseline.tests, v.evaluate(changed))
                assert verdict.ok and verdict.fail_to_pass == t.FAIL_TO_PASS, t.instance_id
                assert verdict.pass_to_pass == t.PASS_TO_PASS


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH")
def test_every_compile_error_task_fails_cargo_check(shipped, tmp_path):
    """The env scores compile_error by `cargo check` passing again, so plain `cargo check` (what the
    statement names) must fail on every task's starting state; the pristine (gold-patched) crate passes."""
    env = {**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target"), "CARGO_TERM_COLOR": "never"}
    env.pop("RUSTFLAGS", None)

    def check(crate_dir) -> subprocess.CompletedProcess:
        return subprocess.run(["cargo", "check", "--offline"], cwd=crate_dir, env=env, capture_output=True,
                              text=True, timeout=300)

    by_crate: dict[str, list] = {}
    for t in shipped:
        if t.family == "compile_error":
            by_crate.setdefault(t.crate, []).append(t)
    assert by_crate
    for crate, tasks in sorted(by_crate.items()):
        files = read_crate(builtin_crates()[crate])
        ws = tmp_path / crate
        shutil.copytree(builtin_crates()[crate], ws)
        assert check(ws).returncode == 0, crate
        for t in tasks:
            broken = _apply(files, t.setup_patch)
            for f in t.files:
                (ws / f).write_text(broken[f])
            res = check(ws)
            assert res.returncode != 0 and "error" in res.stderr, t.instance_id
            for f in t.files:
                (ws / f).write_text(files[f])
