"""``cargogym tasks``: generate, show, stats, import-swebench, operators."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Generate and inspect Rust tasks.")
console = Console()


def _reasons(d: dict) -> str:
    return ", ".join(f"{k}:{v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1])) or "-"


def summary_tables(summary: dict) -> list[Table]:
    """Rich tables of a generation summary (per crate, per family, per operator)."""
    tables = []
    for by, title in (("crate", "per crate"), ("family", "per family"), ("operator", "per operator")):
        t = Table(title=f"Validation {title}")
        t.add_column(by)
        t.add_column("candidates", justify="right")
        t.add_column("kept", justify="right")
        if by != "operator":
            t.add_column("tasks", justify="right")
        t.add_column("discard reasons")
        for row in summary[f"by_{by}"]:
            cells = [row[by], str(row["candidates"]), str(row["kept"])]
            if by != "operator":
                cells.append(str(row["tasks"]))
            t.add_row(*cells, _reasons(row["reasons"]))
        tables.append(t)
    fams = sorted({f for c in summary["tasks"].values() for f in c})
    t = Table(title=f"Tasks: {summary['tasks_total']} in {summary['seconds']:.0f} s "
                    f"({summary['tasks_per_minute']} tasks/min, {summary['builds']} builds; "
                    f"{summary.get('rechecked_bug_candidates', 0)} failed bug builds re-tried by cargo check)")
    t.add_column("crate")
    for f in fams:
        t.add_column(f, justify="right")
    t.add_column("total", justify="right")
    for crate, per in summary["tasks"].items():
        t.add_row(crate, *[str(per.get(f, 0)) for f in fams], str(sum(per.values())))
    tables.append(t)
    return tables


@app.command()
def generate(
    crates: str = typer.Option("all", help="'all' or comma-separated built-in names / crate folders"),
    per_crate: Optional[int] = typer.Option(None, help="tasks per crate (split over the families)"),
    families: Optional[str] = typer.Option(None, help="comma-separated families (default: all five)"),
    seed: Optional[int] = typer.Option(None, help="random seed (same seed, same tasks)"),
    out: Path = typer.Option(Path("tasks.jsonl"), help="output JSONL (written atomically at the end)"),
    workers: Optional[int] = typer.Option(None, help="parallel cargo workers"),
    config: Optional[str] = typer.Option(None, help="config name or YAML path (default configs/tasks.yaml)"),
    set_: list[str] = typer.Option([], "--set", help="config override key=value (repeatable)"),
    summary_json: Optional[Path] = typer.Option(None, help="also write the summary as JSON here"),
) -> None:
    """Synthesise validated tasks from crates and write them as JSONL."""
    from cargogym.tasks.generate import family_quotas, generate as run_generate, load_taskgen_config
    from cargogym.tasks.record import write_tasks
    from cargogym.tasks.corpus import resolve_crates

    overrides = list(set_) + [f"crates={crates}"]
    if per_crate is not None:
        overrides.append(f"per_crate={per_crate}")
    if seed is not None:
        overrides.append(f"seed={seed}")
    if workers is not None:
        overrides.append(f"workers={workers}")
    cfg = load_taskgen_config(config, overrides)
    if families is not None:
        cfg.families = [f.strip() for f in families.split(",") if f.strip()]
    names = list(resolve_crates(cfg.crates))
    quota = sum(family_quotas(cfg.per_crate, list(cfg.families), dict(cfg.family_weights)).values())
    counts: Counter = Counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[info]}"), console=console, transient=False) as bar:
        tid = bar.add_task("tasks", total=quota * len(names), info="")

        def progress(kind: str, info: dict) -> None:
            if kind == "crate_start":
                bar.update(tid, description=f"{info['crate']}: building")
            elif kind == "crate_ready":
                bar.update(tid, description=f"{info['crate']} ({info['tests']} tests)")
            elif kind == "candidate":
                counts[info["reason"]] += 1
                bar.update(tid, info=f"validated {sum(counts.values())}, kept {counts['kept']}")
            elif kind == "task":
                bar.advance(tid)

        tasks, summary = run_generate(cfg, progress)
    n = write_tasks(out, tasks)
    d = summary.to_dict()
    for t in summary_tables(d):
        console.print(t)
    if summary_json is not None:
        from cargogym.tasks.record import atomic_write_text

        atomic_write_text(summary_json, json.dumps(d, indent=1) + "\n")
    console.print(f"wrote {n} tasks to {out}")


def _load(path: Path):
    from cargogym.tasks.record import read_tasks

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such task file")
    return read_tasks(path)


@app.command()
def show(path: Path = typer.Argument(..., help="task JSONL"),
         instance_id: Optional[str] = typer.Argument(None, help="instance id (default: the first task)"),
         patch: bool = typer.Option(False, help="also print the gold patch")) -> None:
    """Print one task: fields, problem statement (and the gold patch with --patch)."""
    from cargogym.tasks.record import TaskFormatError

    tasks = _load(path)
    if not tasks:
        raise TaskFormatError(f"{path}: no tasks")
    task = tasks[0] if instance_id is None else next((t for t in tasks if t.instance_id == instance_id), None)
    if task is None:
        raise TaskFormatError(f"{path}: no task with instance_id {instance_id!r}")
    t = Table(title=task.instance_id, show_header=False)
    for key in ("repo", "family", "difficulty", "bug_kinds", "files", "n_bugs", "base_commit"):
        t.add_row(key, str(getattr(task, key)))
    t.add_row("FAIL_TO_PASS", f"{len(task.FAIL_TO_PASS)}: " + ", ".join(task.FAIL_TO_PASS[:4]))
    t.add_row("PASS_TO_PASS", str(len(task.PASS_TO_PASS)))
    if task.review:
        t.add_row("review label", task.review.get("label", "?"))
    console.print(t)
    console.print(task.problem_statement, markup=False, highlight=False)
    if patch and task.patch:
        console.print("\n[bold]gold patch[/bold]")
        console.print(task.patch, markup=False, highlight=False)


@app.command()
def stats(path: Path = typer.Argument(..., help="task JSONL")) -> None:
    """Counts of a task file per crate × family, and per bug kind."""
    tasks = _load(path)
    per: Counter = Counter((t.crate, t.family) for t in tasks)
    fams = sorted({f for _, f in per})
    t = Table(title=f"{len(tasks)} tasks in {path}")
    t.add_column("crate")
    for f in fams:
        t.add_column(f, justify="right")
    t.add_column("total", justify="right")
    for crate in sorted({c for c, _ in per}):
        t.add_row(crate, *[str(per[(crate, f)]) for f in fams], str(sum(per[(crate, f)] for f in fams)))
    console.print(t)
    kinds = Counter(k for task in tasks for k in task.bug_kinds)
    k = Table(title="bug kinds")
    k.add_column("operator")
    k.add_column("tasks", justify="right")
    for name, n in kinds.most_common():
        k.add_row(name, str(n))
    console.print(k)
    labels = Counter(task.review.get("label") for task in tasks if task.review)
    if labels:
        console.print(f"review labels: {dict(labels)}")


@app.command("import-swebench")
def import_swebench(src: Path = typer.Argument(..., help="SWE-bench-format JSONL/JSON with local crate repos"),
                    out: Path = typer.Argument(..., help="output task JSONL")) -> None:
    """Check SWE-bench-format instances (local crate repos) and write them as cargogym tasks."""
    from cargogym.tasks.record import write_tasks
    from cargogym.tasks.swebench import load_swebench

    tasks = load_swebench(src)
    n = write_tasks(out, tasks)
    bare = sum(1 for t in tasks if t.extra.get("unqualified_tests"))
    console.print(f"wrote {n} tasks to {out}" + (f" ({bare} with unqualified test names)" if bare else ""))


@app.command()
def operators() -> None:
    """List the mutation operators."""
    from cargogym.tasks.operators import OPERATORS

    t = Table(title=f"{len(OPERATORS)} operators")
    t.add_column("name")
    t.add_column("intent")
    t.add_column("what it does")
    for op in OPERATORS.values():
        t.add_row(op.name, op.intent, " ".join(op.doc.replace("``", "`").split()))
    console.print(t)
