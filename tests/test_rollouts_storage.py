"""Durable trajectory storage: fsynced appends, duplicate refusal, torn-line repair, resume plan."""

from __future__ import annotations

import json

from cargogym.rollouts.runner import episode_seed, plan_episodes
from cargogym.rollouts.storage import TrajectoryWriter, episode_key, read_records
from cargogym.tasks.record import Task


def _task(i):
    return Task(instance_id=f"t{i}", repo="builtin:x", base_commit="", patch="", test_patch="",
                problem_statement="", FAIL_TO_PASS=["lib::a"], PASS_TO_PASS=[])


def test_writer_refuses_duplicates_and_survives_reopen(tmp_path):
    path = tmp_path / "trajectories.jsonl"
    with TrajectoryWriter(path) as w:
        assert w.write({"episode_key": "a#0", "reward": 1.0})
        assert not w.write({"episode_key": "a#0", "reward": 0.0})
    with TrajectoryWriter(path) as w:
        assert w.done == {"a#0"}
        assert not w.write({"episode_key": "a#0"})
        assert w.write({"episode_key": "a#1"})
    assert [r["episode_key"] for r in read_records(path)] == ["a#0", "a#1"]


def test_torn_last_line_is_dropped_and_overwritten(tmp_path):
    path = tmp_path / "trajectories.jsonl"
    path.write_text(json.dumps({"episode_key": "a#0"}) + "\n" + '{"episode_key": "a#1", "rew')
    assert [r["episode_key"] for r in read_records(path)] == ["a#0"]
    with TrajectoryWriter(path) as w:
        assert w.done == {"a#0"}
        w.write({"episode_key": "a#1"})
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line) for line in lines)


def test_plan_skips_done_keys_and_seeds_are_stable():
    tasks = [_task(0), _task(1)]
    specs = plan_episodes(tasks, 3, "oracle", base_seed=7, done={episode_key("t0", 1)})
    keys = [s["episode_key"] for s in specs]
    assert keys == ["t0#0", "t0#2", "t1#0", "t1#1", "t1#2"]
    assert specs[0]["seed"] == episode_seed(7, "t0", 0) == plan_episodes(tasks, 1, "oracle", 7)[0]["seed"]
    assert len({s["seed"] for s in specs}) == len(specs)


def test_lone_surrogates_never_crash_the_writer(tmp_path):
    path = tmp_path / "trajectories.jsonl"
    with TrajectoryWriter(path) as w:
        assert w.write({"episode_key": "s#0", "text": "bad \ud800 text"})
    (rec,) = read_records(path)
    assert rec["episode_key"] == "s#0" and rec["text"].startswith("bad ")
