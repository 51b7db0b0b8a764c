"""Promotion gates: thresholds on metrics that a run must meet to move to the next stage.

``configs/promotion_gates.yaml``::

    stages:
      <stage name>:
        description: "..."          # optional
        gates:
          <metric>: 0.85             # shorthand for {min: 0.85}
          <metric>: {max: 0.2}       # lower-is-better metric
          <metric>: {min: 0.7, min_n: 30, use: ci_low}

``min``/``max``: the threshold and its direction (value >= min, value <= max). ``min_n``
(default 1): fewer units than that and the gate is *not measured*. ``use``: compare the point
``value`` (default) or a bound of the 95 % interval (``ci_low``/``ci_high``, stricter).
A metric that is not measured never passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cargogym.config import ConfigError, read_yaml, resolve_config_path
from cargogym.eval.metrics import METRICS, MetricResult

DEFAULT_GATES = "promotion_gates"
PASS, FAIL, NOT_MEASURED = "pass", "fail", "not measured"


@dataclass(frozen=True)
class Gate:
    metric: str
    threshold: float
    direction: str = "min"   # "min": value >= threshold; "max": value <= threshold
    min_n: int = 1
    use: str = "value"       # "value" | "ci_low" | "ci_high"

    def describe(self) -> str:
        op = "≥" if self.direction == "min" else "≤"
        extra = "" if self.use == "value" else f" ({self.use})"
        return f"{op} {self.threshold:g}{extra}"


@dataclass
class GateResult:
    gate: Gate
    result: MetricResult | None
    status: str              # pass | fail | not measured
    compared: float | None   # the number compared with the threshold

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "metric": self.gate.metric, "threshold": self.gate.threshold, "direction": self.gate.direction,
            "use": self.gate.use, "min_n": self.gate.min_n, "status": self.status,
            "value": r.value if r else None, "n": r.n if r else 0,
            "ci95": list(r.ci) if (r and r.ci) else None,
        }


@dataclass
class Stage:
    name: str
    gates: list[Gate]
    description: str = ""


def _number(x: Any, where: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ConfigError(f"{where}: expected a number, got {x!r}")
    return float(x)


def parse_gate(metric: str, spec: Any, where: str) -> Gate:
    """One gate from its YAML form (a number, or a mapping with min|max, min_n, use)."""
    if metric not in METRICS:
        raise ConfigError(f"{where}: unknown metric {metric!r}; known metrics: {', '.join(METRICS)}")
    if not isinstance(spec, dict):
        return Gate(metric, _number(spec, f"{where}: gate {metric!r}"))
    unknown = sorted(str(k) for k in set(spec) - {"min", "max", "min_n", "use"})
    if unknown:
        raise ConfigError(f"{where}: gate {metric!r}: unknown key(s) {', '.join(unknown)}; known: max, min, min_n, use")
    if ("min" in spec) == ("max" in spec):
        raise ConfigError(f"{where}: gate {metric!r} needs exactly one of 'min' or 'max'")
    direction = "min" if "min" in spec else "max"
    min_n = spec.get("min_n", 1)
    if isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 1:
        raise ConfigError(f"{where}: gate {metric!r}: min_n must be a positive integer, got {min_n!r}")
    use = spec.get("use", "value")
    if use not in ("value", "ci_low", "ci_high"):
        raise ConfigError(f"{where}: gate {metric!r}: 'use' must be value, ci_low or ci_high, got {use!r}")
    return Gate(metric, _number(spec[direction], f"{where}: gate {metric!r}"), direction, min_n, use)


def load_stages(path: str | Path | None = None) -> dict[str, Stage]:
    """All stages of a gates file (default ``configs/promotion_gates.yaml``)."""
    file = resolve_config_path(path or DEFAULT_GATES)
    data = read_yaml(file)
    unknown = sorted(set(data) - {"stages"})
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)} in {file}; known keys: stages")
    stages_raw = data.get("stages")
    if not isinstance(stages_raw, dict) or not stages_raw:
        raise ConfigError(f"{file}: 'stages' must be a non-empty mapping of stage name -> gates")
    stages: dict[str, Stage] = {}
    for name, body in stages_raw.items():
        where = f"{file}: stage {name!r}"
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: expected a mapping with 'gates'")
        extra = sorted(set(body) - {"gates", "description"})
        if extra:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(extra)}; known: description, gates")
        gates_raw = body.get("gates")
        if not isinstance(gates_raw, dict) or not gates_raw:
            raise ConfigError(f"{where}: 'gates' must be a non-empty mapping of metric -> threshold")
        stages[str(name)] = Stage(str(name), [parse_gate(str(m), s, where) for m, s in gates_raw.items()],
                                  str(body.get("description") or ""))
    return stages


def load_stage(name: str, path: str | Path | None = None) -> Stage:
    stages = load_stages(path)
    if name not in stages:
        raise ConfigError(f"unknown stage {name!r}; stages in the gates file: {', '.join(stages)}")
    return stages[name]


def check_gate(gate: Gate, result: MetricResult | None) -> GateResult:
    """Pass/fail/not measured of one gate against a metric result."""
    if result is None or not result.measured or result.n < gate.min_n:
        return GateResult(gate, result, NOT_MEASURED, None)
    if gate.use == "value":
        x = result.value
    elif result.ci is None:
        return GateResult(gate, result, NOT_MEASURED, None)
    else:
        x = result.ci[0] if gate.use == "ci_low" else result.ci[1]
    eps = 1e-9  # float noise: 0.75 computed as a mean of fractions must still meet 0.75
    ok = x >= gate.threshold - eps if gate.direction == "min" else x <= gate.threshold + eps
    return GateResult(gate, result, PASS if ok else FAIL, x)


def check_stage(stage: Stage, results: dict[str, MetricResult]) -> list[GateResult]:
    return [check_gate(g, results.get(g.metric)) for g in stage.gates]


def all_passed(results: list[GateResult]) -> bool:
    return bool(results) and all(r.passed for r in results)
