"""Data-generation settings: ``configs/data.yaml`` loaded into :class:`DataConfig`."""

from __future__ import annotations

from dataclasses import dataclass, field

from cargogym.config import ConfigError


@dataclass
class DataConfig:
    tasks: str | None = None
    families: list = field(default_factory=list)
    limit: int | None = None
    variants: list = field(default_factory=lambda: ["multi_role", "solo", "delegate", "solo_partial"])
    episodes_per_task: int = 1
    workers: int = 2
    env_kwargs: dict = field(default_factory=dict)
    endpoint: str | None = None
    endpoint_env: str = "RustRepo-v0"
    keep_unresolved: bool = False
    formatter: str = "harmony"
    seed: int = 0
    max_steps: int = 80
    out: str | None = None
    validate: bool = True

    def __post_init__(self) -> None:
        from cargogym.datagen.teacher import VARIANTS
        from cargogym.harmony.formatters import FORMATTERS

        bad = [v for v in self.variants if v not in VARIANTS]
        if bad:
            raise ConfigError(f"data config: unknown variant(s) {bad}; choose from {list(VARIANTS)}")
        if self.formatter not in FORMATTERS:
            raise ConfigError(f"data config: formatter must be one of {sorted(FORMATTERS)}, got {self.formatter!r}")
        for key in ("episodes_per_task", "workers", "max_steps"):
            if getattr(self, key) < 1:
                raise ConfigError(f"data config: {key} must be >= 1")


def load_data_config(name_or_path: str = "data", overrides: list[str] | None = None) -> DataConfig:
    from cargogym.config import load_config

    return load_config(DataConfig, name_or_path, overrides)
