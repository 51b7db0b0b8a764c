"""Reward terms: named functions of a grading report (dict form) and an episode trajectory.

``REWARD_TERMS[name] = fn(report, trajectory) -> float``. ``report`` is a
:class:`~cargogym.rewards.grading.GradingReport` as a dict, or None when the episode was not graded
(infrastructure error); ``trajectory`` is the episode record (``docs/CONTRACTS.md``), possibly
restricted to one role's turns (``trajectory["role"]`` set), or None. Terms return raw values;
a spec's weights give them sign and scale. Costs are returned negative (``step_penalty`` = -steps).
Every report-based term (``resolved``, ``f2p_fraction``, ``p2p_kept``, ``p2p_kept_if_progress``,
``compile_ok``, ``clippy_clean``, ``review_correct``, ``valid``) gives 0 when there is no report or
the report is invalid (``valid`` False: test output that could not be trusted, or a code-policy
violation): an invalid report earns nothing.
"""

from __future__ import annotations

from typing import Any, Callable

TermFn = Callable[[dict | None, dict | None], float]
REWARD_TERMS: dict[str, TermFn] = {}


def register_term(name: str) -> Callable[[TermFn], TermFn]:
    """Decorator: add a term to :data:`REWARD_TERMS` (a name may be registered once)."""

    def deco(fn: TermFn) -> TermFn:
        if name in REWARD_TERMS and REWARD_TERMS[name] is not fn:
            raise ValueError(f"reward term {name!r} is already registered")
        REWARD_TERMS[name] = fn
        return fn

    return deco


def _valid(report: dict | None) -> bool:
    return bool(report) and bool(report.get("valid", True))


def _turns(trajectory: dict | None) -> list[dict]:
    if not trajectory:
        return []
    turns = trajectory.get("turns") or []
    role = trajectory.get("role")
    if role:
        turns = [t for t in turns if t.get("role") == role]
    return turns


@register_term("resolved")
def resolved(report: dict | None, trajectory: dict | None) -> float:
    """1 if the grade is FULL (review tasks: the verdict is right)."""
    return 1.0 if _valid(report) and report.get("resolved") else 0.0


@register_term("f2p_fraction")
def f2p_fraction(report: dict | None, trajectory: dict | None) -> float:
    """Share of FAIL_TO_PASS tests that pass (tasks without F2P: 1 if resolved)."""
    if not _valid(report):
        return 0.0
    total = report.get("f2p_total") or 0
    if not total:
        return 1.0 if report.get("resolved") else 0.0
    return float(report.get("f2p_passed", 0)) / total


@register_term("p2p_kept")
def p2p_kept(report: dict | None, trajectory: dict | None) -> float:
    """Share of PASS_TO_PASS tests still passing (1 when there are none)."""
    if not _valid(report):
        return 0.0
    total = report.get("p2p_total") or 0
    return 1.0 if not total else float(report.get("p2p_passed", 0)) / total


@register_term("p2p_kept_if_progress")
def p2p_kept_if_progress(report: dict | None, trajectory: dict | None) -> float:
    """``p2p_kept`` only when at least one FAIL_TO_PASS test now passes (or the task is resolved).

    Keeping PASS_TO_PASS green is free for an agent that changes nothing; this variant pays for it
    only alongside progress, so a no-op episode earns nothing from it.
    """
    if not _valid(report):
        return 0.0
    if not (report.get("resolved") or (report.get("f2p_passed") or 0) > 0):
        return 0.0
    return p2p_kept(report, trajectory)


@register_term("compile_ok")
def compile_ok(report: dict | None, trajectory: dict | None) -> float:
    """1 when the graded state compiles (``cargo check``)."""
    return 1.0 if _valid(report) and report.get("compile_ok") else 0.0


@register_term("clippy_clean")
def clippy_clean(report: dict | None, trajectory: dict | None) -> float:
    """1 with zero clippy warnings and no lint suppression the agent added (``lints_suppressed``);
    0 with warnings, without clippy, or when it did not run."""
    if not _valid(report) or not report.get("clippy_available") or report.get("clippy_warnings") is None:
        return 0.0
    return 1.0 if report["clippy_warnings"] == 0 and not report.get("lints_suppressed") else 0.0


@register_term("step_penalty")
def step_penalty(report: dict | None, trajectory: dict | None) -> float:
    """Minus the number of agent turns (of the role, when restricted)."""
    turns = _turns(trajectory)
    if turns or not trajectory:
        return -float(len(turns))
    return -float(trajectory.get("steps") or 0)


@register_term("delegation_cost")
def delegation_cost(report: dict | None, trajectory: dict | None) -> float:
    """Minus the number of delegations (sub-agents started)."""
    if not trajectory:
        return 0.0
    role = trajectory.get("role")
    if role:
        frames = trajectory.get("frames") or []
        parents = {f.get("frame_id"): f.get("role") for f in frames}
        return -float(sum(1 for f in frames if f.get("parent_id") is not None and parents.get(f.get("parent_id")) == role))
    return -float(trajectory.get("delegations") or 0)


@register_term("role_adherence")
def role_adherence(report: dict | None, trajectory: dict | None) -> float:
    """Share of turns without a role violation (1 with no turns)."""
    turns = _turns(trajectory)
    if turns:
        return 1.0 - sum(1 for t in turns if t.get("violation")) / len(turns)
    if not trajectory:
        return 1.0
    steps = trajectory.get("steps") or 0
    viol = trajectory.get("role_violations") or 0
    return 1.0 - min(1.0, viol / steps) if steps else 1.0


@register_term("review_correct")
def review_correct(report: dict | None, trajectory: dict | None) -> float:
    """1 when a review task's verdict matches its label."""
    return 1.0 if _valid(report) and report.get("review_correct") else 0.0


@register_term("conflict_penalty")
def conflict_penalty(report: dict | None, trajectory: dict | None) -> float:
    """Minus the number of edit conflicts (edits outside a frame's owned files)."""
    if not trajectory:
        return 0.0
    turns = _turns(trajectory)
    if trajectory.get("role"):
        return -float(sum(1 for t in turns if t.get("conflict")))
    return -float(trajectory.get("conflicts") or 0)


@register_term("valid")
def valid(report: dict | None, trajectory: dict | None) -> float:
    """1 when the test output could be trusted."""
    return 1.0 if _valid(report) else 0.0


def as_report_dict(report: Any) -> dict | None:
    if report is None:
        return None
    if isinstance(report, dict):
        return report
    if hasattr(report, "to_dict"):
        return report.to_dict()
    raise TypeError(f"expected a GradingReport or dict, got {type(report).__name__}")
