"""The report of one run: ``report.md``, ``summary.json`` and PNG plots in an output folder.

:func:`analyze` computes everything (pure, no files written); :func:`write_report` writes it.
``summary.json`` keys: ``run``, ``meta``, ``episodes`` (counts by status/family/env, corrupt and
duplicate lines), ``settings``, ``metrics`` (name → value, n, ci95, measured, detail, note),
``reward``, ``resolved_by_family``, ``resolved_by_crate``, ``routing`` (per-role per-layer expert
load and pairwise divergence, or null), ``learning_curve``, ``trees``, ``gates`` (stage → passed
and per-gate status), ``plots`` and ``notes``.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cargogym.eval import routing
from cargogym.eval.gates import GateResult, Stage, all_passed, check_stage
from cargogym.eval.metrics import METRICS, Measurement, MetricResult, eligible, finish, group_resolved, measure
from cargogym.eval.records import as_float, crate_of, family_of, status_of
from cargogym.eval.runs import Run
from cargogym.eval.settings import EvalConfig


@dataclass
class Analysis:
    run: Run
    cfg: EvalConfig
    measurements: dict[str, Measurement]
    results: dict[str, MetricResult]
    gates: dict[str, tuple[Stage, list[GateResult]]]
    summary: dict[str, Any]
    plots: list[str] = field(default_factory=list)


# -- formatting --------------------------------------------------------------------------------

def fmt(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def fmt_ci(ci: tuple[float, float] | list[float] | None, digits: int = 3) -> str:
    return "—" if not ci else f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def fmt_value(r: MetricResult | None) -> str:
    return "not measured" if r is None or not r.measured else fmt(r.value)


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def esc(s: str) -> str:
        return str(s).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# -- analysis ----------------------------------------------------------------------------------

def _reward_stats(episodes: list[dict[str, Any]]) -> dict[str, Any] | None:
    vals = np.array([r for r in (as_float(ep.get("reward")) for ep in episodes) if r is not None])
    if vals.size == 0:
        return None
    return {"n": int(vals.size), "mean": float(vals.mean()), "std": float(vals.std()),
            "min": float(vals.min()), "median": float(np.median(vals)), "max": float(vals.max())}


def _counts(values: list[Any]) -> dict[str, int]:
    return dict(sorted(Counter(v if isinstance(v, str) and v else "(unknown)" for v in values).items()))


def analyze(run: Run, cfg: EvalConfig, stages: dict[str, Stage] | None = None) -> Analysis:
    """Metrics, breakdowns, routing and gate results of ``run`` (nothing written)."""
    eps = run.episodes
    scored = eligible(eps, cfg.exclude_infra_errors)
    kw = dict(resamples=cfg.bootstrap_resamples, seed=cfg.seed, confidence=cfg.confidence)
    measurements = measure(eps, exclude_infra_errors=cfg.exclude_infra_errors)
    results = {name: finish(name, m, **kw) for name, m in measurements.items()}
    gate_results = {name: (st, check_stage(st, results)) for name, st in (stages or {}).items()}
    rdata = routing.collect(scored)
    notes = list(run.notes)
    if rdata is not None:
        notes += rdata.notes
    lc = run.learning_curve
    summary: dict[str, Any] = {
        "run": str(run.path),
        "name": run.name,
        "meta": run.meta,
        "episodes": {
            "total": len(eps), "scored": len(scored), "corrupt_lines": run.corrupt_lines,
            "duplicates": run.duplicates,
            "by_status": _counts([status_of(ep) for ep in eps]),
            "by_family": _counts([family_of(ep) for ep in eps]),
            "by_env": _counts([ep.get("env") for ep in eps]),
        },
        "settings": dataclasses.asdict(cfg),
        "metrics": {name: r.to_dict() for name, r in results.items()},
        "reward": _reward_stats(scored),
        "resolved_by_family": group_resolved(eps, family_of, exclude_infra_errors=cfg.exclude_infra_errors, **kw),
        "resolved_by_crate": group_resolved(eps, crate_of, exclude_infra_errors=cfg.exclude_infra_errors, **kw),
        "routing": routing.summary(rdata) if rdata is not None else None,
        "learning_curve": None if lc is None else {
            "source": lc.source, "points": len(lc.steps), "first_step": lc.steps[0], "last_step": lc.steps[-1],
            "first_mean_reward": lc.mean_reward[0], "last_mean_reward": lc.mean_reward[-1],
            "best_mean_reward": max(lc.mean_reward)},
        "trees": run.n_trees,
        "gates": {name: {"description": st.description, "passed": all_passed(gr), "gates": [g.to_dict() for g in gr]}
                  for name, (st, gr) in gate_results.items()},
        "plots": [],
        "notes": notes,
    }
    return Analysis(run, cfg, measurements, results, gate_results, summary)


# -- writing -----------------------------------------------------------------------------------

def make_plots(a: Analysis, out: Path) -> list[str]:
    """Write the run's PNGs into ``out``; a plot that fails becomes a note, never an error."""
    from cargogym.eval import plots

    s = a.summary
    todo: list[tuple[str, Any]] = []
    rewards = [r for r in (as_float(ep.get("reward")) for ep in eligible(a.run.episodes, a.cfg.exclude_infra_errors))
               if r is not None]
    if rewards:
        todo.append(("reward_distribution.png", lambda p: plots.reward_distribution(rewards, p)))
    if any(r["resolved_rate"] is not None for r in s["resolved_by_family"]):
        todo.append(("resolved_by_family.png", lambda p: plots.resolved_bars(
            s["resolved_by_family"], p, "Resolved rate per family", a.cfg.max_groups_in_plot)))
    if any(r["resolved_rate"] is not None for r in s["resolved_by_crate"]):
        todo.append(("resolved_by_crate.png", lambda p: plots.resolved_bars(
            s["resolved_by_crate"], p, "Resolved rate per crate", a.cfg.max_groups_in_plot)))
    if a.run.learning_curve is not None:
        lc = a.run.learning_curve
        todo.append(("learning_curve.png", lambda p: plots.learning_curve(lc.steps, lc.mean_reward, p)))
    if s["routing"] is not None:
        todo.append(("expert_load.png", lambda p: plots.expert_load(s["routing"], p)))
    written = []
    for name, fn in todo:
        try:
            fn(out / name)
            written.append(name)
        except Exception as e:  # a broken plot must not lose the report
            s["notes"].append(f"plot {name} failed: {e.__class__.__name__}: {e}")
    return written


def render_markdown(a: Analysis) -> str:
    s = a.summary
    ep = s["episodes"]
    conf = int(round(a.cfg.confidence * 100))
    out = [f"# cargogym evaluation: {s['name']}", "", f"Run: `{s['run']}`", ""]
    meta_bits = [f"{k}: {s['meta'][k]}" for k in ("policy", "env", "reward", "created_at", "git_commit")
                 if isinstance(s["meta"].get(k), (str, int, float))]
    if meta_bits:
        out += ["; ".join(meta_bits), ""]
    out += [f"Episodes: {ep['total']} ({ep['scored']} scored); status "
            + ", ".join(f"{k} {v}" for k, v in ep["by_status"].items())
            + f"; corrupt lines skipped: {ep['corrupt_lines']}; duplicates replaced: {ep['duplicates']}.", ""]
    out += ["## Metrics", "",
            f"Values with {conf}% percentile bootstrap intervals ({a.cfg.bootstrap_resamples} resamples, seed "
            f"{a.cfg.seed}); n is the metric's denominator. Definitions: docs/METRICS.md.", ""]
    rows = []
    for name, r in a.results.items():
        rows.append([name, fmt_value(r), fmt_ci(r.ci), str(r.n), METRICS[name].definition + (" (lower is better)" if r.higher_is_better is False else ""),
                     r.note if not r.measured else ""])
    out += [_md_table(["metric", "value", f"{conf}% CI", "n", "definition", "note"], rows), ""]
    for name, (st, grs) in a.gates.items():
        verdict = "PASSED" if all_passed(grs) else "FAILED"
        out += [f"## Promotion gates: {name} — {verdict}", ""]
        if st.description:
            out += [st.description, ""]
        out += [_md_table(["metric", "threshold", "value", f"{conf}% CI", "n", "result"],
                          [[g.gate.metric, g.gate.describe(), fmt_value(g.result), fmt_ci(g.result.ci if g.result else None),
                            str(g.result.n if g.result else 0),
                            g.status.upper() + (f" ({g.reason})" if g.reason else "")] for g in grs]), ""]
    if s["reward"]:
        rw = s["reward"]
        out += ["## Reward", "", f"n={rw['n']}, mean {rw['mean']:.3f} (std {rw['std']:.3f}), min {rw['min']:.3f}, "
                f"median {rw['median']:.3f}, max {rw['max']:.3f}.", ""]
    for key, title in (("resolved_by_family", "Resolved rate per family"), ("resolved_by_crate", "Resolved rate per crate")):
        if s[key]:
            out += [f"## {title}", "", _md_table(["group", "episodes", "n graded", "resolved", f"{conf}% CI", "mean reward"], [
                [r["group"], str(r["episodes"]), str(r["n"]), fmt(r["resolved_rate"]), fmt_ci(r["ci95"]), fmt(r["mean_reward"])]
                for r in s[key]]), ""]
    if s["routing"]:
        rt = s["routing"]
        out += ["## Expert routing per role", "",
                f"{rt['episodes']} episodes with router records; {rt['layers']} layers × {rt['experts']} experts.", ""]
        out += [_md_table(["role", "episodes", "tokens routed", "mean balance (1 = uniform)", "max expert share"], [
            [role, str(v["episodes"]), f"{v['tokens_routed']:.0f}",
             fmt(float(np.nanmean([b for b in v["balance_per_layer"] if b is not None])) if any(b is not None for b in v["balance_per_layer"]) else None),
             fmt(v["max_expert_share"])] for role, v in rt["roles"].items()]), ""]
        if rt["pairwise_divergence"]:
            out += [_md_table(["roles", "Jensen–Shannon divergence (mean over layers)"],
                              [[k.replace("|", " vs "), fmt(v)] for k, v in rt["pairwise_divergence"].items()]), ""]
    if s["learning_curve"]:
        lc = s["learning_curve"]
        out += ["## Learning curve", "", f"From `{lc['source']}`: {lc['points']} points, step {lc['first_step']:g} → {lc['last_step']:g}; "
                f"mean reward {lc['first_mean_reward']:.3f} → {lc['last_mean_reward']:.3f} (best {lc['best_mean_reward']:.3f}).", ""]
    if s["trees"] is not None:
        out += [f"MALT trees recorded: {s['trees']}.", ""]
    if a.plots:
        out += ["## Plots", ""] + [f"![{p[:-4]}]({p})" for p in a.plots] + [""]
    if s["notes"]:
        out += ["## Notes", ""] + [f"- {n}" for n in s["notes"]] + [""]
    return "\n".join(out)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def json_safe(o: Any) -> Any:
    """``o`` with numpy scalars unwrapped and non-finite floats (NaN, inf) replaced by None."""
    if isinstance(o, dict):
        return {str(k): json_safe(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [json_safe(v) for v in o]
    if isinstance(o, (np.floating, np.integer)):
        o = o.item()
    if isinstance(o, float) and not np.isfinite(o):
        return None
    return o


def write_json(path: Path, data: Any) -> None:
    from cargogym.tasks.record import atomic_write_text

    text = json.dumps(json_safe(data), indent=2, default=_json_default, allow_nan=False)
    atomic_write_text(path, text + "\n")


def write_report(a: Analysis, out: Path) -> list[Path]:
    """Write plots (when enabled), ``report.md`` and ``summary.json`` into ``out``."""
    from cargogym.tasks.record import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    if a.cfg.plots:
        a.plots = make_plots(a, out)
        a.summary["plots"] = list(a.plots)
    atomic_write_text(out / "report.md", render_markdown(a))
    write_json(out / "summary.json", a.summary)
    return [out / "report.md", out / "summary.json", *(out / p for p in a.plots)]
