"""Evaluation settings (``configs/eval.yaml``), loaded with :func:`cargogym.config.load_config`."""

from __future__ import annotations

from dataclasses import dataclass

from cargogym.config import ConfigError


@dataclass
class EvalConfig:
    bootstrap_resamples: int = 1000    # resamples per interval
    confidence: float = 0.95           # interval coverage
    seed: int = 0                      # bootstrap seed (same input + seed -> same intervals)
    exclude_infra_errors: bool = True  # leave status == "infra_error" episodes out of metrics
    plots: bool = True                 # write PNG plots (matplotlib, Agg backend)
    max_groups_in_plot: int = 40       # crates/families shown in a bar plot (largest first)
    output_dir: str = "eval"           # report folder, relative to the (first) run directory
    gates_file: str = "promotion_gates"  # config name or path of the promotion gates
    report_stages: list[str] | None = None  # stages checked in the report; None = every stage

    def validate(self) -> "EvalConfig":
        if self.bootstrap_resamples < 0:
            raise ConfigError(f"bootstrap_resamples must be >= 0, got {self.bootstrap_resamples}")
        if not 0.0 < self.confidence < 1.0:
            raise ConfigError(f"confidence must be in (0, 1), got {self.confidence}")
        if self.max_groups_in_plot < 1:
            raise ConfigError(f"max_groups_in_plot must be >= 1, got {self.max_groups_in_plot}")
        if self.report_stages is not None and (
            not isinstance(self.report_stages, list) or not all(isinstance(s, str) for s in self.report_stages)
        ):
            raise ConfigError(f"report_stages must be a list of stage names, got {self.report_stages!r}")
        return self


def load_eval_config(name_or_path: str = "eval", overrides: list[str] | None = None) -> EvalConfig:
    from cargogym.config import load_config

    return load_config(EvalConfig, name_or_path, overrides).validate()
