"""Ray rollouts on real tasks with a real local Ray cluster (num_cpus=2, shared per session)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from cargogym.rollouts.config import default_tasks_path, select_tasks
from cargogym.rollouts.episode import make_env, play_scripted_episode
from cargogym.rollouts.runner import plan_episodes, run_rollouts
from cargogym.rollouts.storage import read_records
from cargogym.policies.registry import make_scripted_policy



@pytest.fixture(scope="module")
def tasks(envs_ledger_suite):
    """Real tasks of three families: the shipped built-in set when present, else hand-made ones."""
    if default_tasks_path().exists():
        picked = []
        for family in ("single_bug", "multi_bug", "review"):
            picked += select_tasks(None, limit=1, families=[family])
        return picked
    return [envs_ledger_suite[k] for k in ("single_bug", "multi_bug", "review_buggy")]


def _rewards(records):
    return {r["episode_key"]: round(float(r["reward"]), 6) for r in records}


def test_parallel_rewards_equal_sequential(ray_session, tasks, tmp_path):
    sequential = {}
    for spec in plan_episodes(tasks, 1, "oracle"):
        env = make_env("RustRepo-v0", spec["task"])
        try:
            rec = play_scripted_episode(env, make_scripted_policy("oracle", seed=spec["seed"]), spec)
        finally:
            env.close()
        sequential[spec["episode_key"]] = round(float(rec["reward"]), 6)
    res = run_rollouts(tasks, "oracle", tmp_path / "par", workers=2)
    assert res.written == len(tasks) and res.failed == 0
    parallel = _rewards(read_records(tmp_path / "par" / "trajectories.jsonl"))
    assert parallel == sequential
    assert all(v > 0 for v in parallel.values()), parallel  # the oracle solves every family


def test_killed_worker_loses_and_duplicates_nothing(ray_session, tasks, tmp_path):
    marker = tmp_path / "crashed"
    res = run_rollouts(tasks, "oracle", tmp_path / "run", workers=2, episodes_per_task=2,
                       fault={"marker": str(marker), "crash_after_steps": 1})
    assert marker.exists(), "the fault injection must have killed a worker"
    assert res.retries >= 1 and res.failed == 0
    keys = [r["episode_key"] for r in read_records(tmp_path / "run" / "trajectories.jsonl")]
    assert Counter(keys) == Counter(s["episode_key"] for s in plan_episodes(tasks, 2, "oracle"))


def test_resume_completes_exactly_the_missing_episodes(ray_session, tasks, tmp_path):
    out = tmp_path / "run"
    first = run_rollouts(tasks[:1], "noop", out, workers=1, episodes_per_task=2)
    assert first.written == 2
    # a driver killed mid-write leaves a torn line: resume must drop it and redo that episode only
    with (out / "trajectories.jsonl").open("a") as fh:
        fh.write('{"episode_key": "torn')
    with pytest.raises(Exception, match="--resume"):
        run_rollouts(tasks, "noop", out, workers=2, episodes_per_task=2)
    second = run_rollouts(tasks, "noop", out, workers=2, episodes_per_task=2, resume=True)
    assert second.skipped == 2 and second.written == 2 * len(tasks) - 2
    keys = [r["episode_key"] for r in read_records(out / "trajectories.jsonl")]
    assert sorted(keys) == sorted(s["episode_key"] for s in plan_episodes(tasks, 2, "noop"))
    assert all(r["reward"] <= 0.0 + 1e-9 or not r["grading"]["resolved"] for r in read_records(out / "trajectories.jsonl"))


def _assert_model_turns(rec, num_layers, num_experts, top_k):
    """Every model turn keeps its ids with one logprob each and either acted (a dispatched tool or
    a final message) or was answered with an error observation naming the problem; the router
    record holds, per role and layer, top-k expert counts for every routed completion token."""
    model_turns = [t for t in rec["turns"] if t.get("token_ids")]
    assert model_turns, "model turns keep their token ids"
    routed: Counter = Counter()
    for t in model_turns:
        assert len(t["logprobs"]) == len(t["token_ids"]) and all(lp <= 0.0 for lp in t["logprobs"])
        if t["error"] is None:
            assert t["tool"] is not None or t.get("final") is not None, t
        else:
            assert t["observation"].startswith("error: "), t["observation"][:200]
            assert t["observation"].removeprefix("error: ")[:40] in t["error"], (t["observation"][:200], t["error"])
        routed[t["role"]] += len(t["token_ids"]) - 1  # the last sampled token is never fed back
    assert rec["router"], "expert routing recorded per role"
    assert set(rec["router"]) == set(routed)
    for role, layers in rec["router"].items():
        assert len(layers) == num_layers
        for layer in layers:
            assert len(layer) == num_experts and all(c >= 0 for c in layer)
            assert sum(layer) == top_k * routed[role], (role, layer, routed)


def test_tiny_gpt_oss_rollout_records_tokens_or_parse_errors(ray_session, tasks, tmp_path):
    from cargogym.policies.base import Sampling
    from cargogym.policies.hf import HFPolicy

    policy = HFPolicy.from_config(seed=0)
    res = run_rollouts(tasks[:1], policy, tmp_path / "tiny", workers=1, episodes_per_task=2, max_steps=3,
                       env_kwargs={"max_steps": 3}, sampling=Sampling(max_new_tokens=24, seed=1))
    assert res.written == 2 and res.failed == 0 and res.errors == 0
    cfg = policy.model.config
    for rec in read_records(tmp_path / "tiny" / "trajectories.jsonl"):
        _assert_model_turns(rec, cfg.num_hidden_layers, cfg.num_local_experts, cfg.num_experts_per_tok)


def test_policy_actor_gives_the_driver_results(ray_session, tasks, tmp_path):
    """policy_placement="actor": a Ray PolicyActor builds tiny-gpt-oss and serves generate; with
    seeded sampling every episode is token-for-token the one the driver placement plays."""
    from cargogym.policies.base import Sampling

    kw = dict(workers=1, episodes_per_task=2, max_steps=3, env_kwargs={"max_steps": 3},
              sampling=Sampling(max_new_tokens=16, seed=2))
    runs = {}
    for placement in ("driver", "actor"):
        res = run_rollouts(tasks[:1], "tiny-gpt-oss", tmp_path / placement, policy_placement=placement, **kw)
        assert res.written == 2 and res.failed == 0 and res.errors == 0
        runs[placement] = {r["episode_key"]: r for r in read_records(tmp_path / placement / "trajectories.jsonl")}
    assert runs["driver"].keys() == runs["actor"].keys()
    for key, rec in runs["driver"].items():
        other = runs["actor"][key]
        assert [t["token_ids"] for t in rec["turns"]] == [t["token_ids"] for t in other["turns"]]
        assert rec["router"] == other["router"] and rec["policy"] == other["policy"] == "tiny-gpt-oss"
        for a, b in zip(rec["turns"], other["turns"]):
            assert a["logprobs"] == pytest.approx(b["logprobs"], abs=1e-5)


def test_bad_policy_placement_is_a_clear_error(ray_session, tasks, tmp_path):
    from cargogym.errors import CargogymError

    with pytest.raises(CargogymError, match="policy_placement"):
        run_rollouts(tasks[:1], "tiny-gpt-oss", tmp_path / "x", policy_placement="gpu")
    with pytest.raises(CargogymError, match="name"):
        run_rollouts(tasks[:1], object(), tmp_path / "y", policy_placement="actor")
    with pytest.raises(CargogymError, match=r"could not build policy 'hf:.*nope'.*not a directory"):
        run_rollouts(tasks[:1], f"hf:{tmp_path / 'nope'}", tmp_path / "z", workers=1, policy_placement="actor")


def _failures(out):
    return [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]


def _attempts(log):
    return Counter(line.split()[0] for line in log.read_text().splitlines())


def test_infra_failure_beyond_the_retry_bound_is_recorded(ray_session, tasks, tmp_path):
    """A worker that dies in every life: the episode is re-run max_attempts times, then recorded."""
    out, log = tmp_path / "run", tmp_path / "attempts.log"
    fault = {"marker": str(tmp_path / "crashed"), "crash_after_steps": 1, "repeat": True, "attempts_log": str(log)}
    res = run_rollouts(tasks[:1], "noop", out, workers=1, max_attempts=2, fault=fault)
    assert (res.written, res.failed, res.errors, res.retries) == (0, 1, 0, 1)
    (fail,) = _failures(out)
    key = plan_episodes(tasks[:1], 1, "noop")[0]["episode_key"]
    assert fail["episode_key"] == key and fail["kind"] == "infra" and fail["attempts"] == 2
    assert "Actor" in fail["error"] or "Worker" in fail["error"], fail["error"]
    assert _attempts(log) == {key: 2}
    assert read_records(out / "trajectories.jsonl") == []


def test_episode_error_is_recorded_once_not_retried(ray_session, tasks, tmp_path):
    """An exception of the episode's own making (here an env option the env refuses) would fail
    the same way again: recorded at once per episode, never retried, and the run goes on."""
    out, log = tmp_path / "run", tmp_path / "attempts.log"
    res = run_rollouts(tasks[:1], "noop", out, workers=1, episodes_per_task=2, max_attempts=3,
                       env_kwargs={"render_mode": "video"}, fault={"attempts_log": str(log)})
    assert (res.written, res.failed, res.errors, res.retries) == (0, 0, 2, 0)
    keys = [s["episode_key"] for s in plan_episodes(tasks[:1], 2, "noop")]
    fails = _failures(out)
    assert sorted(f["episode_key"] for f in fails) == sorted(keys)
    for f in fails:
        assert f["kind"] == "episode_error" and f["attempts"] == 1
        assert f["error"].startswith("EnvUsageError: render_mode 'video' not supported"), f["error"]
    assert _attempts(log) == {k: 1 for k in keys}


def test_policy_server_failure_is_retried_then_recorded(ray_session, tasks, tmp_path):
    """generate raising PolicyServerError (after the policy's own retries) does not abort the run:
    the generation is repeated up to max_attempts, then each affected episode is recorded."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cargogym.policies.openai_compat import OpenAICompatiblePolicy

    hits = []

    class Down(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            hits.append(1)
            self.send_response(500)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Down)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        policy = OpenAICompatiblePolicy(f"http://127.0.0.1:{httpd.server_address[1]}/v1", max_retries=0)
        out = tmp_path / "run"
        res = run_rollouts(tasks[:1], policy, out, workers=1, episodes_per_task=2, max_attempts=2)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert (res.written, res.failed, res.errors, res.retries) == (0, 2, 0, 2)
    fails = _failures(out)
    assert sorted(f["episode_key"] for f in fails) == sorted(s["episode_key"] for s in plan_episodes(tasks[:1], 2, "x"))
    for f in fails:
        assert f["kind"] == "infra" and f["attempts"] == 2 and f["error"].startswith("PolicyServerError"), f
    assert len(hits) >= 2 * 2  # each episode's conversation was sent at least max_attempts times


def _cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "cargogym.cli", "rollout", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def _tasks_file(tmp_path, tasks):
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(t.to_dict()) + "\n" for t in tasks))
    return path


def test_cli_rollout_writes_run_dir(ray_session, tmp_path, tasks):
    """The CLI joins the session's cluster with --address (no second cluster is started)."""
    address = ray_session.get_runtime_context().gcs_address
    out = tmp_path / "cli"
    res = _cli("--policy", "oracle", "--tasks", _tasks_file(tmp_path, tasks[:1]), "--workers", 1, "--out", out,
               "--address", address)
    assert res.returncode == 0, res.stderr[-3000:]
    assert len(read_records(out / "trajectories.jsonl")) == 1
    meta = json.loads((out / "run.json").read_text())
    assert meta["policy"] == "oracle" and meta["ray_address"] == address


def test_cli_resume_runs_exactly_the_missing_episodes(ray_session, tmp_path, tasks):
    address = ray_session.get_runtime_context().gcs_address
    out, tasks_file = tmp_path / "cli", _tasks_file(tmp_path, tasks[:2])
    args = ("--policy", "noop", "--tasks", tasks_file, "-k", 2, "--workers", 1, "--out", out, "--address", address)
    first = _cli(*args)
    assert first.returncode == 0, first.stderr[-3000:]
    path = out / "trajectories.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    assert len(lines) == 4
    # lose the last episode and leave the one before it torn, as a driver killed mid-write would
    kept, lost = lines[:2], [json.loads(line)["episode_key"] for line in lines[2:]]
    path.write_text("".join(kept) + lines[2][: len(lines[2]) // 2])
    again = _cli(*args)
    assert again.returncode != 0 and "--resume" in again.stderr + again.stdout
    resumed = _cli(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "4/4" in resumed.stderr, resumed.stderr[-2000:]  # the bar counts the stored episodes
    after = path.read_text().splitlines(keepends=True)
    assert after[:2] == kept, "stored episodes are never re-run or rewritten"
    assert sorted(json.loads(line)["episode_key"] for line in after[2:]) == sorted(lost)
    keys = [r["episode_key"] for r in read_records(path)]
    assert Counter(keys) == Counter(s["episode_key"] for s in plan_episodes(tasks[:2], 2, "noop"))
