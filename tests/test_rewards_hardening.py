"""Grading hardening on the minicrate fixture (real cargo): a tampered pristine cache cannot feed
tests into grading, restored test modules are named in notes, clippy_clean cannot be bought with an
``allow``, invalid reports earn no report term, a missing clippy is reported, and ``rescore``."""

from __future__ import annotations

import dataclasses
import inspect
import json
import shutil
from pathlib import Path

import pytest

from cargogym.rewards.grading import grade
from cargogym.rewards.protect import graded_changes, restore_test_modules
from cargogym.rewards.spec import RewardSpec
from cargogym.rewards.terms import REWARD_TERMS

requires_cargo = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH")
NOTE_TAIL = "(agent edits to tests are not graded)"
MATH_TESTS = "lib::math::tests::adds_small_numbers"


def _fix(ws, body: str = "a + b") -> None:
    ws.write_text("src/math.rs", ws.read_text("src/math.rs").replace("    a - b\n", f"    {body}\n"))


# -- item: a tampered pristine cache ----------------------------------------------------------------
@requires_cargo
def test_tampered_pristine_cache_cannot_feed_tests_into_grading(sb_local, sb_minicrate_task, tmp_path):
    """The cache is tampered with after the episode started: weakened tests (integration file and
    inline test module) and a new test file. Grading uses the episode's recorded start texts."""
    from cargogym.sandbox.workspace import PrebuiltCache, WorkspaceManager

    # a private copy of the crate and a private cache: the shared pre-built copy is never touched
    shutil.copytree(Path(sb_minicrate_task.repo), tmp_path / "minicrate")
    task = dataclasses.replace(sb_minicrate_task, repo=str(tmp_path / "minicrate"))
    # the cache's own integrity check (when it has one) is turned off: this tests the defence behind it
    trust = {"verify": False} if "verify" in inspect.signature(PrebuiltCache).parameters else {}
    manager = WorkspaceManager(root=tmp_path / "ws", mode="copy",
                               cache=PrebuiltCache(tmp_path / "prebuilt", sandbox=sb_local, **trust), sandbox=sb_local)
    try:
        ws = manager.create(task)
        pristine = manager.pristine(task)
        assert pristine.is_relative_to(tmp_path), pristine
        api = pristine / "tests" / "api.rs"
        api.write_text(api.read_text().replace("assert_eq!(", "let _ = (").replace("assert!(", "let _ = ("))
        math = pristine / "src" / "math.rs"
        math.write_text(math.read_text().replace("assert_eq!(add(2, 3), 5);", ""))
        (pristine / "tests" / "planted.rs").write_text("#[test]\nfn planted() {}\n")
        probe = manager.create(task)  # the tampering reaches fresh workspaces
        assert "tests/planted.rs" in probe.list_files("tests")
        probe.close()

        r = grade(task, ws, sb_local, clippy=False)
        assert r.valid and r.resolution == "NO" and r.f2p_passed == 0, r.summary()
        assert r.tests[MATH_TESTS] == "failed" and r.tests["test:api::add_and_clamp"] == "failed"
        assert not any(n.startswith("test:planted::") for n in r.tests)
        note = next(n for n in r.notes if "differed from the task's recorded start" in n)
        assert all(rel in note for rel in ("tests/api.rs", "src/math.rs", "tests/planted.rs"))

        _fix(ws)  # a real fix is still graded FULL on the repaired workspace
        r = grade(task, ws, sb_local, clippy=False)
        assert r.resolution == "FULL", r.summary()
        ws.close()
    finally:
        manager.close()


# -- item: restored test modules are named ----------------------------------------------------------
@requires_cargo
def test_ignore_attack_is_undone_and_noted(sb_workspaces, sb_minicrate_task, sb_local):
    ws = sb_workspaces.create(sb_minicrate_task)
    try:
        ws.write_text("src/math.rs", ws.read_text("src/math.rs").replace("#[test]", "#[test]\n    #[ignore]"))
        r = grade(sb_minicrate_task, ws, sb_local, clippy=False)
    finally:
        ws.close()
    assert r.valid and r.resolution == "NO" and r.tests[MATH_TESTS] == "failed"
    assert f"restored test module src/math.rs::tests {NOTE_TAIL}" in r.notes, r.notes


@requires_cargo
def test_deleted_test_module_is_restored_and_noted(sb_workspaces, sb_minicrate_task, sb_local):
    ws = sb_workspaces.create(sb_minicrate_task)
    try:
        ws.write_text("src/math.rs", restore_test_modules(ws.read_text("src/math.rs"), None))
        _fix(ws, "a.abs() + b.abs()")  # half a fix: the restored tests must still judge it
        r = grade(sb_minicrate_task, ws, sb_local, clippy=False)
    finally:
        ws.close()
    assert r.resolution == "PARTIAL" and r.tests["lib::math::tests::adds_negative_numbers"] == "failed"
    assert f"restored deleted test module src/math.rs::tests {NOTE_TAIL}" in r.notes, r.notes


def test_graded_changes_notes_every_test_module_change():
    start = {"src/a.rs": "pub fn f() {}\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() {}\n}\n",
             "src/b.rs": "pub fn g() {}\n#[cfg(test)]\nmod tests {}\n", "src/c.rs": "pub fn h() {}\n"}
    snap = {"src/a.rs": start["src/a.rs"].replace("fn t() {}", "fn t() { /* weakened */ }"),
            "src/b.rs": None,
            "src/c.rs": start["src/c.rs"] + "#[cfg(test)]\nmod mine {\n    #[test]\n    fn m() {}\n}\n"}
    ch = graded_changes(snap, start)
    assert ch.restored == [f"restored test module src/a.rs::tests {NOTE_TAIL}",
                           "src/b.rs was deleted with its test module(s) tests: their tests are missing",
                           f"dropped test module added by the agent src/c.rs::mine {NOTE_TAIL}"]
    assert ch.files["src/a.rs"] == start["src/a.rs"] and "mod mine" not in ch.files["src/c.rs"]
    untouched = graded_changes({"src/c.rs": "pub fn h() { }\n"}, start)
    assert untouched.restored == [] and untouched.tampering == []


# -- item: clippy_clean cannot be bought with an allow ----------------------------------------------
def _clippy_or_skip(sb_local, ws) -> None:
    from cargogym.sandbox.cargo import clippy_available

    if not clippy_available(sb_local, ws.path):
        pytest.skip("clippy is not installed")


def _clippy_clean(report) -> float:
    return RewardSpec.from_dict({"terms": {"clippy_clean": 1.0}}).compute(report)[0]


@requires_cargo
def test_allow_attributes_do_not_make_clippy_clean(sb_workspaces, sb_minicrate_task, sb_local):
    task = sb_minicrate_task
    ws = sb_workspaces.create(task)
    try:
        _clippy_or_skip(sb_local, ws)
        lib = ws.read_text("src/lib.rs")
        _fix(ws)
        clean = grade(task, ws, sb_local)
        assert clean.resolution == "FULL" and clean.clippy_warnings == 0 and clean.lints_suppressed == []
        assert _clippy_clean(clean) == 1.0  # the control: a clean fix is paid

        _fix_text = ws.read_text("src/math.rs").replace("    a + b\n", "    return a + b;\n")
        ws.write_text("src/math.rs", _fix_text)  # clippy::needless_return
        warned = grade(task, ws, sb_local)
        assert warned.resolution == "FULL" and warned.clippy_warnings >= 1 and _clippy_clean(warned) == 0.0

        ws.write_text("src/lib.rs", "#![allow(clippy::all)]\n" + lib)
        hidden = grade(task, ws, sb_local)
        assert hidden.valid and hidden.resolution == "FULL"
        assert hidden.clippy_warnings == warned.clippy_warnings  # forced on: the allow hides nothing
        assert hidden.lints_suppressed == ["src/lib.rs: clippy::all"]
        assert any("clippy_clean is not paid" in n for n in hidden.notes)
        assert _clippy_clean(hidden) == 0.0

        # rustc warnings cannot be force-warned as a group: the new allow(warnings) is what counts
        ws.write_text("src/math.rs", _fix_text.replace("    return a + b;\n", "    let unused = 1;\n    a + b\n"))
        ws.write_text("src/lib.rs", "#![allow(warnings)]\n" + lib)
        quiet = grade(task, ws, sb_local)
        assert quiet.resolution == "FULL" and quiet.clippy_warnings == 0
        assert quiet.lints_suppressed == ["src/lib.rs: warnings"] and _clippy_clean(quiet) == 0.0
    finally:
        ws.close()


@requires_cargo
def test_missing_clippy_is_noted_and_not_paid(sb_workspaces, sb_minicrate_task, sb_local, monkeypatch):
    from cargogym.sandbox import cargo

    monkeypatch.setattr(cargo, "clippy_available", lambda sandbox, ws_path: False)
    ws = sb_workspaces.create(sb_minicrate_task)
    try:
        _fix(ws)
        r = grade(sb_minicrate_task, ws, sb_local)
    finally:
        ws.close()
    assert r.resolution == "FULL" and not r.clippy_available and r.clippy_warnings is None
    assert "clippy is not installed (rustup component add clippy)" in r.notes
    assert _clippy_clean(r) == 0.0


# -- item: every report term is 0 for an invalid report ---------------------------------------------
REPORT_TERMS = ("resolved", "f2p_fraction", "p2p_kept", "p2p_kept_if_progress", "compile_ok", "clippy_clean",
                "review_correct", "valid")


def test_report_terms_pay_nothing_for_an_invalid_report():
    best = {"resolution": "FULL", "resolved": True, "compile_ok": True, "f2p_passed": 2, "f2p_total": 2,
            "p2p_passed": 3, "p2p_total": 3, "clippy_available": True, "clippy_warnings": 0,
            "review_verdict": "APPROVE", "review_correct": True, "valid": True, "problems": []}
    assert all(REWARD_TERMS[t](best, None) == 1.0 for t in REPORT_TERMS)
    invalid = dict(best, valid=False, problems=["src/a.rs introduces `unsafe` code (code policy)"])
    assert {t: REWARD_TERMS[t](invalid, None) for t in REPORT_TERMS} == dict.fromkeys(REPORT_TERMS, 0.0)
    assert {t: REWARD_TERMS[t](None, None) for t in REPORT_TERMS} == dict.fromkeys(REPORT_TERMS, 0.0)
    shaped = RewardSpec.load("shaped").compute(invalid)[1]
    assert all(v == 0.0 for t, v in shaped.items() if t in REPORT_TERMS) and shaped["compile_ok"] == 0.0


# -- item: forged libtest output is caught by the cross-checks, not only by the code policy ---------
@requires_cargo
def test_forged_stream_is_caught_by_the_libtest_cross_checks(sb_workspaces, sb_minicrate_task, sb_local):
    """Every test of the lib binary that calls ``add`` prints a complete, self-consistent passing
    stream (started + ok for each test, a summary) and exits 0."""
    from cargogym.sandbox.cargo import run_cargo_tests

    names = ["math::tests::adds_small_numbers", "math::tests::adds_negative_numbers", "math::tests::clamps_below",
             "math::tests::clamps_above", "text::tests::reverses_words", "text::tests::shouts"]
    fake = "".join(f'{{ \\"type\\": \\"test\\", \\"event\\": \\"started\\", \\"name\\": \\"{n}\\" }}\\n'
                   f'{{ \\"type\\": \\"test\\", \\"name\\": \\"{n}\\", \\"event\\": \\"ok\\" }}\\n' for n in names)
    fake += (f'{{ \\"type\\": \\"suite\\", \\"event\\": \\"ok\\", \\"passed\\": {len(names)}, \\"failed\\": 0, '
             '\\"ignored\\": 0, \\"measured\\": 0, \\"filtered_out\\": 0 }\\n')
    body = (f'{{ use std::io::Write; let _ = std::io::stdout().write_all(b"{fake}"); '
            "let _ = std::io::stdout().flush(); std::process::exit(0) }")
    ws = sb_workspaces.create(sb_minicrate_task)
    try:
        ws.write_text("src/math.rs", ws.read_text("src/math.rs").replace("    a - b\n", f"    {body}\n"))
        run = run_cargo_tests(sb_local, ws.path, timeout=120)  # no code policy here: libtest alone
        r = grade(sb_minicrate_task, ws, sb_local, clippy=False)
    finally:
        ws.close()
    assert not run.valid and any(p.startswith("lib: ") and "log file disagrees" in p for p in run.problems), run.problems
    assert not r.valid and r.resolution == "NO" and r.f2p_passed == 0
    assert any("(code policy)" in p for p in r.problems)
    libtest = [p for p in r.problems if "(code policy)" not in p]
    assert any(p.startswith("lib: ") and "log file disagrees" in p for p in libtest), libtest


# -- item: rescore CLI ---------------------------------------------------------------------------------
def _run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    base = {"instance_id": "x", "resolution": "PARTIAL", "resolved": False, "compile_ok": True, "f2p_passed": 1,
            "f2p_total": 4, "p2p_passed": 10, "p2p_total": 10, "valid": True, "problems": []}
    reports = [base, dict(base, resolution="FULL", resolved=True, f2p_passed=4), None]
    eps = [{"episode_id": str(i), "instance_id": "x", "reward": r, "grading": g, "steps": 2,
            "turns": [{"role": "agent"}, {"role": "agent", "error": "bad patch"}]}
           for i, (g, r) in enumerate(zip(reports, [0.25, 1.0, 0.0]))]
    (run / "trajectories.jsonl").write_text("".join(json.dumps(e) + "\n" for e in eps))
    return run


@pytest.fixture
def rescore_cli(capsys, monkeypatch):
    """``cargogym rescore ARGS`` through the real entry point: (exit code, stdout + stderr)."""
    from cargogym.cli import main

    monkeypatch.setenv("COLUMNS", "300")

    def run(args: list[str]) -> tuple[int, str]:
        with pytest.raises(SystemExit) as e:
            main(["rescore", *args])
        out = capsys.readouterr()
        return e.value.code, out.out + out.err

    return run


def test_rescore_cli_prints_old_and_new_means(tmp_path, rescore_cli):
    run = _run_dir(tmp_path)
    code, out = rescore_cli([str(run), "--reward", "resolved"])
    assert code == 0, out
    row = next(line for line in out.splitlines() if "reward" in line and "│" in line)
    assert [c.strip() for c in row.strip("│ ").split("│")] == ["reward", "0.4167", "0.3333"]  # (0.25+1)/3, 1/3

    spec = tmp_path / "f2p.yaml"
    spec.write_text("terms: {f2p_fraction: 1.0}\nstep: {error: -0.5}\n")
    written = tmp_path / "out.jsonl"
    code, out = rescore_cli([str(run), "--set", f"reward={spec}", "--set", f"output={written}"])
    assert code == 0, out
    rows = [json.loads(line) for line in written.read_text().splitlines()]
    assert [r["reward"] for r in rows] == pytest.approx([0.25 - 0.5, 1.0 - 0.5, -0.5])
    assert all(r["reward_spec"] == "f2p" for r in rows)
    row = next(line for line in out.splitlines() if "reward" in line and "│" in line)
    assert [c.strip() for c in row.strip("│ ").split("│")] == ["reward", "0.4167", "-0.0833"]
    assert f"rescored episodes written to {written}" in out


def test_rescore_config_file_and_bad_input(tmp_path, rescore_cli):
    run = _run_dir(tmp_path)
    cfg = tmp_path / "rescore.yaml"
    cfg.write_text("reward: resolved\n")
    code, out = rescore_cli([str(run), "--config", str(cfg), "--reward", "default"])
    assert code == 0 and "term f2p_fraction" in out, out  # a flag beats the config file (default spec)
    code, out = rescore_cli([str(run), "--config", str(cfg)])
    assert code == 0 and "term resolved" in out and "term f2p_fraction" not in out, out
    code, out = rescore_cli([str(run), "--set", "rewrd=resolved"])
    assert code == 2 and "rewrd" in out and "Traceback" not in out
    code, out = rescore_cli([str(run), "--set", "reward"])
    assert code == 2 and "key=value" in out
    code, out = rescore_cli([str(tmp_path / "missing")])
    assert code == 2 and "no such run folder" in out


def test_suppressed_lints_counts_only_what_the_agent_added():
    from cargogym.rewards.protect import lint_suppressions, suppressed_lints

    text = ('#![allow(clippy::all)]\n#[allow(warnings, dead_code, reason = "why")]\nfn f() {}\n'
            '#[expect(clippy :: needless_return,)]\nfn g() -> i32 { return 1; }\n#[derive(Debug)]\nstruct S;\n')
    assert lint_suppressions(text) == {"clippy::all": 1, "warnings": 1, "dead_code": 1, "clippy::needless_return": 1}
    start = "#[allow(dead_code)]\nfn old() {}\n"
    assert suppressed_lints(start + "#[allow(dead_code)]\nfn new() {}\n#![allow(unused)]\n", start) == \
        ["dead_code", "unused"]
    assert suppressed_lints(start.replace("old", "renamed"), start) == []
    assert suppressed_lints("// #[allow(warnings)]\nfn f() {}\n", None) == []
