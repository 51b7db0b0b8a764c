"""End to end: generate tasks of all five families from the mini crate with real cargo."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from cargogym.tasks.corpus import read_crate
from cargogym.tasks.families import fix_lines_shown, suggestion_lines
from cargogym.tasks.generate import PRE_BUILD_REASONS, TaskGenConfig, family_quotas, generate
from cargogym.tasks.minicrate import MINI_CRATE, write_mini_crate
from cargogym.tasks.record import FAMILIES, content_hash, read_tasks, write_tasks
from cargogym.tasks.validate import CrateValidator, classify_bug, classify_compile

pytestmark = [pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH"), pytest.mark.slow]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    crate = write_mini_crate(root / "minicalc")
    cfg = TaskGenConfig(crates=str(crate), per_crate=10, seed=3, cache_dir=str(root / "cache"),
                        test_timeout_min=3.0)
    events: list[str] = []
    # an independent count of the work done: every real evaluation of a changed crate (wrapped, not mocked)
    evaluations: list[str] = []
    real_evaluate = CrateValidator.evaluate

    def counted(self, changed, mode="test"):
        evaluations.append(mode)
        return real_evaluate(self, changed, mode)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(CrateValidator, "evaluate", counted)
        tasks, summary = generate(cfg, lambda kind, info: events.append(kind))
    summary.evaluations = list(evaluations)
    return root, crate, cfg, tasks, summary, events


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


def _tree(root: Path, files: dict[str, str]) -> Path:
    if root.exists():
        shutil.rmtree(root)
    write_mini_crate(root, files)
    _git(root, "init", "-q")
    return root


def test_quotas_split_per_crate():
    q = family_quotas(10, list(FAMILIES), TaskGenConfig().family_weights)
    assert sum(q.values()) == 10 and all(n >= 1 for n in q.values())
    assert family_quotas(3, ["single_bug"], {})["single_bug"] == 3


def test_all_families_with_valid_records(run):
    root, crate, cfg, tasks, summary, events = run
    fams = {t.family for t in tasks}
    assert fams == set(FAMILIES), fams
    assert len(tasks) == 10
    assert len({t.instance_id for t in tasks}) == len(tasks)
    diffs = [t.setup_patch or t.review["diff"] for t in tasks]
    assert len(set(diffs)) == len(diffs)  # identical patches deduplicated
    pristine = read_crate(crate)
    for t in tasks:
        assert t.repo == str(crate.resolve())
        names = t.FAIL_TO_PASS + t.PASS_TO_PASS
        assert all(n.startswith(("lib::", "test:api::")) for n in names)
        assert not set(t.FAIL_TO_PASS) & set(t.PASS_TO_PASS)
        if t.family == "review":
            assert t.review["label"] in ("buggy", "clean") and t.patch == "" and t.setup_patch == ""
            assert t.base_commit == content_hash(pristine)
            assert (t.FAIL_TO_PASS == []) == (t.review["label"] == "clean")
            assert t.review["diff"] in t.problem_statement
            continue
        assert t.FAIL_TO_PASS
        if t.family == "compile_error":
            assert t.PASS_TO_PASS == [] and "error" in t.problem_statement
        else:
            assert t.PASS_TO_PASS
            v = t.extra["validation"]
            assert v["tests"] == 25 and all(v["broken"][n] == "failed" for n in t.FAIL_TO_PASS)
            assert not set(v["broken"]) & set(t.PASS_TO_PASS) and v["fixed"] == {}  # unlisted = passed
        # the statement shows the symptom, never the fix
        assert fix_lines_shown(t.problem_statement, t.patch) == [], t.instance_id
        assert not suggestion_lines(t.problem_statement), t.instance_id
    multi = [t for t in tasks if t.family == "multi_bug"]
    for t in multi:
        assert 2 <= t.n_bugs <= 4 and len(t.sub_tasks) == t.n_bugs
        assert len({f for s in t.sub_tasks for f in s.files}) == t.n_bugs  # different files
        assert all(s.FAIL_TO_PASS and set(s.FAIL_TO_PASS) <= set(t.FAIL_TO_PASS) for s in t.sub_tasks)
        assert t.should_delegate
    assert events.count("task") == len(tasks) and "crate_ready" in events


def test_patches_apply_with_git_and_round_trip(run, tmp_path):
    root, crate, cfg, tasks, summary, events = run
    pristine = read_crate(crate)
    for t in tasks:
        if t.family == "review":
            ws = _tree(tmp_path / "ws", pristine)
            (tmp_path / "d.patch").write_text(t.review["diff"])
            assert _git(ws, "apply", "--check", str(tmp_path / "d.patch")).returncode == 0
            continue
        ws = _tree(tmp_path / "ws", pristine)
        (tmp_path / "setup.patch").write_text(t.setup_patch)
        r = _git(ws, "apply", str(tmp_path / "setup.patch"))
        assert r.returncode == 0, r.stderr
        assert content_hash(read_crate(ws)) == t.base_commit
        (tmp_path / "fix.patch").write_text(t.patch)
        r = _git(ws, "apply", str(tmp_path / "fix.patch"))
        assert r.returncode == 0, r.stderr
        assert read_crate(ws) == pristine
    out = tmp_path / "tasks.jsonl"
    assert write_tasks(out, tasks) == len(tasks)
    back = read_tasks(out)
    assert [b.to_dict() for b in back] == [t.to_dict() for t in tasks]


def test_records_agree_with_a_fresh_validation(run):
    root, crate, cfg, tasks, summary, events = run
    pristine = read_crate(crate)
    with CrateValidator("minicalc", pristine, workers=1, cache_root=Path(cfg.cache_dir)) as v:
        for fam in ("single_bug", "multi_bug", "implement", "compile_error"):
            t = next(t for t in tasks if t.family == fam)
            changed = {m["file"]: None for m in t.extra["mutations"]}
            from cargogym.tasks.mutate import Mutation

            broken = dict(pristine)
            for m in sorted((Mutation(**m) for m in t.extra["mutations"]), key=lambda m: -m.start):
                broken[m.file] = m.apply_text(broken[m.file])
            changed = {f: broken[f] for f in changed}
            if fam == "compile_error":
                assert classify_compile(v.baseline.tests, v.evaluate(changed, "check")).ok
            else:
                verdict = classify_bug(v.baseline.tests, v.evaluate(changed))
                assert verdict.ok and verdict.fail_to_pass == t.FAIL_TO_PASS


def test_summary_counts_every_candidate(run):
    """The summary's attempts match the evaluations that really ran (counted outside the generator),
    per build mode, and each family's kept changes match the tasks made from them."""
    root, crate, cfg, tasks, summary, events = run
    d = summary.to_dict()
    assert d["tasks_total"] == len(tasks) == sum(d["tasks"]["minicalc"].values())
    by_family = {r["family"]: r for r in d["by_family"]}
    assert set(by_family) == set(FAMILIES)

    def built(row: dict) -> int:  # attempts that cost a build
        return row["kept"] + sum(n for r, n in row["reasons"].items() if r not in PRE_BUILD_REASONS)

    evaluations = summary.evaluations
    assert evaluations and summary.builds == len(evaluations) == events.count("candidate")
    assert sum(built(r) for r in d["by_family"]) == len(evaluations)
    # compile_error attempts are exactly the `cargo check` builds (re-checked bug leftovers included)
    assert built(by_family["compile_error"]) == evaluations.count("check")
    assert d["rechecked_bug_candidates"] <= by_family["single_bug"]["reasons"].get("build_failed", 0)
    per_family = Counter(t.family for t in tasks)
    review_labels = Counter(t.review["label"] for t in tasks if t.review)
    for fam in ("implement", "compile_error", "multi_bug"):
        assert by_family[fam]["kept"] == per_family[fam], fam
    assert by_family["review"]["kept"] == review_labels["clean"]
    assert by_family["single_bug"]["kept"] >= per_family["single_bug"] + review_labels["buggy"]


def test_same_seed_same_tasks_and_cli(run, tmp_path):
    root, crate, cfg, tasks, summary, events = run
    from typer.testing import CliRunner

    from cargogym.cli import app

    out = tmp_path / "cli.jsonl"
    res = CliRunner().invoke(app, ["tasks", "generate", "--crates", str(crate), "--per-crate", "10", "--seed", "3",
                                   "--out", str(out), "--set", f"cache_dir={cfg.cache_dir}",
                                   "--set", "test_timeout_min=3.0"])
    assert res.exit_code == 0, res.output
    assert "Validation per operator" in res.output and "discard reasons" in res.output
    again = read_tasks(out)
    assert [(t.instance_id, t.patch, t.problem_statement) for t in again] == \
        [(t.instance_id, t.patch, t.problem_statement) for t in tasks]
    res = CliRunner().invoke(app, ["tasks", "stats", str(out)])
    assert res.exit_code == 0 and "minicalc" in res.output
    res = CliRunner().invoke(app, ["tasks", "show", str(out), tasks[0].instance_id, "--patch"])
    assert res.exit_code == 0 and tasks[0].instance_id in res.output


def test_bad_crate_aborts_without_writing(tmp_path, capsys):
    files = dict(MINI_CRATE)
    files["src/grid.rs"] = files["src/grid.rs"].replace("assert_eq!(g.row_sum(2), None);",
                                                        "assert_eq!(g.row_sum(2), Some(1));")
    crate = write_mini_crate(tmp_path / "badcalc", files)
    from cargogym.cli import main

    out = tmp_path / "never.jsonl"
    with pytest.raises(SystemExit) as e:
        main(["tasks", "generate", "--crates", str(crate), "--per-crate", "3", "--out", str(out),
              "--set", f"cache_dir={tmp_path / 'cache'}"])
    assert e.value.code == 2
    assert not out.exists() and not list(tmp_path.glob(".never.jsonl*"))
    err = capsys.readouterr().err
    assert "'badcalc' fails its own tests" in err and "lib::grid::tests::row_sums" in err
