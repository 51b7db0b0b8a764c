"""``cargogym eval`` and ``cargogym gates`` (wired by the top-level CLI).

Exit codes: 0 success (gates: every gate passed); 1 a gate failed or was not measured;
2 bad input (missing run directory, empty trajectories, bad config) — one line on stderr, no
traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cargogym.config import ConfigError
from cargogym.errors import CargogymError


def _out_console() -> Console:
    return Console(width=None if sys.stdout.isatty() else 120, highlight=False)


def _fail(command: str, message: str) -> typer.Exit:
    Console(stderr=True, highlight=False).print(f"[red]cargogym {command}: {escape(message)}[/red]", soft_wrap=True)
    return typer.Exit(code=2)


def _status_text(status: str) -> str:
    return {"pass": "[green]PASS[/green]", "fail": "[red]FAIL[/red]"}.get(status, "[yellow]NOT MEASURED[/yellow]")


def eval_command(
    runs: Annotated[list[Path], typer.Argument(help="RUN_DIR, or RUN_A RUN_B to compare two runs.", show_default=False)],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Report folder (default: RUN_DIR/eval, or RUN_A/eval/compare_vs_<B>).")] = None,
    config: Annotated[str, typer.Option("--config", "-c", help="Eval config name under configs/ or a YAML path.")] = "eval",
    overrides: Annotated[Optional[list[str]], typer.Option("--set", help="Config override key=value (repeatable).")] = None,
    stage: Annotated[Optional[list[str]], typer.Option("--stage", help="Gate stage(s) checked in the report (default: all).")] = None,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the PNG plots.")] = False,
) -> None:
    """Metrics with 95% bootstrap intervals, gates, plots, report.md and summary.json of a run (or two)."""
    try:
        paths = _eval(runs, out, config, overrides or [], stage or [], no_plots)
    except (CargogymError, ConfigError) as e:
        raise _fail("eval", str(e))
    except OSError as e:
        raise _fail("eval", f"cannot write the report: {e.strerror or e} ({getattr(e, 'filename', '') or ''})")
    _out_console().print(f"report written to {paths[0].parent}: " + ", ".join(p.name for p in paths))


def _eval(runs: list[Path], out: Path | None, config: str, overrides: list[str], stage_names: list[str],
          no_plots: bool) -> list[Path]:
    from cargogym.eval.gates import load_stage, load_stages
    from cargogym.eval.report import analyze, fmt_ci, fmt_value, write_report
    from cargogym.eval.runs import load_run
    from cargogym.eval.settings import load_eval_config

    if len(runs) not in (1, 2):
        raise CargogymError(f"expected one run directory, or two to compare; got {len(runs)}")
    cfg = load_eval_config(config, overrides)
    if no_plots:
        cfg.plots = False
    names = stage_names or cfg.report_stages
    stages = {n: load_stage(n, cfg.gates_file) for n in names} if names is not None else load_stages(cfg.gates_file)
    loaded = [load_run(r) for r in runs]
    analyses = [analyze(r, cfg, stages) for r in loaded]
    console = _out_console()
    if len(analyses) == 1:
        a = analyses[0]
        dest = out or _default_out(loaded[0].path, cfg.output_dir)
        table = Table(title=f"cargogym eval: {a.run.name} ({len(a.run.episodes)} episodes)")
        for col in ("metric", "value", "95% CI", "n"):
            table.add_column(col, justify="left" if col == "metric" else "right")
        for name, r in a.results.items():
            table.add_row(name, fmt_value(r), fmt_ci(r.ci), str(r.n))
        console.print(table)
        return write_report(a, dest)

    from cargogym.eval.compare import differences, write_comparison
    from cargogym.eval.report import fmt

    a, b = analyses
    dest = out or (_default_out(loaded[0].path, cfg.output_dir) / f"compare_vs_{b.run.name}")
    table = Table(title=f"cargogym eval: {a.run.name} (A) vs {b.run.name} (B)")
    for col in ("metric", "A", "B", "A − B", "95% CI of A − B"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for row in differences(a, b):
        d = "—" if row["diff"] is None else f"{row['diff']:+.3f}{'*' if row['significant'] else ''}"
        table.add_row(row["metric"], fmt(row["a"]), fmt(row["b"]), d, fmt_ci(row["diff_ci95"]))
    console.print(table)
    return write_comparison(a, b, dest)


def _default_out(run_path: Path, output_dir: str) -> Path:
    base = run_path if run_path.is_dir() else run_path.parent
    return base / output_dir


def gates_command(
    run_dir: Annotated[Path, typer.Argument(help="Run directory (holds trajectories.jsonl).", show_default=False)],
    stage: Annotated[str, typer.Option("--stage", help="Stage name in the gates file, e.g. grpo_to_production_multiagent.")] = "grpo_to_production_multiagent",
    gates_file: Annotated[Optional[str], typer.Option("--gates", help="Gates YAML (default: configs/promotion_gates.yaml).")] = None,
    config: Annotated[str, typer.Option("--config", "-c", help="Eval config name under configs/ or a YAML path.")] = "eval",
    overrides: Annotated[Optional[list[str]], typer.Option("--set", help="Config override key=value (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the gate results as JSON instead of a table.")] = False,
) -> None:
    """Check a run against a promotion stage; exit 1 when any gate fails or is not measured."""
    import json

    from cargogym.eval.gates import all_passed, check_stage, load_stage
    from cargogym.eval.metrics import evaluate
    from cargogym.eval.report import fmt_ci, fmt_value, json_safe
    from cargogym.eval.runs import load_run
    from cargogym.eval.settings import load_eval_config

    try:
        cfg = load_eval_config(config, overrides or [])
        st = load_stage(stage, gates_file or cfg.gates_file)
        run = load_run(run_dir)
    except (CargogymError, ConfigError) as e:
        raise _fail("gates", str(e))
    names = sorted({g.metric for g in st.gates})
    results = evaluate(run.episodes, names, cfg.bootstrap_resamples, cfg.seed, cfg.confidence, cfg.exclude_infra_errors)
    checked = check_stage(st, results)
    passed = all_passed(checked)
    console = _out_console()
    if as_json:
        print(json.dumps(json_safe({"run": str(run.path), "stage": st.name, "passed": passed,
                                    "gates": [g.to_dict() for g in checked]}), indent=2))
    else:
        conf = int(round(cfg.confidence * 100))
        table = Table(title=f"promotion gates: {st.name} — {run.name} ({len(run.episodes)} episodes)")
        for col in ("metric", "threshold", "value", f"{conf}% CI", "n", "pass"):
            table.add_column(col, justify="left" if col in ("metric", "pass") else "right")
        for g in checked:
            table.add_row(g.gate.metric, g.gate.describe(), fmt_value(g.result),
                          fmt_ci(g.result.ci if g.result else None), str(g.result.n if g.result else 0),
                          _status_text(g.status))
        console.print(table)
        for g in checked:
            if g.status == "not measured" and g.reason:
                console.print(f"not measured: {g.gate.metric}: {escape(g.reason)}")
        for note in run.notes:
            console.print(f"note: {escape(note)}")
        failed = [g.gate.metric for g in checked if not g.passed]
        console.print("[green]all gates passed[/green]" if passed else
                      f"[red]{len(failed)} of {len(checked)} gate(s) not passed: {', '.join(failed)}[/red]")
    if not passed:
        raise typer.Exit(code=1)
