"""Metrics, bootstrap and routing on hand-made episode records (docs/CONTRACTS.md shape)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from cargogym.eval import routing
from cargogym.eval.bootstrap import bootstrap_ci, difference_ci, mean_sample, ratio_sample, replicates, rng_for
from cargogym.eval.metrics import METRICS, evaluate, group_resolved, matched_cost_ratio
from cargogym.eval.records import crate_of, family_of


def ep(**kw) -> dict:
    """A complete episode record (single_bug, compiled, FULL); keyword args override top-level
    fields; ``task_``/``grading_`` prefixed ones override inside those dicts."""
    rec = {
        "episode_id": "e", "instance_id": "t1", "env": "MultiRoleRust-v0", "policy": "p", "seed": 0,
        "task": {"family": "single_bug", "crate": "graphs", "files": ["src/a.rs"], "n_bugs": 1,
                 "should_delegate": False, "review_label": None,
                 "FAIL_TO_PASS": ["lib::a::f"], "PASS_TO_PASS": ["lib::a::p", "lib::a::q"]},
        "status": "ok", "error": None, "reward": 1.0, "reward_terms": {}, "rewards_by_role": {},
        "grading": {"instance_id": "t1", "resolution": "FULL", "resolved": True, "compile_ok": True,
                    "f2p_passed": 1, "f2p_total": 1, "p2p_passed": 2, "p2p_total": 2, "tests": {},
                    "clippy_available": True, "clippy_warnings": 0, "valid": True, "problems": [],
                    "review_verdict": None, "review_correct": None, "timings": {}},
        "terminated": True, "truncated": False, "steps": 4, "wall_time": 2.0,
        "delegations": 0, "conflicts": 0, "role_violations": 0, "plan": None, "review_verdict": None,
        "frames": [{"frame_id": 0, "parent_id": None, "depth": 0, "role": "coder", "instructions": "",
                    "owned_files": None, "result": None, "steps": 4, "conflicts": 0, "edited_files": ["src/a.rs"],
                    "parent_turn_id": None}],
        "turns": [{"turn_id": i, "frame_id": 0, "role": "coder", "violation": False} for i in range(4)],
        "router": None,
    }
    for k, v in kw.items():
        if k.startswith("task_"):
            rec["task"][k[5:]] = v
        elif k.startswith("grading_"):
            rec["grading"][k[8:]] = v
        else:
            rec[k] = v
    return rec


def value(episodes, name, **kw):
    r = evaluate(episodes, [name], resamples=200, **kw)[name]
    return r.value, r.n


# -- code metrics ----------------------------------------------------------------------------

def test_check_and_test_rates_count_agent_errors_as_failures_and_skip_infra_and_review():
    eps = [
        ep(),
        ep(grading_resolution="PARTIAL", grading_resolved=False),
        ep(grading_compile_ok=False, grading_resolution="NO", grading_resolved=False),
        ep(status="agent_error", grading=None),
        ep(status="infra_error", grading=None),
        ep(task_family="review", grading_compile_ok=False),
        ep(grading=None),  # ok but ungraded: not counted
    ]
    assert value(eps, "cargo_check_pass_rate") == (0.5, 4)
    assert value(eps, "cargo_test_pass_rate") == (0.25, 4)
    # infra errors count when asked to
    assert value(eps, "cargo_check_pass_rate", exclude_infra_errors=False) == (0.5, 4)


def test_resolution_falls_back_to_resolved_flag():
    e = ep()
    del e["grading"]["resolution"]
    e2 = ep(grading_resolved=False)
    del e2["grading"]["resolution"]
    assert value([e, e2], "cargo_test_pass_rate") == (0.5, 2)


def test_clippy_clean_rate():
    eps = [
        ep(),
        ep(grading_clippy_warnings=3),
        ep(grading_compile_ok=False, grading_clippy_warnings=0),
        ep(grading_clippy_available=False, grading_clippy_warnings=None),  # not counted
        ep(status="agent_error", grading=None),
    ]
    assert value(eps, "clippy_clean_rate") == (0.25, 4)
    unavailable = [ep(grading_clippy_available=False, grading_clippy_warnings=None)] * 3
    r = evaluate(unavailable, ["clippy_clean_rate"])["clippy_clean_rate"]
    assert not r.measured and r.value is None and r.n == 0 and "clippy" in r.note


def test_records_missing_everything_are_not_measured_and_never_crash():
    weird = [
        {"instance_id": "x"},
        {"task": "oops", "grading": [1, 2], "turns": 5, "frames": [1, "a", None], "router": "x",
         "plan": ["no"], "delegations": "two", "steps": None, "reward": float("nan")},
        {"task": {"family": "multi_bug", "files": "src/a.rs"}, "grading": {"compile_ok": "yes"},
         "frames": [{"parent_id": 0, "conflicts": "many"}], "router": {"coder": [[1, 2], [3]]}},
    ]
    results = evaluate(weird, resamples=50)
    assert set(results) == set(METRICS)
    for name, r in results.items():
        assert not r.measured, name
        assert r.value is None and r.n == 0 and r.ci is None


def test_resolved_rate_and_groups_include_review_verdicts():
    eps = [
        ep(),
        ep(task_crate="textkit", grading_resolution="NO"),
        ep(task_family="review", task_review_label="buggy", review_verdict="REQUEST_CHANGES",
           grading_review_correct=None),
        ep(task_family="review", task_review_label="clean", review_verdict="REQUEST_CHANGES",
           grading_review_correct=None),
        ep(task_family="review", task_review_label="clean", grading_review_correct=True),
    ]
    assert value(eps, "resolved_rate") == (0.6, 5)
    rows = {r["group"]: r for r in group_resolved(eps, family_of, resamples=100)}
    assert rows["review"]["resolved_rate"] == pytest.approx(2 / 3) and rows["review"]["n"] == 3
    assert rows["single_bug"]["resolved_rate"] == 0.5
    by_crate = {r["group"]: r for r in group_resolved(eps, crate_of, resamples=100)}
    assert by_crate["textkit"]["resolved_rate"] == 0.0 and by_crate["graphs"]["n"] == 4


def test_mean_reward_ignores_non_numbers():
    eps = [ep(reward=1.0), ep(reward=0.0), ep(reward=None), ep(reward="high"), ep(reward=True)]
    assert value(eps, "mean_reward") == (0.5, 2)


# -- multi-agent metrics ---------------------------------------------------------------------

def _multi(files=("src/a.rs", "src/b.rs"), **kw):
    return ep(task_family="multi_bug", task_files=list(files), task_n_bugs=len(files),
              task_should_delegate=len(files) >= 2, **kw)


def test_delegation_accuracy_uses_labelled_tasks_only():
    eps = [
        ep(delegations=0),                      # single_bug, solo: right
        ep(delegations=1),                      # single_bug, delegated: wrong
        _multi(delegations=2),                  # should delegate, did: right
        _multi(delegations=0),                  # should delegate, did not: wrong
        _multi(delegations=3),                  # right
        _multi(files=("src/a.rs",), delegations=1),   # 1-file multi_bug: not labelled
        ep(task_family="implement", delegations=1),  # not labelled
        ep(task_family="review", delegations=0),     # not labelled
        ep(delegations=None, frames=None),           # no decision recorded
    ]
    r = evaluate(eps, ["delegation_accuracy"], resamples=100)["delegation_accuracy"]
    assert (r.value, r.n) == (0.6, 5)
    assert r.detail["should_delegate"] == {"n": 3, "accuracy": pytest.approx(2 / 3)}
    assert r.detail["should_not_delegate"] == {"n": 2, "accuracy": 0.5}


def test_delegation_decision_falls_back_to_child_frames_and_label_to_family():
    e = _multi(delegations=None)
    del e["task"]["should_delegate"]
    e["frames"].append({"frame_id": 1, "parent_id": 0, "depth": 1, "role": "coder"})
    assert value([e], "delegation_accuracy") == (1.0, 1)


def _plan(*file_lists):
    return {"subtasks": [{"description": "d", "files": list(f), "role": "coder"} for f in file_lists],
            "order": list(range(len(file_lists)))}


def test_plan_completeness_and_precision():
    eps = [
        _multi(plan=_plan(["src/a.rs"])),                                 # covers 1 of 2 sub-bugs
        _multi(plan=_plan(["./src/a.rs"], ["src/b.rs"], ["src/c.rs"])),  # covers both; 1 of 3 unneeded
        _multi(plan=None, turns=[{"turn_id": 0, "frame_id": 0, "role": "planner", "violation": False}]),  # no plan: 0
        _multi(plan=None),                                                # no planner in play: not counted
        ep(task_family="review", plan=_plan(["src/a.rs"])),               # review: not counted
    ]
    r = evaluate(eps, ["plan_completeness", "plan_precision"], resamples=100)
    assert r["plan_completeness"].value == pytest.approx(0.5) and r["plan_completeness"].n == 3
    assert r["plan_completeness"].detail["episodes_without_plan"] == 1
    assert r["plan_precision"].value == pytest.approx(3 / 4) and r["plan_precision"].n == 4


def test_plan_covers_a_sub_bug_only_when_all_its_files_are_planned():
    e = _multi(files=("src/a.rs", "src/b.rs", "src/c.rs"), plan=_plan(["src/a.rs"], ["src/c.rs"]))
    e["task"]["sub_tasks"] = [{"bug_id": 0, "files": ["src/a.rs", "src/b.rs"], "FAIL_TO_PASS": []},
                              {"bug_id": 1, "files": ["src/c.rs"], "FAIL_TO_PASS": []}]
    r = evaluate([e], ["plan_completeness"], resamples=10)["plan_completeness"]
    assert r.value == 0.5
    assert r.detail["file_coverage"] == pytest.approx(2 / 3)


def test_role_adherence_pools_turns_and_falls_back_to_counts():
    t = lambda v: {"turn_id": 0, "frame_id": 0, "role": "coder", "violation": v}  # noqa: E731
    eps = [
        ep(turns=[t(False), t(True), t(False), t(False)]),
        ep(turns=[t(False), t(False), {"turn_id": 2}]),      # a turn without the flag is not counted
        ep(turns=[], steps=4, role_violations=2),            # fallback: 2 clean of 4
        ep(turns=None, steps=None, role_violations=1),       # nothing to count
    ]
    r = evaluate(eps, ["role_adherence_rate"], resamples=100)["role_adherence_rate"]
    assert (r.value, r.n) == (pytest.approx(7 / 10), 10)
    assert r.detail == {"episodes": 3, "violations": 3}


def test_review_catch_and_false_alarm_rates():
    rv = lambda label, verdict, **kw: ep(task_family="review", task_review_label=label, review_verdict=verdict, **kw)  # noqa: E731
    eps = [
        rv("buggy", "REQUEST_CHANGES"),
        rv("buggy", "request_changes: off by one in src/a.rs"),
        rv("buggy", "APPROVE"),
        rv("buggy", None),                                               # no verdict: not caught
        rv("buggy", None, grading_review_verdict="REQUEST_CHANGES"),     # verdict from grading
        rv("clean", "APPROVE"),
        rv("clean", "REQUEST_CHANGES"),
        rv("clean", None),
        rv(None, "REQUEST_CHANGES"),                                     # unlabelled: not counted
    ]
    r = evaluate(eps, ["review_bug_catch_rate", "review_false_alarm_rate"], resamples=100)
    assert (r["review_bug_catch_rate"].value, r["review_bug_catch_rate"].n) == (0.6, 5)
    assert r["review_bug_catch_rate"].detail["no_verdict"] == 1
    assert (r["review_false_alarm_rate"].value, r["review_false_alarm_rate"].n) == (pytest.approx(1 / 3), 3)
    assert r["review_false_alarm_rate"].higher_is_better is False


def test_multi_file_consistency():
    eps = [
        _multi(),                                                     # compiles, P2P kept
        _multi(grading_p2p_passed=1),                                 # broke a P2P test
        _multi(grading_compile_ok=False),                             # does not compile
        _multi(status="agent_error", grading=None),                   # failure
        ep(),                                                         # one file: not counted
        _multi(grading_p2p_passed=None, grading_p2p_total=None,
               grading_tests={"lib::a::p": "passed", "lib::a::q": "passed"}),  # per-test fallback
        _multi(grading_p2p_passed=None, grading_p2p_total=None,
               grading_tests={"lib::a::p": "passed"}),                 # q missing = not kept
        ep(task_family="implement", task_files=["src/a.rs", "src/b.rs"]),  # any family with ≥2 files
    ]
    assert value(eps, "multi_file_consistency") == (pytest.approx(3 / 7), 7)


def test_no_conflict_rate_counts_child_frames_only():
    root = {"frame_id": 0, "parent_id": None, "depth": 0, "role": "coder", "conflicts": 5}
    child = lambda fid, conflicts, owned, edited: {"frame_id": fid, "parent_id": 0, "depth": 1, "role": "coder",  # noqa: E731
                                                   "conflicts": conflicts, "owned_files": owned, "edited_files": edited}
    eps = [
        ep(delegations=3, frames=[root, child(1, 0, ["src/a.rs"], ["src/a.rs"]),
                                  child(2, 2, ["src/b.rs"], ["src/b.rs"]),
                                  child(3, 0, ["src/c.rs"], ["src/c.rs", "src/d.rs"])]),
        ep(delegations=1, frames=[root, child(1, 0, None, ["src/x.rs"])]),        # no ownership limit: ok
        ep(delegations=1, frames=[root, {"frame_id": 1, "parent_id": 0}]),       # nothing recorded
        ep(),                                                                    # no child frames
    ]
    r = evaluate(eps, ["no_conflict_rate"], resamples=100)["no_conflict_rate"]
    assert (r.value, r.n) == (0.5, 4)


def test_coordination_efficiency_on_matched_instances():
    eps = [
        ep(instance_id="a", delegations=2, steps=10, wall_time=4.0),
        ep(instance_id="a", delegations=0, steps=20, wall_time=2.0),
        ep(instance_id="a", delegations=0, steps=30, wall_time=2.0),
        ep(instance_id="b", delegations=1, steps=6, wall_time=3.0, grading_resolution="NO"),
        ep(instance_id="b", delegations=0, steps=5, wall_time=1.0),
        ep(instance_id="c", delegations=1, steps=100, wall_time=100.0),   # unmatched
    ]
    r = evaluate(eps, ["coordination_efficiency_steps", "coordination_efficiency_wall_time"], resamples=100)
    steps, wall = r["coordination_efficiency_steps"], r["coordination_efficiency_wall_time"]
    assert steps.n == 2 and steps.value == pytest.approx((10 + 6) / (25 + 5))
    assert wall.value == pytest.approx((4 + 3) / (2 + 1))
    assert steps.detail["resolved_rate_delegated"] == 0.5 and steps.detail["resolved_rate_solo"] == 1.0
    assert not evaluate(eps[:1], ["coordination_efficiency_steps"])["coordination_efficiency_steps"].measured


def test_matched_cost_ratio_across_runs_pairs_by_instance():
    a = [ep(instance_id="x", steps=10), ep(instance_id="x", steps=20), ep(instance_id="y", steps=4),
         ep(instance_id="only_a", steps=99)]
    b = [ep(instance_id="x", steps=30), ep(instance_id="y", steps=6, grading_resolution="NO")]
    m = matched_cost_ratio(a, b, "steps")
    assert m.n == 2 and m.sample.point() == pytest.approx((15 + 4) / (30 + 6))
    assert m.detail["resolved_rate_a"] == 1.0 and m.detail["resolved_rate_b"] == 0.5
    assert matched_cost_ratio(a, a, "wall_time").sample.point() == pytest.approx(1.0)
    assert matched_cost_ratio(a, [ep(instance_id="z")]).sample is None


# -- bootstrap -------------------------------------------------------------------------------

def test_bootstrap_interval_is_seeded_and_shrinks_with_n():
    small = mean_sample([1, 0, 1, 0, 1, 1, 0, 1, 0, 0])
    big = mean_sample([1, 0, 1, 0, 1, 1, 0, 1, 0, 0] * 100)
    ci_s = bootstrap_ci(small, 500, seed=3)
    assert ci_s == bootstrap_ci(small, 500, seed=3)
    assert not np.array_equal(replicates(small, 50, rng_for(3)), replicates(small, 50, rng_for(4)))
    ci_b = bootstrap_ci(big, 500, seed=3)
    assert ci_s[0] <= 0.5 <= ci_s[1] and ci_b[0] <= 0.5 <= ci_b[1]
    assert (ci_b[1] - ci_b[0]) < (ci_s[1] - ci_s[0]) / 3
    assert bootstrap_ci(mean_sample([1, 1, 1]), 100) == (1.0, 1.0)
    assert bootstrap_ci(mean_sample([]), 100) is None


def test_bootstrap_interval_covers_the_true_rate():
    rng = np.random.default_rng(0)
    hits = 0
    for i in range(200):
        data = (rng.random(80) < 0.3).astype(float)
        lo, hi = bootstrap_ci(mean_sample(data), 400, seed=i)
        hits += lo <= 0.3 <= hi
    assert 0.88 <= hits / 200 <= 0.99


def test_ratio_sample_resamples_clusters():
    s = ratio_sample([3, 0], [4, 4])     # episode 1: 3 of 4 turns, episode 2: 0 of 4
    assert s.point() == 3 / 8
    lo, hi = bootstrap_ci(s, 1000)
    assert lo == 0.0 and hi == 0.75    # resamples: both eps of one kind, or one of each


def test_difference_interval():
    a = mean_sample([1] * 80 + [0] * 20)
    b = mean_sample([1] * 40 + [0] * 60)
    d, ci = difference_ci(a, b, 500, seed=0)
    assert d == pytest.approx(0.4) and ci[0] > 0.2 and ci[1] < 0.6
    d0, ci0 = difference_ci(a, copy.deepcopy(a), 500, seed=0)
    assert d0 == 0 and ci0[0] < 0 < ci0[1]
    assert difference_ci(a, mean_sample([]), 100) == (None, None)


# -- routing ---------------------------------------------------------------------------------

def test_js_divergence_bounds():
    p = np.array([0.5, 0.5, 0.0, 0.0])
    q = np.array([0.0, 0.0, 0.5, 0.5])
    assert routing.js_divergence(p, p) == pytest.approx(0.0)
    assert routing.js_divergence(p, q) == pytest.approx(1.0)
    mid = routing.js_divergence(p, np.array([0.25, 0.25, 0.25, 0.25]))
    assert 0.0 < mid < 1.0


def _router(planner_experts, coder_experts, layers=2, experts=4, tokens=10):
    def counts(active):
        return [[tokens if e in active else 0 for e in range(experts)] for _ in range(layers)]
    return {"planner": counts(planner_experts), "coder": counts(coder_experts)}


def test_routing_divergence_between_roles():
    disjoint = [ep(router=_router({0, 1}, {2, 3})) for _ in range(5)]
    same = [ep(router=_router({0, 1}, {0, 1})) for _ in range(5)]
    r_dis = evaluate(disjoint, ["routing_role_divergence"], resamples=100)["routing_role_divergence"]
    r_same = evaluate(same, ["routing_role_divergence"], resamples=100)["routing_role_divergence"]
    assert r_dis.value == pytest.approx(1.0) and r_dis.n == 5
    assert r_same.value == pytest.approx(0.0) and r_same.ci == (pytest.approx(0.0), pytest.approx(0.0))
    assert r_dis.detail["pairwise"] == {"coder|planner": pytest.approx(1.0)}
    one_role = [ep(router={"coder": [[1, 2, 3, 4]]})]
    assert not evaluate(one_role, ["routing_role_divergence"])["routing_role_divergence"].measured


def test_routing_collect_skips_odd_shapes_and_summarises_loads():
    eps = [ep(router=_router({0}, {1})), ep(router=_router({0}, {1})),
           ep(router=_router({0}, {1}, layers=3)),        # another shape: skipped
           ep(router={"coder": [[1, -2, 0, 0], [1, 1, 1, 1]]}),  # negative count: malformed
           ep(router=None)]
    data = routing.collect(eps)
    assert data.roles == ["coder", "planner"] and data.n_episodes == 2 and data.skipped == 2
    s = routing.summary(data)
    assert s["layers"] == 2 and s["experts"] == 4
    assert s["roles"]["planner"]["load"][0] == [1.0, 0.0, 0.0, 0.0]
    assert s["roles"]["coder"]["tokens_routed"] == 40.0
    assert s["roles"]["coder"]["balance_per_layer"] == [0.0, 0.0]
