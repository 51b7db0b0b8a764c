"""grade(): SWE-bench outcomes with real cargo, test restoration, review tasks, serialisation."""

from __future__ import annotations

import dataclasses

import pytest

from cargogym.rewards.grading import GradingReport, grade, parse_verdict, resolution_of

pytestmark = pytest.mark.skipif(__import__("shutil").which("cargo") is None, reason="cargo not on PATH")


def _fix(ws, new_body: str) -> None:
    ws.write_text("src/math.rs", ws.read_text("src/math.rs").replace("    a - b\n", f"    {new_body}\n"))


def test_resolution_rules():
    assert resolution_of({"a": "passed"}, {"b": "passed"}) == "FULL"
    assert resolution_of({"a": "passed", "c": "failed"}, {"b": "passed"}) == "PARTIAL"
    assert resolution_of({"a": "passed"}, {"b": "failed"}) == "NO"
    assert resolution_of({"a": "missing"}, {}) == "NO"
    assert resolution_of({"a": "ignored"}, {}) == "NO"
    assert resolution_of({}, {"b": "passed"}) == "FULL"


def test_broken_partial_and_full(sb_workspaces, sb_minicrate_task, sb_local):
    t = sb_minicrate_task
    ws = sb_workspaces.create(t)
    try:
        r = grade(t, ws, sb_local, clippy=False)
        assert (r.resolution, r.f2p_passed, r.p2p_passed, r.valid) == ("NO", 0, 5, True)
        assert "left: -1" in r.failures["lib::math::tests::adds_small_numbers"]
        _fix(ws, "a.abs() + b.abs()")  # right for positives only
        r = grade(t, ws, sb_local, clippy=False)
        assert (r.resolution, r.f2p_passed, r.f2p_total) == ("PARTIAL", 2, 3)
        _fix(ws, "a + b")
        ws.write_text("src/math.rs", ws.read_text("src/math.rs").replace("a.abs() + b.abs()", "a + b"))
        r = grade(t, ws, sb_local)
        assert r.resolved and r.resolution == "FULL" and r.compile_ok and r.valid
        from cargogym.sandbox.cargo import clippy_available

        assert r.clippy_available == clippy_available(sb_local, ws.path)
        if r.clippy_available:
            assert r.clippy_warnings == 0 and r.lints_suppressed == []
        else:  # tests/test_rewards_hardening.py simulates this case
            assert r.clippy_warnings is None and any("clippy is not installed" in n for n in r.notes)
        assert set(r.timings) >= {"workspace", "tests", "total"}
        assert GradingReport.from_dict(r.to_dict()) == r
    finally:
        ws.close()


def test_compile_error_gives_no_and_compile_not_ok(sb_workspaces, sb_minicrate_task, sb_local):
    ws = sb_workspaces.create(sb_minicrate_task)
    try:
        _fix(ws, "a + ")
        r = grade(sb_minicrate_task, ws, sb_local, clippy=False)
        assert r.resolution == "NO" and not r.compile_ok and r.build_errors and r.valid
        assert all(r.tests[n] == "missing" for n in sb_minicrate_task.FAIL_TO_PASS)
    finally:
        ws.close()


def test_test_edits_do_not_count(sb_workspaces, sb_minicrate_task, sb_local):
    """Weakened tests are restored: assertions removed and an integration test deleted."""
    ws = sb_workspaces.create(sb_minicrate_task)
    try:
        text = ws.read_text("src/math.rs").replace("assert_eq!(add(2, 3), 5);", "")
        text = text.replace("assert_eq!(add(-2, -3), -5);", "")
        ws.write_text("src/math.rs", text)
        ws.delete("tests/api.rs")
        r = grade(sb_minicrate_task, ws, sb_local, clippy=False)
        assert r.resolution == "NO" and r.f2p_passed == 0
        assert r.tests["test:api::add_and_clamp"] == "failed"
        assert any("tests/api.rs" in n for n in r.notes)
    finally:
        ws.close()


def test_test_patch_is_applied_before_grading(sb_workspaces, sb_minicrate_task, sb_local):
    from cargogym.sandbox.patch import make_diff
    from pathlib import Path

    api = (Path(sb_minicrate_task.repo) / "tests" / "api.rs").read_text()
    extra = api + "\n#[test]\nfn added_by_test_patch() {\n    assert_eq!(minicrate::add(1, 1), 2);\n}\n"
    t = dataclasses.replace(sb_minicrate_task, test_patch=make_diff({"tests/api.rs": api}, {"tests/api.rs": extra}),
                            FAIL_TO_PASS=sb_minicrate_task.FAIL_TO_PASS + ["test:api::added_by_test_patch"])
    ws = sb_workspaces.create(t)
    try:
        _fix(ws, "a + b")
        r = grade(t, ws, sb_local, clippy=False)
        assert r.resolution == "FULL" and r.tests["test:api::added_by_test_patch"] == "passed"
    finally:
        ws.close()


def test_review_tasks_grade_the_verdict(sb_minicrate_task, sb_local):
    buggy = dataclasses.replace(sb_minicrate_task, family="review", review={"diff": "", "label": "buggy"})
    r = grade(buggy, None, sb_local, review_verdict="REQUEST_CHANGES: add subtracts")
    assert r.resolved and r.review_correct and r.review_verdict == "REQUEST_CHANGES"
    r = grade(buggy, None, sb_local, review_verdict="APPROVE")
    assert not r.resolved and r.review_correct is False
    r = grade(buggy, None, sb_local, review_verdict="looks fine")
    assert not r.resolved and any("verdict" in p for p in r.problems)
    assert parse_verdict("**Approve** nice") == "APPROVE" and parse_verdict("request changes") == "REQUEST_CHANGES"
