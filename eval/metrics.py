"""Evaluation metrics over stored episode records (definitions also in docs/METRICS.md).

Each metric is a function ``episodes -> Measurement``: a bootstrap :class:`Sample` (the units it
resamples and the statistic), ``n`` (its denominator: episodes, turns, frames or matched
instances, as its docstring says) and a ``detail`` breakdown. :func:`evaluate` turns that into a
:class:`MetricResult` with the value and a seeded 95 % percentile bootstrap interval. ``n == 0``
(or no usable record) means **not measured**: ``value`` is None, and a gate on it does not pass.

Common rules (applied by :func:`evaluate` / the record accessors):

- Episodes with ``status == "infra_error"`` are left out of every metric (the infrastructure
  failed, not the agent) unless ``exclude_infra_errors=False``; they are counted in the report.
- An ``agent_error`` episode without a grading report counts as a failure wherever a grading
  outcome is needed (it did not produce a compiling, passing workspace).
- A record missing a field a metric needs is not counted by that metric (never guessed).
- "Code" metrics (check, test, clippy, multi-file consistency, plan) leave out ``review`` tasks,
  whose workspace is the pristine crate; review tasks have their own metrics.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from cargogym.eval import routing
from cargogym.eval.bootstrap import Sample, bootstrap_ci, mean_sample, ratio_sample
from cargogym.eval.records import (
    REQUEST_CHANGES,
    as_bool,
    as_dict,
    as_float,
    as_int,
    as_list,
    delegated,
    family_of,
    grading_of,
    is_agent_error,
    is_infra_error,
    norm_path,
    resolved,
    review_label,
    review_verdict,
    roles_in_play,
    should_delegate_label,
    str_list,
    task_files,
    task_of,
    task_sub_bugs,
)

Episodes = list[dict[str, Any]]


@dataclass
class Measurement:
    """What a metric function returns: ``sample`` None (or ``n == 0``) means not measured."""

    sample: Sample | None
    n: int
    detail: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class MetricResult:
    name: str
    value: float | None
    n: int
    ci: tuple[float, float] | None
    higher_is_better: bool | None = True
    detail: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def measured(self) -> bool:
        return self.value is not None and self.n > 0

    def label_counts(self) -> dict[str, int] | None:
        """Units per label for a labelled metric (``MetricSpec.labels``), else None."""
        spec = METRICS.get(self.name)
        if spec is None or not spec.labels:
            return None
        return {lab: int((self.detail.get(lab) or {}).get("n") or 0) for lab in spec.labels}

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "n": self.n,
            "ci95": list(self.ci) if self.ci else None,
            "measured": self.measured,
            "higher_is_better": self.higher_is_better,
            "detail": self.detail,
            "note": self.note,
        }


@dataclass(frozen=True)
class MetricSpec:
    name: str
    fn: Callable[[Episodes], Measurement]
    higher_is_better: bool | None  # None: neither direction is "better" (descriptive metric)
    definition: str  # one line, for tables
    unit: str = "rate"  # rate (a fraction in [0, 1]) | reward | ratio | divergence
    labels: tuple[str, ...] = ()  # label classes whose unit counts are in ``detail[label]["n"]``


def _not_measured(note: str, detail: dict[str, Any] | None = None) -> Measurement:
    return Measurement(None, 0, detail or {}, note)


def _binary(outcomes: list[bool], note_if_empty: str, detail: dict[str, Any] | None = None) -> Measurement:
    if not outcomes:
        return _not_measured(note_if_empty, detail)
    arr = np.asarray(outcomes, dtype=float)
    d = {"successes": int(arr.sum())}
    d.update(detail or {})
    return Measurement(mean_sample(arr), len(arr), d)


def _code_episodes(episodes: Episodes) -> Episodes:
    return [ep for ep in episodes if family_of(ep) != "review"]


def _grading_flag(ep: dict[str, Any], key: str) -> bool | None:
    g = grading_of(ep)
    if g is None:
        return False if is_agent_error(ep) else None
    return as_bool(g.get(key))


# -- code quality ------------------------------------------------------------------------------

def cargo_check_pass_rate(episodes: Episodes) -> Measurement:
    """Fraction of non-review episodes whose final workspace compiles (``grading.compile_ok``).

    n = episodes with a grading report (plus agent_error episodes without one, as failures).
    """
    outcomes = [v for v in (_grading_flag(ep, "compile_ok") for ep in _code_episodes(episodes)) if v is not None]
    return _binary(outcomes, "no graded non-review episode")


def cargo_test_pass_rate(episodes: Episodes) -> Measurement:
    """Fraction of non-review episodes fully resolved: ``grading.resolution == "FULL"`` (all
    FAIL_TO_PASS and all PASS_TO_PASS pass; ``grading.resolved`` when resolution is absent)."""
    outcomes = [v for v in (resolved(ep) for ep in _code_episodes(episodes)) if v is not None]
    return _binary(outcomes, "no graded non-review episode")


def clippy_clean_rate(episodes: Episodes) -> Measurement:
    """Fraction of non-review episodes, graded where clippy ran (``grading.clippy_available``),
    whose workspace compiles with ``clippy_warnings == 0``. Not measured when clippy was never
    available; an agent_error episode without grading counts as not clean when clippy was
    available elsewhere in the run."""
    eps = _code_episodes(episodes)
    available = any(as_bool((grading_of(ep) or {}).get("clippy_available")) for ep in eps)
    if not available:
        return _not_measured("clippy unavailable in every graded episode")
    outcomes = []
    for ep in eps:
        g = grading_of(ep)
        if g is None:
            if is_agent_error(ep):
                outcomes.append(False)
            continue
        if as_bool(g.get("clippy_available")) is not True:
            continue
        warnings = as_int(g.get("clippy_warnings"))
        outcomes.append(warnings == 0 and as_bool(g.get("compile_ok")) is not False)
    return _binary(outcomes, "no episode graded with clippy")


def resolved_rate(episodes: Episodes) -> Measurement:
    """Fraction of episodes of every family solved: FULL resolution, or for review tasks a correct
    verdict (``grading.review_correct``, else the verdict matched against the label)."""
    outcomes = [v for v in (resolved(ep) for ep in episodes) if v is not None]
    return _binary(outcomes, "no graded episode")


def mean_reward(episodes: Episodes) -> Measurement:
    """Mean of the episodes' total ``reward`` (finite numbers only). n = episodes."""
    vals = [r for r in (as_float(ep.get("reward")) for ep in episodes) if r is not None]
    if not vals:
        return _not_measured("no episode with a numeric reward")
    return Measurement(mean_sample(vals), len(vals), {"min": min(vals), "max": max(vals)})


# -- multi-agent behaviour ---------------------------------------------------------------------

def delegation_accuracy(episodes: Episodes) -> Measurement:
    """Fraction of episodes whose delegate-or-not decision matches the task's label.

    Label: ``task.should_delegate`` (else derived): True for multi_bug tasks over >= 2 distinct
    files, False for single_bug tasks; other tasks are not counted. Decision: ``delegations > 0``
    (else any frame with a parent). Detail: accuracy on each label separately.
    """
    outcomes = []
    by_label: dict[bool, list[bool]] = {True: [], False: []}
    for ep in episodes:
        label = should_delegate_label(ep)
        decision = delegated(ep) if label is not None else None
        if decision is None:
            continue
        outcomes.append(decision == label)
        by_label[label].append(decision == label)
    detail = {
        key: {"n": len(v), "accuracy": (sum(v) / len(v)) if v else None}
        for key, v in (("should_delegate", by_label[True]), ("should_not_delegate", by_label[False]))
    }
    return _binary(outcomes, "no single_bug or ≥2-file multi_bug episode with a delegation count", detail)


def _planned(ep: dict[str, Any]) -> tuple[bool, list[set[str]] | None]:
    """(planner in play, planned subtasks' file sets or None when no plan was produced)."""
    plan = as_dict(ep.get("plan"))
    in_play = plan is not None or "planner" in roles_in_play(ep)
    if plan is None:
        return in_play, None
    subtasks = []
    for st in as_list(plan.get("subtasks")) or []:
        st = as_dict(st)
        if st is None:
            continue
        subtasks.append({norm_path(f) for f in (str_list(st.get("files")) or []) if norm_path(f)})
    return in_play, subtasks


def plan_completeness(episodes: Episodes) -> Measurement:
    """Mean, over non-review episodes in which a planner took part (a ``plan`` or a ``planner``
    frame/turn), of the fraction of the task's sub-bugs the plan covers. A sub-bug (an entry of
    ``task.sub_tasks``, else each file of ``task.files``) is covered when every one of its files
    appears in some planned subtask's ``files``. A planner that produced no plan scores 0.
    Detail: ``file_coverage`` = mean fraction of required files named by the plan. n = episodes."""
    fractions, file_cov = [], []
    no_plan = 0
    for ep in _code_episodes(episodes):
        in_play, subtasks = _planned(ep)
        sub_bugs = task_sub_bugs(ep)
        if not in_play or not sub_bugs:
            continue
        planned = set().union(*subtasks) if subtasks else set()
        if subtasks is None:
            no_plan += 1
        fractions.append(sum(sb <= planned for sb in sub_bugs) / len(sub_bugs))
        required = set(task_files(ep))
        if required:
            file_cov.append(len(required & planned) / len(required))
    if not fractions:
        return _not_measured("no episode with a planner and a task with known files")
    return Measurement(mean_sample(fractions), len(fractions), {
        "file_coverage": float(np.mean(file_cov)) if file_cov else None,
        "episodes_without_plan": no_plan,
    })


def plan_precision(episodes: Episodes) -> Measurement:
    """Fraction of planned subtasks that were necessary: a subtask is necessary when its ``files``
    name at least one file the task's fix touches. Pooled over subtasks (n = planned subtasks of
    non-review episodes), episodes resampled as clusters."""
    num, den = [], []
    for ep in _code_episodes(episodes):
        _, subtasks = _planned(ep)
        required = set(task_files(ep))
        if not subtasks or not required:
            continue
        num.append(sum(bool(st & required) for st in subtasks))
        den.append(len(subtasks))
    if not den:
        return _not_measured("no plan with subtasks on a task with known files")
    return Measurement(ratio_sample(num, den), int(sum(den)), {"episodes": len(den)})


def role_adherence_rate(episodes: Episodes) -> Measurement:
    """Fraction of turns with no role violation (``turns[].violation`` false). Episodes without a
    ``turns`` list fall back to ``1 - role_violations / steps``. Pooled over turns (n = turns),
    episodes resampled as clusters."""
    num, den = [], []
    for ep in episodes:
        turns = as_list(ep.get("turns"))
        if turns:
            flags = [as_bool(t.get("violation")) for t in turns if isinstance(t, dict)]
            flags = [f for f in flags if f is not None]
            d, bad = len(flags), sum(flags)
        else:
            steps, rv = as_int(ep.get("steps")), as_int(ep.get("role_violations"))
            if steps is None or rv is None:
                continue
            d, bad = steps, min(rv, steps)
        if d > 0:
            num.append(d - bad)
            den.append(d)
    if not den:
        return _not_measured("no turns with a violation flag")
    return Measurement(ratio_sample(num, den), int(sum(den)), {"episodes": len(den), "violations": int(sum(den) - sum(num))})


def _review_outcomes(episodes: Episodes, label: str) -> tuple[list[bool], int]:
    out, no_verdict = [], 0
    for ep in episodes:
        if review_label(ep) != label:
            continue
        verdict = review_verdict(ep)
        no_verdict += verdict is None
        out.append(verdict == REQUEST_CHANGES)
    return out, no_verdict


def review_bug_catch_rate(episodes: Episodes) -> Measurement:
    """On review tasks labelled ``buggy``: fraction whose verdict is ``REQUEST_CHANGES`` (from
    ``review_verdict``, else ``grading.review_verdict``; no verdict = not caught). n = episodes."""
    out, nv = _review_outcomes(episodes, "buggy")
    return _binary(out, "no review episode with a buggy diff", {"no_verdict": nv})


def review_false_alarm_rate(episodes: Episodes) -> Measurement:
    """On review tasks labelled ``clean``: fraction whose verdict is ``REQUEST_CHANGES`` (lower is
    better; no verdict = no alarm, counted in detail). n = episodes."""
    out, nv = _review_outcomes(episodes, "clean")
    return _binary(out, "no review episode with a clean diff", {"no_verdict": nv})


def _p2p_kept(ep: dict[str, Any], g: dict[str, Any]) -> bool | None:
    passed, total = as_int(g.get("p2p_passed")), as_int(g.get("p2p_total"))
    if passed is not None and total is not None:
        return passed >= total
    tests, p2p = as_dict(g.get("tests")), str_list(task_of(ep).get("PASS_TO_PASS"))
    if tests is not None and p2p is not None:
        return all(tests.get(t) == "passed" for t in p2p)
    return None


def multi_file_consistency(episodes: Episodes) -> Measurement:
    """On non-review tasks whose fix spans >= 2 distinct files (``task.files``): fraction of
    episodes whose final workspace compiles and keeps every PASS_TO_PASS test passing
    (``p2p_passed == p2p_total``, else per-test results). n = episodes."""
    outcomes = []
    for ep in _code_episodes(episodes):
        if len(task_files(ep)) < 2:
            continue
        g = grading_of(ep)
        if g is None:
            if is_agent_error(ep):
                outcomes.append(False)
            continue
        compiles, kept = as_bool(g.get("compile_ok")), _p2p_kept(ep, g)
        if compiles is None or kept is None:
            continue
        outcomes.append(compiles and kept)
    return _binary(outcomes, "no graded episode on a task spanning ≥ 2 files")


def _is_child(frame: dict[str, Any]) -> bool:
    depth = as_int(frame.get("depth"))
    return frame.get("parent_id") is not None or (depth is not None and depth > 0)


def no_conflict_rate(episodes: Episodes) -> Measurement:
    """Fraction of delegated subtasks (child frames: ``parent_id`` set or ``depth > 0``) with no
    conflict: ``conflicts == 0`` and, when ``owned_files`` is a list, every ``edited_files`` entry
    inside it. Frames with neither field are not counted. Pooled over frames (n = child frames),
    episodes resampled as clusters."""
    num, den = [], []
    for ep in episodes:
        ok = total = 0
        for fr in as_list(ep.get("frames")) or []:
            if not isinstance(fr, dict) or not _is_child(fr):
                continue
            conflicts = as_int(fr.get("conflicts"))
            owned, edited = str_list(fr.get("owned_files")), str_list(fr.get("edited_files"))
            outside = None
            if owned is not None and edited is not None:
                owned_n = {norm_path(f) for f in owned}
                outside = any(norm_path(f) not in owned_n for f in edited)
            if conflicts is None and outside is None:
                continue
            total += 1
            ok += (conflicts is None or conflicts == 0) and not outside
        if total:
            num.append(ok)
            den.append(total)
    if not den:
        return _not_measured("no delegated subtask (child frame) recorded")
    return Measurement(ratio_sample(num, den), int(sum(den)), {"episodes": len(den)})


def _steps(x: Any) -> float | None:
    v = as_int(x)
    return None if v is None else float(v)


COST_FIELDS: dict[str, Callable[[Any], float | None]] = {"steps": _steps, "wall_time": as_float}


def _matched_ratio(items: list[tuple[bool | None, dict[str, Any]]], key: str,
                   names: tuple[str, str], why_empty: str) -> Measurement:
    """``items`` are (arm, episode). Sum over matched instance_ids of the mean ``key`` in arm True,
    divided by the same sum in arm False; an instance is matched when it has episodes in both
    arms. Units = instances."""
    conv = COST_FIELDS[key]
    cost: dict[str, dict[bool, list[float]]] = defaultdict(lambda: {True: [], False: []})
    res: dict[str, dict[bool, list[bool]]] = defaultdict(lambda: {True: [], False: []})
    for side, ep in items:
        iid, v = ep.get("instance_id"), conv(ep.get(key))
        if not isinstance(iid, str) or side is None or v is None:
            continue
        cost[iid][side].append(v)
        r = resolved(ep)
        if r is not None:
            res[iid][side].append(r)
    matched = sorted(i for i, c in cost.items() if c[True] and c[False])
    if not matched:
        return _not_measured(why_empty)
    num = np.array([np.mean(cost[i][True]) for i in matched])
    den = np.array([np.mean(cost[i][False]) for i in matched])

    def rate(side: bool) -> float | None:
        vals = [x for i in matched for x in res[i][side]]
        return float(np.mean(vals)) if vals else None

    return Measurement(ratio_sample(num, den), len(matched), {
        f"mean_{key}_{names[0]}": float(num.mean()),
        f"mean_{key}_{names[1]}": float(den.mean()),
        f"resolved_rate_{names[0]}": rate(True),
        f"resolved_rate_{names[1]}": rate(False),
    })


def _coordination(episodes: Episodes, key: str) -> Measurement:
    return _matched_ratio([(delegated(ep), ep) for ep in episodes], key, ("delegated", "solo"),
                          "no instance_id with both delegated and solo episodes")


def matched_cost_ratio(episodes_a: Episodes, episodes_b: Episodes, key: str = "steps") -> Measurement:
    """Across two runs: over instance_ids present in both, sum of per-instance mean ``key``
    (``steps`` or ``wall_time``) in run A divided by the same sum in run B (e.g. a multi-agent run
    against a solo one). n = shared instances."""
    items = [(True, ep) for ep in episodes_a] + [(False, ep) for ep in episodes_b]
    return _matched_ratio(items, key, ("a", "b"), "no instance_id in both runs")


def coordination_efficiency_steps(episodes: Episodes) -> Measurement:
    """Cost of delegation in steps on matched tasks: over instance_ids that have both delegated
    (``delegations > 0``) and solo episodes, sum of per-instance mean steps with delegation
    divided by the sum of per-instance mean steps solo. < 1: delegation takes fewer steps.
    n = matched instances (the bootstrap resamples instances)."""
    return _coordination(episodes, "steps")


def coordination_efficiency_wall_time(episodes: Episodes) -> Measurement:
    """As ``coordination_efficiency_steps`` with ``wall_time`` (seconds) instead of steps."""
    return _coordination(episodes, "wall_time")


def routing_role_divergence(episodes: Episodes) -> Measurement:
    """Mean over role pairs and layers of the Jensen–Shannon divergence (base 2, in [0, 1])
    between the roles' expert loads (see :mod:`cargogym.eval.routing`). n = episodes with
    router records. Not measured with fewer than two roles."""
    data = routing.collect(episodes)
    if data is None:
        return _not_measured("no router records (HFPolicy runs only)")
    if len(data.roles) < 2:
        return _not_measured(f"router records of one role only ({data.roles[0]})")
    pairs = routing.pairwise_divergence(routing.loads(data.counts.sum(axis=0)), data.roles)
    return Measurement(routing.divergence_sample(data), data.n_episodes,
                       {"pairwise": pairs, "roles": data.roles, "skipped": data.skipped})


METRICS: dict[str, MetricSpec] = {
    s.name: s
    for s in (
        MetricSpec("cargo_check_pass_rate", cargo_check_pass_rate, True, "final workspace compiles (non-review episodes)"),
        MetricSpec("cargo_test_pass_rate", cargo_test_pass_rate, True, "FULL resolution: all F2P and P2P pass (non-review)"),
        MetricSpec("clippy_clean_rate", clippy_clean_rate, True, "compiles with 0 clippy warnings, where clippy ran"),
        MetricSpec("resolved_rate", resolved_rate, True, "solved, all families (review: correct verdict)"),
        MetricSpec("mean_reward", mean_reward, True, "mean episode reward", "reward"),
        MetricSpec("delegation_accuracy", delegation_accuracy, True, "delegate-or-not matches the task label",
                   labels=("should_delegate", "should_not_delegate")),
        MetricSpec("plan_completeness", plan_completeness, True, "share of the task's sub-bugs the plan covers"),
        MetricSpec("plan_precision", plan_precision, True, "share of planned subtasks that were necessary"),
        MetricSpec("role_adherence_rate", role_adherence_rate, True, "turns without a role violation"),
        MetricSpec("review_bug_catch_rate", review_bug_catch_rate, True, "buggy diffs answered REQUEST_CHANGES"),
        MetricSpec("review_false_alarm_rate", review_false_alarm_rate, False, "clean diffs answered REQUEST_CHANGES"),
        MetricSpec("multi_file_consistency", multi_file_consistency, True, "≥2-file tasks: compiles and keeps all P2P"),
        MetricSpec("no_conflict_rate", no_conflict_rate, True, "delegated subtasks with no conflict"),
        MetricSpec("coordination_efficiency_steps", coordination_efficiency_steps, False, "steps delegated / solo, matched tasks", "ratio"),
        MetricSpec("coordination_efficiency_wall_time", coordination_efficiency_wall_time, False, "wall time delegated / solo, matched tasks", "ratio"),
        MetricSpec("routing_role_divergence", routing_role_divergence, None, "mean Jensen–Shannon divergence of expert load between roles", "divergence"),
    )
}


def eligible(episodes: Episodes, exclude_infra_errors: bool = True) -> Episodes:
    """The episodes metrics count: all dict records, minus infra errors unless told otherwise."""
    return [ep for ep in episodes if isinstance(ep, dict) and not (exclude_infra_errors and is_infra_error(ep))]


def measure(episodes: Episodes, names: list[str] | None = None,
            exclude_infra_errors: bool = True) -> dict[str, Measurement]:
    """Raw measurements (with bootstrap samples) of the named metrics (all by default)."""
    eps = eligible(episodes, exclude_infra_errors)
    unknown = [n for n in (names or []) if n not in METRICS]
    if unknown:
        raise KeyError(f"unknown metric(s): {', '.join(unknown)}; known: {', '.join(METRICS)}")
    return {name: METRICS[name].fn(eps) for name in (names or list(METRICS))}


def finish(name: str, m: Measurement, resamples: int = 1000, seed: int = 0,
           confidence: float = 0.95) -> MetricResult:
    """Point value and bootstrap interval of a measurement."""
    spec = METRICS.get(name)
    hib = spec.higher_is_better if spec else True
    value = m.sample.point() if (m.sample is not None and m.n > 0) else None
    if value is None:
        return MetricResult(name, None, 0, None, hib, m.detail, m.note or "no usable records")
    ci = bootstrap_ci(m.sample, resamples, seed, confidence)
    return MetricResult(name, value, m.n, ci, hib, m.detail, m.note)


def evaluate(episodes: Episodes, names: list[str] | None = None, resamples: int = 1000, seed: int = 0,
             confidence: float = 0.95, exclude_infra_errors: bool = True) -> dict[str, MetricResult]:
    """Every (or each named) metric with its value, n and bootstrap interval."""
    return {
        name: finish(name, m, resamples, seed, confidence)
        for name, m in measure(episodes, names, exclude_infra_errors).items()
    }


def group_episodes(episodes: Episodes, key: Callable[[dict[str, Any]], str | None],
                   exclude_infra_errors: bool = True) -> dict[str, Episodes]:
    """Eligible episodes by ``key`` (family, crate, ...); a missing key is ``(unknown)``."""
    groups: dict[str, Episodes] = defaultdict(list)
    for ep in eligible(episodes, exclude_infra_errors):
        groups[key(ep) or "(unknown)"].append(ep)
    return dict(groups)


def group_resolved(episodes: Episodes, key: Callable[[dict[str, Any]], str | None], resamples: int = 1000,
                   seed: int = 0, confidence: float = 0.95, exclude_infra_errors: bool = True) -> list[dict[str, Any]]:
    """Resolved rate (see :func:`resolved_rate`) and mean reward per group (family, crate, ...)."""
    groups = group_episodes(episodes, key, exclude_infra_errors)
    rows = []
    for name in sorted(groups):
        r = finish("resolved_rate", resolved_rate(groups[name]), resamples, seed, confidence)
        rewards = [x for x in (as_float(ep.get("reward")) for ep in groups[name]) if x is not None]
        rows.append({
            "group": name, "episodes": len(groups[name]), "n": r.n, "resolved_rate": r.value,
            "ci95": list(r.ci) if r.ci else None,
            "mean_reward": float(np.mean(rewards)) if rewards else None,
        })
    return rows
