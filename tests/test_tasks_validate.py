"""Validation of candidates with real cargo on the mini crate (SWE-smith's rules)."""

from __future__ import annotations

import pytest

from cargogym.tasks.minicrate import MINI_CRATE
from cargogym.tasks.validate import (CrateError, CrateValidator, Evaluation, classify_bug, classify_clean,
                                     classify_compile)



pytestmark = pytest.mark.skipif(__import__("shutil").which("cargo") is None, reason="cargo not on PATH")


def _edit(rel: str, old: str, new: str) -> dict[str, str]:
    text = MINI_CRATE[rel]
    assert text.count(old) == 1, old
    return {rel: text.replace(old, new)}


@pytest.fixture(scope="module")
def validator(tmp_path_factory):
    cache = tmp_path_factory.mktemp("taskgen-cache")
    with CrateValidator("minicalc", dict(MINI_CRATE), workers=2, cache_root=cache, test_timeout_min=3.0) as v:
        yield v


# -- pure rules ------------------------------------------------------------------------------------
BASE = {"lib::a::t1": "passed", "lib::a::t2": "passed", "test:api::t3": "passed", "lib::a::slow": "ignored"}


def test_rules_on_evaluations():
    ev = Evaluation("test", True, tests={"lib::a::t1": "failed", "lib::a::t2": "passed", "test:api::t3": "passed"})
    v = classify_bug(BASE, ev)
    assert (v.ok, v.fail_to_pass, v.pass_to_pass) == (True, ["lib::a::t1"], ["lib::a::t2", "test:api::t3"])
    # a test missing after the change counts as failed; ignored tests are in neither list
    ev = Evaluation("test", True, tests={"lib::a::t1": "passed", "lib::a::t2": "passed"})
    assert classify_bug(BASE, ev).fail_to_pass == ["test:api::t3"]
    ev = Evaluation("test", True, tests={k: "failed" for k in BASE})
    assert classify_bug(BASE, ev).reason == "no_passing_test"
    ev = Evaluation("test", True, tests={k: "passed" for k in BASE})
    assert classify_bug(BASE, ev).reason == "no_failing_test"
    assert classify_clean(BASE, ev).ok
    assert classify_bug(BASE, Evaluation("test", False, ["error[E0425]"])).reason == "build_failed"
    assert classify_bug(BASE, Evaluation("test", True, timed_out=True)).reason == "timeout"
    c = classify_compile(BASE, Evaluation("check", False, ["error[E0425]: x"]))
    assert c.ok and c.fail_to_pass == ["lib::a::t1", "lib::a::t2", "test:api::t3"] and c.pass_to_pass == []
    assert classify_compile(BASE, Evaluation("check", True)).reason == "compiles"


# -- real cargo ------------------------------------------------------------------------------------
def test_baseline_has_qualified_passing_tests(validator):
    b = validator.baseline
    assert len(b.passing) == 25
    assert "lib::stats::tests::mean_of_values" in b.tests
    assert "test:api::stats_pipeline" in b.tests
    assert {x.kind for x in b.binaries} == {"lib", "test"}


def test_bug_is_kept_with_statuses_before_and_after(validator):
    changed = _edit("src/stats.rs", "filter(|v| **v > threshold)", "filter(|v| **v >= threshold)")
    ev = validator.evaluate(changed)
    v = classify_bug(validator.baseline.tests, ev)
    assert v.ok and v.reason == "kept"
    assert v.fail_to_pass == ["lib::stats::tests::counts_strictly_above", "test:api::stats_pipeline"]
    assert len(v.pass_to_pass) == 23
    assert "assertion `left == right` failed" in ev.failures["lib::stats::tests::counts_strictly_above"]
    assert set(ev.tests) == set(validator.baseline.tests)
    # the slot was restored: the pristine crate still passes everything
    again = validator.evaluate({})
    assert classify_clean(validator.baseline.tests, again).ok


def test_equivalent_change_compile_error_and_ordering(validator):
    jobs = [
        ("same", _edit("src/text.rs", "let n = letters.len();\n    for i in 0..n / 2 {\n        if letters[i] != letters[n - 1 - i]",
                       "let count = letters.len();\n    for i in 0..count / 2 {\n        if letters[i] != letters[count - 1 - i]"), "test"),
        ("typo", _edit("src/grid.rs", "if x >= self.width ||", "if x >= self.widht ||"), "check"),
        ("bug", _edit("src/grid.rs", "for dy in 0..=2 {", "for dy in 0..2 {"), "test"),
    ]
    results = list(validator.imap(jobs))
    assert [tag for tag, _ in results] == ["same", "typo", "bug"]
    same, typo, bug = (ev for _, ev in results)
    assert classify_bug(validator.baseline.tests, same).reason == "no_failing_test"
    assert classify_clean(validator.baseline.tests, same).ok
    c = classify_compile(validator.baseline.tests, typo)
    assert c.ok and any("E0609" in e or "no field" in e for e in typo.errors)
    assert classify_bug(validator.baseline.tests, typo).reason == "build_failed"
    assert "lib::grid::tests::neighbours_in_corner" in classify_bug(validator.baseline.tests, bug).fail_to_pass


def test_hang_is_discarded_and_crash_still_reports_other_tests(validator):
    hang = _edit("src/text.rs", "s.split_whitespace().count()", "loop { std::hint::black_box(s); }")
    ev = validator.evaluate(hang)
    assert ev.timed_out and classify_bug(validator.baseline.tests, ev).reason == "timeout"
    crash = _edit("src/text.rs", "let mut chars = s.chars();", "let _ = capitalize(s);\n    let mut chars = s.chars();")
    ev = validator.evaluate(crash)
    v = classify_bug(validator.baseline.tests, ev)
    assert ev.crashed == ["lib", "test:api"]
    assert v.ok and "lib::text::tests::capitalizes" in v.fail_to_pass and "test:api::text_pipeline" in v.fail_to_pass
    assert "lib::stats::tests::mean_of_values" in v.pass_to_pass  # the rest of the binary still ran


@pytest.mark.parametrize("case", ["no_build", "no_tests", "failing"])
def test_bad_crates_are_rejected_with_a_clear_error(case, tmp_path):
    files = dict(MINI_CRATE)
    if case == "no_build":
        files["src/stats.rs"] = files["src/stats.rs"].replace("pub fn mean(", "pub fn mean(oops ")
        expect = ["'minicalc'", "does not build"]
    elif case == "no_tests":
        files = {"Cargo.toml": MINI_CRATE["Cargo.toml"], "src/lib.rs": "pub fn one() -> u8 { 1 }\n"}
        expect = ["'minicalc'", "has no tests"]
    else:
        files["src/text.rs"] = files["src/text.rs"].replace('assert_eq!(capitalize(""), "");',
                                                            'assert_eq!(capitalize(""), "?");')
        expect = ["'minicalc'", "fails its own tests", "lib::text::tests::capitalizes"]
    with pytest.raises(CrateError) as e:
        with CrateValidator("minicalc", files, workers=1, cache_root=tmp_path):
            pass
    assert all(x in str(e.value) for x in expect), str(e.value)
