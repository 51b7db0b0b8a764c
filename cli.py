"""The ``cargogym`` command line (typer + rich).

Each subcommand lives with the module it drives (``tasks/cli.py``, ``rollouts/cli.py``, ...);
this file only wires them up, lazily, so ``cargogym --help`` stays fast and a missing optional
part says so instead of failing the whole CLI. Errors the user can fix (bad config key, bad task
file, missing cargo) print one clear line and exit with status 2 — never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import typer
from rich.console import Console

console = Console(stderr=True)
app = typer.Typer(
    name="cargogym",
    help="RL environments in which an LLM agent fixes Rust crates, rewarded by cargo.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# name -> (module, attribute, kind): kind "group" is a typer.Typer, "command" a function.
SUBCOMMANDS: dict[str, tuple[str, str, str, str]] = {
    "tasks": ("cargogym.tasks.cli", "app", "group", "Generate and inspect Rust tasks."),
    "rollout": ("cargogym.rollouts.cli", "rollout", "command", "Run episodes in parallel on Ray."),
    "malt": ("cargogym.training.cli", "malt", "command", "Sample MALT generator/verifier/refiner trees."),
    "train": ("cargogym.training.cli", "train_app", "group", "GRPO / SFT / DPO training."),
    "data": ("cargogym.datagen.cli", "app", "group", "Teacher trajectories, decomposition, pairs, mixes."),
    "eval": ("cargogym.eval.cli", "eval_command", "command", "Metrics, plots and report of a run."),
    "gates": ("cargogym.eval.cli", "gates_command", "command", "Check promotion gates; non-zero exit on failure."),
    "rescore": ("cargogym.rewards.cli", "rescore", "command", "Recompute rewards of stored trajectories."),
    "bench": ("cargogym.benchmarks.cli", "app", "group", "Run the benchmarks under benchmarks/."),
    "demo": ("cargogym.demo", "demo", "command", "The main job: tasks → rollouts → MALT → GRPO → eval."),
}


def _placeholder(name: str, reason: str):
    def _missing() -> None:
        console.print(f"[yellow]cargogym {name}: not available yet ({reason})[/yellow]")
        raise typer.Exit(code=2)

    _missing.__doc__ = f"(not available: {reason})"
    return _missing


def _register() -> None:
    for name, (module, attr, kind, help_text) in SUBCOMMANDS.items():
        try:
            obj: Any = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            app.command(name=name, help=f"{help_text} (not available: {e})")(_placeholder(name, str(e)))
            continue
        if kind == "group":
            app.add_typer(obj, name=name, help=help_text)
        else:
            app.command(name=name, help=help_text)(obj)


_register()

# Exceptions whose message is meant for the user: printed as one line, exit 2.
def _user_errors() -> tuple[type[BaseException], ...]:
    from cargogym.config import ConfigError
    from cargogym.tasks.record import TaskFormatError

    errors: list[type[BaseException]] = [ConfigError, TaskFormatError, FileNotFoundError]
    try:
        from cargogym.errors import CargogymError

        errors.append(CargogymError)
    except ImportError:
        pass
    return tuple(errors)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    try:
        app(args=argv if argv is not None else sys.argv[1:], standalone_mode=True)
    except _user_errors() as e:  # type: ignore[misc]
        console.print(f"[red]cargogym: {e}[/red]")
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("[yellow]cargogym: interrupted[/yellow]")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
