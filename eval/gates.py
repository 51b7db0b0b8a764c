"""Promotion gates: thresholds on metrics that a run must meet to move to the next stage.

``configs/promotion_gates.yaml``::

    evidence:                        # optional: minimum evidence per metric, for every stage
      default: {min_n: 1}
      delegation_accuracy: {min_per_label: 2}
    stages:
      <stage name>:
        description: "..."          # optional
        gates:
          <metric>: 0.85             # shorthand for {min: 0.85}
          <metric>: {max: 0.2}       # lower-is-better metric
          <metric>: {min: 0.7, min_n: 30, min_per_label: 5, use: ci_low}

``min``/``max``: the threshold and its direction (value >= min, value <= max). ``min_n``
(default 1): fewer units than that and the gate is *not measured*. ``min_per_label`` (labelled
metrics only, e.g. ``delegation_accuracy``): fewer units than that in any label class and the gate
is *not measured* (a run with one class only cannot show it tells the classes apart). ``evidence``
sets floors for both per metric (``default`` for every metric); a gate uses the larger of its
own value and the floor. ``use``: compare the point ``value`` (default) or a bound of the 95 %
interval (``ci_low``/``ci_high``, stricter). A metric that is not measured never passes.
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
    min_per_label: int = 0   # labelled metrics: units needed in every label class

    def describe(self) -> str:
        op = "≥" if self.direction == "min" else "≤"
        extra = [] if self.use == "value" else [self.use]
        extra += [f"n ≥ {self.min_n}"] if self.min_n > 1 else []
        extra += [f"≥ {self.min_per_label} per label"] if self.min_per_label else []
        return f"{op} {self.threshold:g}" + (f" ({', '.join(extra)})" if extra else "")


@dataclass
class GateResult:
    gate: Gate
    result: MetricResult | None
    status: str              # pass | fail | not measured
    compared: float | None   # the number compared with the threshold
    reason: str = ""         # why a gate is not measured

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "metric": self.gate.metric, "threshold": self.gate.threshold, "direction": self.gate.direction,
            "use": self.gate.use, "min_n": self.gate.min_n, "min_per_label": self.gate.min_per_label,
            "status": self.status, "reason": self.reason,
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


def _count(spec: dict, key: str, default: int, lowest: int, where: str) -> int:
    v = spec.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < lowest:
        raise ConfigError(f"{where}: {key} must be an integer >= {lowest}, got {v!r}")
    return v


def _check_labelled(metric: str, min_per_label: int, where: str) -> None:
    if min_per_label and not METRICS[metric].labels:
        labelled = [m for m, s in METRICS.items() if s.labels]
        raise ConfigError(f"{where}: min_per_label applies to labelled metrics only ({', '.join(labelled)}), "
                          f"not {metric!r}")


@dataclass(frozen=True)
class Evidence:
    """Minimum evidence floors: metric -> (min_n, min_per_label); ``default`` min_n for the rest."""

    default_min_n: int = 1
    per_metric: tuple[tuple[str, int | None, int], ...] = ()   # (metric, min_n or None, min_per_label)

    def floor(self, metric: str) -> tuple[int, int]:
        for name, min_n, min_per_label in self.per_metric:
            if name == metric:
                return (self.default_min_n if min_n is None else min_n), min_per_label
        return self.default_min_n, 0


def parse_evidence(raw: Any, where: str) -> Evidence:
    """The ``evidence`` section: ``default: {min_n}`` and per-metric ``{min_n, min_per_label}``."""
    if raw is None:
        return Evidence()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: 'evidence' must be a mapping of metric -> {{min_n, min_per_label}}")
    default_min_n = 1
    per_metric = []
    for name, spec in raw.items():
        name = str(name)
        w = f"{where}: evidence {name!r}"
        if name != "default" and name not in METRICS:
            raise ConfigError(f"{w}: unknown metric; known: default, {', '.join(METRICS)}")
        if not isinstance(spec, dict):
            raise ConfigError(f"{w}: expected a mapping with min_n and/or min_per_label")
        known = {"min_n"} if name == "default" else {"min_n", "min_per_label"}
        unknown = sorted(str(k) for k in set(spec) - known)
        if unknown:
            raise ConfigError(f"{w}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        if name == "default":
            default_min_n = _count(spec, "min_n", 1, 1, w)
            continue
        min_per_label = _count(spec, "min_per_label", 0, 0, w)
        _check_labelled(name, min_per_label, w)
        per_metric.append((name, _count(spec, "min_n", 1, 1, w) if "min_n" in spec else None, min_per_label))
    return Evidence(default_min_n, tuple(per_metric))


def parse_gate(metric: str, spec: Any, where: str, evidence: Evidence | None = None) -> Gate:
    """One gate from its YAML form (a number, or a mapping with min|max, min_n, min_per_label, use);
    ``evidence`` floors raise its min_n / min_per_label."""
    if metric not in METRICS:
        raise ConfigError(f"{where}: unknown metric {metric!r}; known metrics: {', '.join(METRICS)}")
    floor_n, floor_label = (evidence or Evidence()).floor(metric)
    if not isinstance(spec, dict):
        return Gate(metric, _number(spec, f"{where}: gate {metric!r}"), min_n=floor_n, min_per_label=floor_label)
    known = {"min", "max", "min_n", "min_per_label", "use"}
    unknown = sorted(str(k) for k in set(spec) - known)
    if unknown:
        raise ConfigError(f"{where}: gate {metric!r}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if ("min" in spec) == ("max" in spec):
        raise ConfigError(f"{where}: gate {metric!r} needs exactly one of 'min' or 'max'")
    direction = "min" if "min" in spec else "max"
    w = f"{where}: gate {metric!r}"
    min_n = _count(spec, "min_n", 1, 1, w)
    min_per_label = _count(spec, "min_per_label", 0, 0, w)
    _check_labelled(metric, min_per_label, w)
    use = spec.get("use", "value")
    if use not in ("value", "ci_low", "ci_high"):
        raise ConfigError(f"{w}: 'use' must be value, ci_low or ci_high, got {use!r}")
    return Gate(metric, _number(spec[direction], w), direction, max(min_n, floor_n), use,
                max(min_per_label, floor_label))


def load_stages(path: str | Path | None = None) -> dict[str, Stage]:
    """All stages of a gates file (default ``configs/promotion_gates.yaml``)."""
    file = resolve_config_path(path or DEFAULT_GATES)
    data = read_yaml(file)
    unknown = sorted(set(data) - {"stages", "evidence"})
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)} in {file}; known keys: evidence, stages")
    evidence = parse_evidence(data.get("evidence"), str(file))
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
        stages[str(name)] = Stage(str(name), [parse_gate(str(m), s, where, evidence) for m, s in gates_raw.items()],
                                  str(body.get("description") or ""))
    return stages


def load_stage(name: str, path: str | Path | None = None) -> Stage:
    stages = load_stages(path)
    if name not in stages:
        raise ConfigError(f"unknown stage {name!r}; stages in the gates file: {', '.join(stages)}")
    return stages[name]


def check_gate(gate: Gate, result: MetricResult | None) -> GateResult:
    """Pass/fail/not measured of one gate against a metric result (too little evidence: not measured)."""
    if result is None or not result.measured:
        return GateResult(gate, result, NOT_MEASURED, None, (result.note if result else "") or "no usable records")
    if result.n < gate.min_n:
        return GateResult(gate, result, NOT_MEASURED, None, f"n={result.n} < min_n={gate.min_n}")
    if gate.min_per_label:
        counts = result.label_counts() or {}
        short = {k: v for k, v in counts.items() if v < gate.min_per_label} if counts else {"(labels)": 0}
        if short:
            detail = ", ".join(f"{k} n={v}" for k, v in short.items())
            return GateResult(gate, result, NOT_MEASURED, None, f"{detail} < min_per_label={gate.min_per_label}")
    if gate.use == "value":
        x = result.value
    elif result.ci is None:
        return GateResult(gate, result, NOT_MEASURED, None, "no interval")
    else:
        x = result.ci[0] if gate.use == "ci_low" else result.ci[1]
    eps = 1e-9  # float noise: 0.75 computed as a mean of fractions must still meet 0.75
    ok = x >= gate.threshold - eps if gate.direction == "min" else x <= gate.threshold + eps
    return GateResult(gate, result, PASS if ok else FAIL, x)


def check_stage(stage: Stage, results: dict[str, MetricResult]) -> list[GateResult]:
    return [check_gate(g, results.get(g.metric)) for g in stage.gates]


def all_passed(results: list[GateResult]) -> bool:
    return bool(results) and all(r.passed for r in results)
