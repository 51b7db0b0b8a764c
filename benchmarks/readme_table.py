"""Regenerate the README's benchmark table from benchmarks/results/*.json.

    python -m cargogym.benchmarks.readme_table     # rewrites the block between the markers

Each row: the benchmark, what was measured, the median result, the goal from the issues and
whether the goal was met (computed from the unrounded value, so a 1.696x speed-up against a
goal of >= 1.7 reads "missed", never a rounded "1.7"). Ratios print with three decimals.
"""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
MET, MISSED, NO_GOAL = "met", "missed", "—"


@dataclass(frozen=True)
class Goal:
    """``value <op> threshold``; ``text`` is how the README shows it."""

    op: str          # ">=" or "<="
    threshold: float
    text: str

    def met(self, value: float) -> bool:
        return {">=": operator.ge, "<=": operator.le}[self.op](value, self.threshold)


@dataclass(frozen=True)
class Row:
    bench: str
    measure: str
    shown: str
    goal: Goal | str = NO_GOAL     # a Goal, or text of a goal that is not a number (never judged)
    value: float | None = None     # the unrounded number the goal is checked against

    @property
    def goal_text(self) -> str:
        return self.goal.text if isinstance(self.goal, Goal) else self.goal

    @property
    def status(self) -> str:
        if not isinstance(self.goal, Goal) or self.value is None:
            return NO_GOAL
        return MET if self.goal.met(self.value) else MISSED


def ratio(x: float) -> str:
    """A ratio with three decimals: 1.6964 -> "1.696" (not "1.7")."""
    return f"{x:.3f}"


def _load(name: str) -> dict | None:
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def _rows() -> list[Row]:
    rows: list[Row] = []
    reset_goal = Goal("<=", 0.050, "≤ 50 ms")
    if (d := _load("sandbox")):
        for r in d.get("rows", []):
            m = r.get("measure", "")
            if m.startswith("reset() (overlay)"):
                rows.append(Row("sandbox", "reset(), overlay workspace", f"{r['median_s'] * 1000:.1f} ms", reset_goal,
                                r["median_s"]))
            elif m.startswith("reset() (copy)"):
                rows.append(Row("sandbox", "reset(), copy fallback", f"{r['median_s'] * 1000:.1f} ms", reset_goal,
                                r["median_s"]))
            elif m.startswith("first run_tests after an edit (ours"):
                rows.append(Row("sandbox", "first run_tests after an edit vs raw cargo test",
                                f"{r['median_s']:.3f} s ({r.get('detail', '')})", Goal("<=", 1.10, "ratio ≤ 1.10"),
                                d.get("ratio_vs_raw_same_env")))
            elif "docker" in m:
                rows.append(Row("sandbox", "first run_tests, docker backend", f"{r['median_s']:.3f} s"))
    if (d := _load("env")):
        for r in d.get("rows", []):
            if r["operation"] in ("run_tests", "apply_patch", "reset"):
                rows.append(Row("env", f"step overhead: {r['operation']}", f"{r['overhead_ms']:+.2f} ms "
                                f"(raw {r['raw_ms']:.1f} ms)", "small vs cargo"))
    if (d := _load("tasks")):
        for r in d.get("rows", []):
            if r.get("workers") == 2:
                rows.append(Row("tasks", "validated tasks per minute, 2 workers", f"{r['tasks/min']:.1f}",
                                Goal(">=", 30.0, "≥ 30"), r["tasks/min"]))
    if (d := _load("harmony")):
        for r in d.get("rows", []):
            if r["operation"].startswith(("render_prompt (warm", "parse_completion (ids")):
                rows.append(Row("harmony", f"{r['operation']}, {r['tokens']} tokens", f"{r['median_ms']:.2f} ms"))
    if (d := _load("training")):
        for r in d.get("rows", []):
            if r.get("what", "").startswith(("values(mean)", "mean:")):
                rows.append(Row("training", f"value iteration + pairs + advantages + SFT sets, {r['trees']} trees "
                                f"({r['nodes']} nodes, 27 leaves each)", f"{r['median_s']:.2f} s",
                                Goal("<=", 1.0, "≤ 1 s"), r["median_s"]))
            elif "median_step_s" in r:
                rows.append(Row("training", f"GRPO step, tiny GPT-OSS {r['device']} ({r['loss']}, batch {r['batch']})",
                                f"{r['median_step_s']:.2f} s"))
    if (d := _load("rollouts")):
        for r in d.get("rows", []):
            if "speed-up" in r["metric"]:
                rows.append(Row("rollouts", r["metric"], ratio(r["value"]), Goal(">=", 1.7, "≥ 1.7"), r["value"]))
            else:
                rows.append(Row("rollouts", r["metric"], f"{r['value']:.3g}"))
    if (d := _load("datagen")):
        goal = d.get("goal_trajectories", 100)
        n, wall = d.get("grounded_multi_role_trajectories", 0), d.get("wall_s") or 0.0
        rows.append(Row("datagen", f"grounded multi-role teacher trajectories ({d.get('episodes')} episodes, "
                        f"{d.get('workers')} workers)", f"{n} in {wall / 60:.1f} min",
                        Goal(">=", float(goal), f"≥ {goal}"), float(n)))
    return rows


def render(rows: list[Row] | None = None) -> str:
    rows = _rows() if rows is None else rows
    lines = ["| benchmark | measure | median | goal | goal met |", "|---|---|---|---|---|"]
    lines += [f"| {r.bench} | {r.measure} | {r.shown} | {r.goal_text} | {r.status} |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    if BEGIN not in text:
        raise SystemExit("README.md has no benchmark markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    table = render()
    readme.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")
    print(table)


if __name__ == "__main__":
    main()
