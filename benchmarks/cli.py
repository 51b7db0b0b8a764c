"""``cargogym bench``: run a benchmark script ``benchmarks/bench_NAME.py`` (or ``all``).

Settings: ``configs/bench.yaml`` (:class:`BenchConfig`), ``--config`` / ``--set key=value`` like every
other command: which benchmarks ``all`` runs and the arguments each one gets (the arguments given
after NAME on the command line come last, so they win).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import typer

from cargogym.config import ConfigError

app = typer.Typer(help="Benchmarks: each prints a table and writes benchmarks/results/<name>.json.",
                  no_args_is_help=True)
BENCH_DIR = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(p.stem[len("bench_"):] for p in BENCH_DIR.glob("bench_*.py"))


@dataclass
class BenchConfig:
    all: list | None = None                      # what `bench run all` runs; None = every benchmark
    args: dict = field(default_factory=dict)     # benchmark name -> extra arguments (list of strings)

    def validate(self) -> "BenchConfig":
        known = available()
        bad = [n for n in list(self.all or []) + list(self.args) if n not in known]
        if bad:
            raise ConfigError(f"bench config: unknown benchmark(s) {', '.join(map(repr, bad))}; "
                              f"available: {', '.join(known)}")
        for name, extra in self.args.items():
            if not isinstance(extra, list) or not all(isinstance(a, (str, int, float)) for a in extra):
                raise ConfigError(f"bench config: args.{name} must be a list of arguments, got {extra!r}")
        return self

    def plan(self, name: str, cli_args: list[str]) -> list[tuple[str, list[str]]]:
        """(benchmark, argv) to run for ``name`` (a benchmark or ``all``)."""
        names = (list(self.all) if self.all is not None else available()) if name == "all" else [name]
        return [(n, [str(a) for a in self.args.get(n, [])] + list(cli_args)) for n in names]


def load_bench_config(name_or_path: str = "bench", overrides: list[str] | None = None) -> BenchConfig:
    from cargogym.config import load_config

    return load_config(BenchConfig, name_or_path, overrides).validate()


@app.command("list")
def list_benchmarks() -> None:
    """List the benchmarks."""
    for name in available():
        typer.echo(name)


@app.command("run", context_settings={"allow_interspersed_args": False})
def run(name: str = typer.Argument(..., help="benchmark name or 'all'"),
        args: list[str] = typer.Argument(None, help="extra arguments for the benchmark"),
        config: str = typer.Option("bench", "--config", "-c", help="YAML under configs/ or a path"),
        overrides: Optional[list[str]] = typer.Option(None, "--set", help="config override key=value (repeatable)")) -> None:
    """Run one benchmark (or all of them). Options go before NAME; what follows NAME goes to the benchmark."""
    if name != "all" and name not in available():
        typer.echo(f"unknown benchmark {name!r}; available: {', '.join(available())}", err=True)
        raise typer.Exit(code=2)
    cfg = load_bench_config(config, overrides or [])
    for n, argv in cfg.plan(name, list(args or [])):
        module = importlib.import_module(f"cargogym.benchmarks.bench_{n}")
        module.main(argv)
