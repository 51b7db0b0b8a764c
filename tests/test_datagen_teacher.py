"""The scripted teacher in the real envs (real cargo), and what its data feeds: samples, pairs,
decomposition, the mix, TRL's SFTTrainer and the CLI."""

from __future__ import annotations

import json

import pytest

from cargogym.datagen.decompose import decompose_records
from cargogym.datagen.pairs import build_pairs, validate_pair
from cargogym.datagen.records import episode_samples
from cargogym.datagen.samples import validate_sample
from cargogym.datagen.teacher import TeacherError, TeacherPolicy, bug_groups, run_teacher_episode, parse_test_counts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def multi_bug_records(envs_ledger_suite):
    task = envs_ledger_suite["multi_bug"]
    return {v: run_teacher_episode(task, v, seed=3) for v in ("multi_role", "solo", "delegate", "solo_partial")}


def _observations(rec):
    return {t["observation"] for t in rec["turns"]}


def test_multi_role_teacher_resolves_with_grounded_results(multi_bug_records, envs_ledger_suite):
    rec = multi_bug_records["multi_role"]
    assert rec["status"] == "ok" and rec["grading"]["resolution"] == "FULL"
    assert rec["delegations"] == 2 and rec["role_violations"] == 0 and rec["review_verdict"] == "APPROVE"
    assert not any(t["error"] for t in rec["turns"])
    samples = episode_samples(rec, source="teacher")
    assert [(s["role"], s["depth"]) for s in samples] == [
        ("planner", 0), ("coder", 0), ("coder", 1), ("coder", 1), ("reviewer", 0), ("tester", 0)]
    assert [s["kind"] for s in samples] == ["multi_role", "delegation", "delegation", "delegation",
                                            "multi_role", "multi_role"]
    for s in samples:
        validate_sample(s)
        assert s["rebuilt"] is False and s["text"].endswith("<|return|>")
        # every tool result the sample trains on is text the env really produced this episode
        for m in s["messages"]:
            if m["role"] == "tool" and m["name"] != "functions.delegate_subtask":
                assert m["content"] in _observations(rec)
    plan = json.loads(samples[0]["messages"][-1]["content"])
    assert [st["files"] for st in plan["subtasks"]] == [g["files"] for g in bug_groups(envs_ledger_suite["multi_bug"])]
    tester = samples[-1]["messages"]
    passed, failed = parse_test_counts([m for m in tester if m["role"] == "tool"][-1]["content"])
    assert failed == 0 and f"cargo test: {passed} passed, 0 failed." in tester[-1]["content"]  # report = observation


def test_pairs_and_decomposition_from_real_episodes(multi_bug_records):
    recs = list(multi_bug_records.values())
    assert multi_bug_records["solo_partial"]["grading"]["resolution"] == "PARTIAL"
    assert multi_bug_records["delegate"]["grading"]["resolved"] and multi_bug_records["solo"]["grading"]["resolved"]
    rows, stats = build_pairs(recs)
    assert len(rows) == 1
    r = rows[0]
    assert r["chosen_episode"] == multi_bug_records["delegate"]["episode_id"]
    assert r["rejected_episode"] == multi_bug_records["solo_partial"]["episode_id"]
    assert r["chosen_resolution"] == "FULL" and r["rejected_resolution"] == "PARTIAL"
    validate_pair(r)
    decomposed = decompose_records(recs)
    assert [s["role"] for s in decomposed] == ["planner", "coder", "reviewer", "tester"]
    for s in decomposed:
        validate_sample(s)


def test_review_tasks_and_bad_variants(envs_ledger_suite):
    for name, verdict in (("review_buggy", "REQUEST_CHANGES"), ("review_clean", "APPROVE")):
        rec = run_teacher_episode(envs_ledger_suite[name], "multi_role", seed=0)
        assert rec["review_verdict"] == verdict and rec["grading"]["resolved"]
        for s in episode_samples(rec):
            validate_sample(s)
    with pytest.raises(TeacherError, match="unknown teacher variant"):
        TeacherPolicy("heroic")
    with pytest.raises(TeacherError, match="solo_partial needs a multi_bug"):
        run_teacher_episode(envs_ledger_suite["single_bug"], "solo_partial")


def test_cli_teacher_decompose_pairs_mix(envs_ledger_suite, tmp_path):
    from typer.testing import CliRunner

    from cargogym.datagen.cli import app
    from cargogym.tasks.record import write_tasks

    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks, [envs_ledger_suite["review_buggy"], envs_ledger_suite["review_clean"]])  # no builds: fast
    run = CliRunner()
    out = tmp_path / "run"
    res = run.invoke(app, ["teacher", "--tasks", str(tasks), "--variants", "multi_role,solo", "--workers", "1",
                           "--out", str(out), "--validate"])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["episodes"] == 4 and summary["multi_role_trajectories"] == 2
    assert summary["samples_by_kind"] == {"multi_role": 2, "single_agent": 2}
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert {s["instance_id"] for s in samples} == {"ledger__hm_review_buggy", "ledger__hm_review_clean"}
    res = run.invoke(app, ["decompose", str(out / "episodes.jsonl"), "--out", str(tmp_path / "d.jsonl")])
    assert res.exit_code == 0 and (tmp_path / "d.jsonl").read_text() == ""  # reviews have no patch to split
    res = run.invoke(app, ["mix", str(out / "samples.jsonl"), "--out",
                           str(tmp_path / "mix.jsonl"), "-o", "ratios={single_agent: 0.5, multi_role: 0.5}"])
    assert res.exit_code == 0, res.output
    mixed = [json.loads(x) for x in (tmp_path / "mix.jsonl").read_text().splitlines()]
    assert {m["kind"] for m in mixed} == {"single_agent", "multi_role"} and len(mixed) == 4
    res = run.invoke(app, ["pairs", str(out / "episodes.jsonl"), "--out", str(tmp_path / "p.jsonl")])
    assert res.exit_code == 0 and "pairs" in res.output


def test_cli_pairs_and_decompose_on_real_multi_bug_episodes(multi_bug_records, tmp_path):
    from typer.testing import CliRunner

    from cargogym.datagen.cli import app

    episodes = tmp_path / "episodes.jsonl"
    episodes.write_text("".join(json.dumps(r) + "\n" for r in multi_bug_records.values()))
    run = CliRunner()
    res = run.invoke(app, ["pairs", str(episodes), "--out", str(tmp_path / "pairs.jsonl")])
    assert res.exit_code == 0, res.output
    pairs = [json.loads(x) for x in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    assert len(pairs) == 1 and set(pairs[0]) >= {"prompt", "chosen", "rejected"}
    assert pairs[0]["chosen_episode"] == multi_bug_records["delegate"]["episode_id"]
    validate_pair(pairs[0])
    res = run.invoke(app, ["decompose", str(episodes), "--out", str(tmp_path / "roles.jsonl")])
    assert res.exit_code == 0, res.output
    roles = [json.loads(x) for x in (tmp_path / "roles.jsonl").read_text().splitlines()]
    assert [s["role"] for s in roles] == ["planner", "coder", "reviewer", "tester"]
