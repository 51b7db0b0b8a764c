"""Regenerate the README's benchmark table from benchmarks/results/*.json.

    python -m cargogym.benchmarks.readme_table     # rewrites the block between the markers

Each row: the benchmark, what was measured, the median result and the goal from the issues.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def _load(name: str) -> dict | None:
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def _rows() -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    if (d := _load("sandbox")):
        for r in d.get("rows", []):
            m = r.get("measure", "")
            if m.startswith("reset() (overlay)"):
                rows.append(("sandbox", "reset(), overlay workspace", f"{r['median_s'] * 1000:.1f} ms", "≤ 50 ms"))
            elif m.startswith("reset() (copy)"):
                rows.append(("sandbox", "reset(), copy fallback", f"{r['median_s'] * 1000:.1f} ms", "≤ 50 ms"))
            elif m.startswith("first run_tests after an edit (ours"):
                rows.append(("sandbox", "first run_tests after an edit vs raw cargo test", f"{r['median_s']:.3f} s "
                             f"({r.get('detail', '')})", "ratio ≤ 1.10"))
            elif "docker" in m:
                rows.append(("sandbox", "first run_tests, docker backend", f"{r['median_s']:.3f} s", "—"))
    if (d := _load("env")):
        for r in d.get("rows", []):
            if r["operation"] in ("run_tests", "apply_patch", "reset"):
                rows.append(("env", f"step overhead: {r['operation']}", f"{r['overhead_ms']:+.2f} ms "
                             f"(raw {r['raw_ms']:.1f} ms)", "small vs cargo"))
    if (d := _load("tasks")):
        for r in d.get("rows", []):
            if r.get("workers") == 2:
                rows.append(("tasks", "validated tasks per minute, 2 workers", f"{r['tasks/min']:.1f}", "≥ 30"))
    if (d := _load("harmony")):
        for r in d.get("rows", []):
            if r["operation"].startswith(("render_prompt (warm", "parse_completion (ids")):
                rows.append(("harmony", f"{r['operation']}, {r['tokens']} tokens", f"{r['median_ms']:.2f} ms", "—"))
    if (d := _load("training")):
        for r in d.get("rows", []):
            if r.get("what", "").startswith(("values(mean)", "mean:")):
                rows.append(("training", f"value iteration + pairs + advantages + SFT sets, {r['trees']} trees "
                             f"({r['nodes']} nodes, 27 leaves each)",
                             f"{r['median_s']:.2f} s", "≤ 1 s"))
            elif "median_step_s" in r:
                rows.append(("training", f"GRPO step, tiny GPT-OSS {r['device']} ({r['loss']}, batch {r['batch']})",
                             f"{r['median_step_s']:.2f} s", "—"))
    if (d := _load("rollouts")):
        for r in d.get("rows", []):
            goal = "≥ 1.7" if "speed-up" in r["metric"] else "—"
            rows.append(("rollouts", r["metric"], f"{r['value']:.3g}", goal))
    return rows


def render() -> str:
    lines = ["| benchmark | measure | median | goal |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in _rows()]
    return "\n".join(lines)


def main(argv=None) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    if BEGIN not in text:
        raise SystemExit("README.md has no benchmark markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{render()}\n{END}{tail}")
    print(render())


if __name__ == "__main__":
    main()
