"""Two runs side by side: every metric of A and B, the difference A − B and its bootstrap interval.

The two runs are resampled independently (they are separate samples of episodes); a difference
whose interval excludes 0 is marked significant, and ``better`` names the run that is ahead on a
significant difference (taking lower-is-better metrics into account). Output: ``report.md``,
``summary.json`` (``a`` and ``b`` summaries, ``differences``, ``resolved_by_family`` (per family:
both rates, A − B with its interval, ``significant``),
``shared_instances``, ``matched_cost``: steps and wall time of A over B on the instance ids both
runs played, paired by instance) and ``compare_metrics.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cargogym.eval.bootstrap import bootstrap_ci, difference_ci
from cargogym.eval.metrics import METRICS, eligible, group_episodes, matched_cost_ratio, resolved_rate
from cargogym.eval.records import family_of
from cargogym.eval.report import Analysis, _md_table, fmt, fmt_ci, write_json


def differences(a: Analysis, b: Analysis) -> list[dict[str, Any]]:
    cfg = a.cfg
    rows = []
    for name, spec in METRICS.items():
        ra, rb = a.results[name], b.results[name]
        diff, dci = None, None
        if ra.measured and rb.measured:
            diff, dci = difference_ci(a.measurements[name].sample, b.measurements[name].sample,
                                      cfg.bootstrap_resamples, cfg.seed, cfg.confidence)
        significant = dci is not None and (dci[0] > 0 or dci[1] < 0)
        better = None
        if significant and diff is not None and spec.higher_is_better is not None:
            better = "a" if (diff > 0) == spec.higher_is_better else "b"
        rows.append({
            "metric": name, "higher_is_better": spec.higher_is_better,
            "a": ra.value, "a_n": ra.n, "a_ci95": list(ra.ci) if ra.ci else None,
            "b": rb.value, "b_n": rb.n, "b_ci95": list(rb.ci) if rb.ci else None,
            "diff": diff, "diff_ci95": list(dci) if dci else None,
            "significant": significant, "better": better,
        })
    return rows


def family_differences(a: Analysis, b: Analysis) -> list[dict[str, Any]]:
    """Per family: resolved rate of A and B and the difference A − B with its bootstrap interval
    (the same independent resampling as :func:`differences`)."""
    cfg = a.cfg
    ga = group_episodes(a.run.episodes, family_of, cfg.exclude_infra_errors)
    gb = group_episodes(b.run.episodes, family_of, cfg.exclude_infra_errors)
    rows = []
    for g in sorted(set(ga) | set(gb)):
        ma, mb = resolved_rate(ga.get(g, [])), resolved_rate(gb.get(g, []))
        va = ma.sample.point() if ma.sample is not None else None
        vb = mb.sample.point() if mb.sample is not None else None
        diff, dci = None, None
        if va is not None and vb is not None:
            diff, dci = difference_ci(ma.sample, mb.sample, cfg.bootstrap_resamples, cfg.seed, cfg.confidence)
        significant = dci is not None and (dci[0] > 0 or dci[1] < 0)
        rows.append({"family": g, "a": va, "a_n": ma.n if va is not None else 0,
                     "b": vb, "b_n": mb.n if vb is not None else 0,
                     "diff": diff, "diff_ci95": list(dci) if dci else None, "significant": significant,
                     "better": ("a" if diff > 0 else "b") if significant and diff is not None else None})
    return rows


def matched_costs(a: Analysis, b: Analysis) -> dict[str, Any]:
    """Steps and wall time of A over B on the instance ids both runs played (paired by instance)."""
    cfg = a.cfg
    ea, eb = eligible(a.run.episodes, cfg.exclude_infra_errors), eligible(b.run.episodes, cfg.exclude_infra_errors)
    out = {}
    for key in ("steps", "wall_time"):
        m = matched_cost_ratio(ea, eb, key)
        value = m.sample.point() if m.sample is not None else None
        ci = bootstrap_ci(m.sample, cfg.bootstrap_resamples, cfg.seed, cfg.confidence) if value is not None else None
        out[key] = {"ratio_a_over_b": value, "ci95": list(ci) if ci else None, "n": m.n if value is not None else 0,
                    "detail": m.detail, "note": m.note}
    return out


def compare(a: Analysis, b: Analysis) -> dict[str, Any]:
    """JSON-ready comparison of two analysed runs."""
    ids_a = {ep.get("instance_id") for ep in a.run.episodes if isinstance(ep.get("instance_id"), str)}
    ids_b = {ep.get("instance_id") for ep in b.run.episodes if isinstance(ep.get("instance_id"), str)}
    return {
        "a": a.summary, "b": b.summary,
        "labels": [a.run.name, b.run.name],
        "shared_instances": len(ids_a & ids_b),
        "families": sorted({f for f in map(family_of, a.run.episodes + b.run.episodes) if f}),
        "differences": differences(a, b),
        "resolved_by_family": family_differences(a, b),
        "matched_cost": matched_costs(a, b),
        "plots": [],
    }


def _labels(a: Analysis, b: Analysis) -> tuple[str, str]:
    la, lb = a.run.name, b.run.name
    if la == lb:
        la, lb = f"A:{la}", f"B:{lb}"
    return la, lb


def render_markdown(c: dict[str, Any], a: Analysis, b: Analysis) -> str:
    la, lb = _labels(a, b)
    conf = int(round(a.cfg.confidence * 100))
    sa, sb = c["a"]["episodes"], c["b"]["episodes"]
    out = [f"# cargogym comparison: {la} vs {lb}", "",
           f"A = `{c['a']['run']}` ({sa['total']} episodes, {sa['scored']} scored); "
           f"B = `{c['b']['run']}` ({sb['total']} episodes, {sb['scored']} scored); "
           f"{c['shared_instances']} instance ids in both.", "",
           f"Differences are A − B with {conf}% bootstrap intervals (runs resampled independently, "
           f"{a.cfg.bootstrap_resamples} resamples, seed {a.cfg.seed}). '*' = interval excludes 0.", "", "## Metrics", ""]
    rows = []
    for r in c["differences"]:
        va = "not measured" if r["a"] is None else f"{fmt(r['a'])} (n={r['a_n']})"
        vb = "not measured" if r["b"] is None else f"{fmt(r['b'])} (n={r['b_n']})"
        d = "—" if r["diff"] is None else f"{r['diff']:+.3f}{'*' if r['significant'] else ''}"
        better = {"a": la, "b": lb}.get(r["better"] or "", "—")
        rows.append([r["metric"] + (" (↓)" if r["higher_is_better"] is False else ""), va, vb, d, fmt_ci(r["diff_ci95"]), better])
    out += [_md_table(["metric", la, lb, "A − B", f"{conf}% CI of A − B", "better"], rows), ""]
    if c["resolved_by_family"]:
        out += ["## Resolved rate per family", "", _md_table(["family", la, lb, "A − B", f"{conf}% CI of A − B"], [
            [r["family"], f"{fmt(r['a'])} (n={r['a_n']})", f"{fmt(r['b'])} (n={r['b_n']})",
             "—" if r["diff"] is None else f"{r['diff']:+.3f}{'*' if r['significant'] else ''}",
             fmt_ci(r["diff_ci95"])] for r in c["resolved_by_family"]]), ""]
    mc = c["matched_cost"]
    if any(v["ratio_a_over_b"] is not None for v in mc.values()):
        out += ["## Cost on shared tasks", "",
                "Per instance id played by both runs: mean cost in A summed over instances, divided by the same sum in B "
                "(< 1: A is cheaper); the bootstrap resamples instances.", "",
                _md_table(["cost", "A / B", f"{conf}% CI", "instances", f"resolved {la}", f"resolved {lb}"], [
                    [key, fmt(v["ratio_a_over_b"]), fmt_ci(v["ci95"]), str(v["n"]),
                     fmt(v["detail"].get("resolved_rate_a")), fmt(v["detail"].get("resolved_rate_b"))]
                    for key, v in mc.items() if v["ratio_a_over_b"] is not None]), ""]
    stages = sorted(set(c["a"]["gates"]) | set(c["b"]["gates"]))
    for st in stages:
        ga, gb = c["a"]["gates"].get(st), c["b"]["gates"].get(st)
        out += [f"## Promotion gates: {st}", "",
                f"{la}: {'PASSED' if ga and ga['passed'] else 'FAILED'}; {lb}: {'PASSED' if gb and gb['passed'] else 'FAILED'}", ""]
        by_metric_b = {g["metric"]: g for g in (gb or {}).get("gates", [])}
        out += [_md_table(["metric", "threshold", la, lb], [
            [g["metric"], ("≥ " if g["direction"] == "min" else "≤ ") + f"{g['threshold']:g}",
             f"{fmt(g['value'])} {g['status'].upper()}",
             f"{fmt(by_metric_b.get(g['metric'], {}).get('value'))} {by_metric_b.get(g['metric'], {}).get('status', 'not measured').upper()}"]
            for g in (ga or {}).get("gates", [])]), ""]
    if c["plots"]:
        out += ["## Plots", ""] + [f"![{p[:-4]}]({p})" for p in c["plots"]] + [""]
    notes = [f"A: {n}" for n in c["a"]["notes"]] + [f"B: {n}" for n in c["b"]["notes"]]
    if notes:
        out += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(out)


def write_comparison(a: Analysis, b: Analysis, out: Path) -> list[Path]:
    from cargogym.tasks.record import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    c = compare(a, b)
    if a.cfg.plots and any(r["a"] is not None and r["b"] is not None for r in c["differences"]):
        try:
            from cargogym.eval import plots

            rates = [r for r in c["differences"] if METRICS[r["metric"]].unit in ("rate", "divergence")]
            plots.compare_metrics(rates, _labels(a, b), out / "compare_metrics.png")
            c["plots"].append("compare_metrics.png")
        except Exception as e:  # a broken plot must not lose the report
            c["a"]["notes"].append(f"plot compare_metrics.png failed: {e.__class__.__name__}: {e}")
    atomic_write_text(out / "report.md", render_markdown(c, a, b))
    write_json(out / "summary.json", c)
    return [out / "report.md", out / "summary.json", *(out / p for p in c["plots"])]
