"""``cargogym bench NAME``: run a benchmark script ``benchmarks/bench_NAME.py`` (or ``all``)."""

from __future__ import annotations

import importlib
from pathlib import Path

import typer

app = typer.Typer(help="Benchmarks: each prints a table and writes benchmarks/results/<name>.json.",
                  no_args_is_help=True)
BENCH_DIR = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(p.stem[len("bench_"):] for p in BENCH_DIR.glob("bench_*.py"))


@app.command("list")
def list_benchmarks() -> None:
    """List the benchmarks."""
    for name in available():
        typer.echo(name)


@app.command("run")
def run(name: str = typer.Argument(..., help="benchmark name or 'all'"),
        args: list[str] = typer.Argument(None, help="extra arguments for the benchmark")) -> None:
    """Run one benchmark (or all of them)."""
    names = available() if name == "all" else [name]
    unknown = [n for n in names if n not in available()]
    if unknown:
        typer.echo(f"unknown benchmark {unknown[0]!r}; available: {', '.join(available())}", err=True)
        raise typer.Exit(code=2)
    for n in names:
        module = importlib.import_module(f"cargogym.benchmarks.bench_{n}")
        module.main(list(args or []))
