"""Task records of every family built from (synthetic) validation results; JSONL round trip.

No cargo here: the builders are pure, so these run in milliseconds.
"""

from __future__ import annotations

import functools
import json

import pytest

from cargogym.sandbox.patch import apply_patch
from cargogym.tasks.diffs import make_diff
from cargogym.tasks.families import (Change, compile_error_task, implement_task, multi_bug_task, review_task,
                                     single_bug_task)
from cargogym.tasks.minicrate import MINI_CRATE, write_mini_crate
from cargogym.tasks.mutate import find_mutations
from cargogym.tasks.record import FAMILIES, Task, TaskFormatError, content_hash, read_tasks, write_tasks
from cargogym.tasks.validate import Evaluation, classify_bug, classify_clean, classify_compile

FILES = dict(MINI_CRATE)
BASE = {"lib::stats::tests::counts_strictly_above": "passed", "lib::grid::tests::row_sums": "passed",
        "lib::text::tests::capitalizes": "passed", "test:api::stats_pipeline": "passed"}
PANIC = "thread 'stats::tests::counts_strictly_above' panicked at src/stats.rs:90:9:\nassertion `left == right` failed"


@functools.lru_cache(maxsize=1)
def _all_mutations():
    return tuple(find_mutations(FILES, check=False))


def _mut(op: str, file: str, contains: str = ""):
    return next(m for m in _all_mutations() if m.operator == op and m.file == file and contains in m.note)


def _bug(m, failing):
    tests = {t: ("failed" if t in failing else "passed") for t in BASE}
    ev = Evaluation("test", True, tests=tests, failures={t: PANIC for t in failing})
    return Change([m], classify_bug(BASE, ev), ev)


@pytest.fixture(scope="module")
def tasks() -> list[Task]:
    b1 = _bug(_mut("flip_comparison", "src/stats.rs", "`>` -> `>=`"),
              ["lib::stats::tests::counts_strictly_above", "test:api::stats_pipeline"])
    b2 = _bug(_mut("off_by_one", "src/grid.rs"), ["lib::grid::tests::row_sums"])
    combined_ev = Evaluation("test", True, tests={**{t: "passed" for t in BASE}, **{t: "failed" for t in
                             ["lib::stats::tests::counts_strictly_above", "test:api::stats_pipeline",
                              "lib::grid::tests::row_sums"]}})
    combined = Change(b1.mutations + b2.mutations, classify_bug(BASE, combined_ev), combined_ev)
    todo = _bug(_mut("todo_body", "src/text.rs", "capitalize"), ["lib::text::tests::capitalizes"])
    cev = Evaluation("check", False, ["error[E0425]: cannot find value `totl` in this scope\n --> src/stats.rs:13:9"])
    comp = Change([_mut("misspell_identifier", "src/stats.rs")], classify_compile(BASE, cev), cev)
    clean_ev = Evaluation("test", True, tests={t: "passed" for t in BASE})
    clean = Change([_mut("rename_local", "src/text.rs")], classify_clean(BASE, clean_ev), clean_ev)
    return [
        single_bug_task("minicalc", FILES, b1, BASE),
        multi_bug_task("minicalc", FILES, [b1, b2], combined, BASE),
        implement_task("minicalc", FILES, todo, BASE),
        compile_error_task("minicalc", FILES, comp, BASE),
        review_task("minicalc", FILES, b2, "buggy", BASE),
        review_task("minicalc", FILES, clean, "clean", BASE),
    ]


def test_every_family_and_field(tasks):
    assert {t.family for t in tasks} == set(FAMILIES)
    single, multi, implement, compile_error, buggy, clean = tasks
    assert single.repo == "builtin:minicalc" and single.crate == "minicalc"
    assert single.FAIL_TO_PASS == ["lib::stats::tests::counts_strictly_above", "test:api::stats_pipeline"]
    assert single.PASS_TO_PASS == ["lib::grid::tests::row_sums", "lib::text::tests::capitalizes"]
    assert single.bug_kinds == ["flip_comparison"] and single.files == ["src/stats.rs"] and single.n_bugs == 1
    assert single.extra["validation"]["broken"]["test:api::stats_pipeline"] == "failed"
    assert single.extra["validation"] == {"tests": 4, "fixed": {}, "broken": {
        "lib::stats::tests::counts_strictly_above": "failed", "test:api::stats_pipeline": "failed"}}
    assert multi.n_bugs == 2 and multi.files == ["src/grid.rs", "src/stats.rs"] and multi.should_delegate
    assert [s.FAIL_TO_PASS for s in multi.sub_tasks] == [
        ["lib::stats::tests::counts_strictly_above", "test:api::stats_pipeline"], ["lib::grid::tests::row_sums"]]
    assert [s.files for s in multi.sub_tasks] == [["src/stats.rs"], ["src/grid.rs"]]
    assert "pub fn capitalize(s: &str) -> String" in implement.problem_statement
    assert "/// The first character upper-cased" in implement.problem_statement
    assert "todo!()" in implement.setup_patch
    assert compile_error.PASS_TO_PASS == [] and len(compile_error.FAIL_TO_PASS) == 4
    assert "E0425" in compile_error.problem_statement
    assert buggy.review["label"] == "buggy" and buggy.FAIL_TO_PASS == ["lib::grid::tests::row_sums"]
    assert clean.review["label"] == "clean" and clean.FAIL_TO_PASS == [] and len(clean.PASS_TO_PASS) == 4
    for r in (buggy, clean):
        assert r.patch == "" and r.setup_patch == "" and r.base_commit == content_hash(FILES)
        assert r.review["diff"].startswith("diff --git a/src/")


def test_statements_show_symptoms_not_fixes(tasks):
    single = tasks[0]
    assert "counts_strictly_above" in single.problem_statement and "assertion `left == right`" in single.problem_statement
    assert ">" not in single.problem_statement.replace("->", "")  # neither the bug nor the fix operator
    for t in tasks[:2]:
        assert "flip" not in t.problem_statement and "src/stats.rs:" not in t.problem_statement.split("panicked")[0]


def test_patches_apply_both_ways(tasks, tmp_path):
    for t in tasks:
        if t.family == "review":
            continue
        root = write_mini_crate(tmp_path / t.instance_id)
        apply_patch(root, t.setup_patch)
        broken = {rel: (root / rel).read_text() for rel in FILES}
        assert content_hash(broken) == t.base_commit
        apply_patch(root, t.patch)
        assert {rel: (root / rel).read_text() for rel in FILES} == FILES
        assert make_diff(FILES, broken) == t.setup_patch


def test_jsonl_round_trip_and_bad_lines(tasks, tmp_path):
    path = tmp_path / "t.jsonl"
    assert write_tasks(path, tasks) == len(tasks)
    back = read_tasks(path)
    assert [b.to_dict() for b in back] == [t.to_dict() for t in tasks]
    assert back[1].sub_tasks[0].FAIL_TO_PASS == tasks[1].sub_tasks[0].FAIL_TO_PASS
    assert back[4].review == {"diff": tasks[4].review["diff"], "label": "buggy"}
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2] + ['{"instance_id": "x"}'] + lines[2:]) + "\n")
    with pytest.raises(TaskFormatError, match=r"t.jsonl:3: task 'x' is missing field"):
        read_tasks(path)
    # ids are stable content hashes: the same change gives the same id
    same = _bug(_mut("flip_comparison", "src/stats.rs", "`>` -> `>=`"), ["test:api::stats_pipeline"])
    assert single_bug_task("minicalc", FILES, same, BASE).instance_id == tasks[0].instance_id
    json.dumps(tasks[0].to_dict())
