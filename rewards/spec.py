"""Reward specs: a weighted sum of registered terms, clipped, with per-role overrides.

YAML (``configs/rewards/<name>.yaml``)::

    description: "..."
    terms: {resolved: 1.0, f2p_fraction: 0.2}     # term name -> weight (see terms.py)
    clip: [-1.0, 1.5]                              # optional bounds of the total
    roles:                                         # optional; a role's terms replace `terms`
      planner: {terms: {resolved: 1.0, delegation_cost: 0.02}, clip: [-1, 1]}
    step:                                          # optional per-step shaping (step_reward)
      per_step: -0.001   # every turn
      error: -0.01       # a tool call that failed
      violation: -0.05   # a role violation
      conflict: -0.02    # an edit outside the frame's files

Unknown keys or term names raise :class:`~cargogym.config.ConfigError` naming the key and file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cargogym.config import CONFIG_DIR, ConfigError, read_yaml
from cargogym.rewards.terms import REWARD_TERMS, as_report_dict

_TOP_KEYS = {"name", "description", "terms", "clip", "roles", "step"}
_ROLE_KEYS = {"terms", "clip"}
_STEP_KEYS = {"per_step", "error", "violation", "conflict"}


def _check_terms(terms: Any, where: str) -> dict[str, float]:
    if not isinstance(terms, dict) or not terms:
        raise ConfigError(f"{where}: 'terms' must be a non-empty mapping of term name -> weight")
    out: dict[str, float] = {}
    for name, w in terms.items():
        if name not in REWARD_TERMS:
            raise ConfigError(f"{where}: unknown reward term {name!r}; known: {', '.join(sorted(REWARD_TERMS))}")
        if isinstance(w, bool) or not isinstance(w, (int, float)):
            raise ConfigError(f"{where}: weight of {name!r} must be a number, got {w!r}")
        out[name] = float(w)
    return out


def _check_clip(clip: Any, where: str) -> tuple[float, float] | None:
    if clip is None:
        return None
    if (not isinstance(clip, (list, tuple)) or len(clip) != 2
            or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in clip) or clip[0] > clip[1]):
        raise ConfigError(f"{where}: 'clip' must be [low, high] with low <= high, got {clip!r}")
    return float(clip[0]), float(clip[1])


@dataclass
class RewardSpec:
    name: str
    terms: dict[str, float]
    clip: tuple[float, float] | None = None
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)   # role -> {"terms", "clip"}
    step: dict[str, float] = field(default_factory=dict)
    description: str = ""
    source: str = "<dict>"

    # -- loading ---------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>", name: str | None = None) -> "RewardSpec":
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: a reward spec must be a mapping")
        unknown = sorted(set(data) - _TOP_KEYS)
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(_TOP_KEYS))}")
        terms = _check_terms(data.get("terms"), source)
        clip = _check_clip(data.get("clip"), source)
        roles: dict[str, dict[str, Any]] = {}
        for role, spec in (data.get("roles") or {}).items():
            where = f"{source}: roles.{role}"
            if not isinstance(spec, dict):
                raise ConfigError(f"{where}: must be a mapping with 'terms' and optional 'clip'")
            bad = sorted(set(spec) - _ROLE_KEYS)
            if bad:
                raise ConfigError(f"{where}: unknown key(s) {', '.join(map(repr, bad))}; known: terms, clip")
            roles[str(role)] = {"terms": _check_terms(spec.get("terms", terms), where),
                                "clip": _check_clip(spec.get("clip"), where) if "clip" in spec else clip}
        step = data.get("step") or {}
        if not isinstance(step, dict):
            raise ConfigError(f"{source}: 'step' must be a mapping")
        bad = sorted(set(step) - _STEP_KEYS)
        if bad:
            raise ConfigError(f"{source}: unknown step key(s) {', '.join(map(repr, bad))}; known: {', '.join(sorted(_STEP_KEYS))}")
        for k, v in step.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"{source}: step.{k} must be a number, got {v!r}")
        return cls(name=str(data.get("name") or name or Path(source).stem), terms=terms, clip=clip,
                   roles=roles, step={k: float(v) for k, v in step.items()},
                   description=str(data.get("description", "")), source=source)

    @classmethod
    def load(cls, name_or_path: str | Path) -> "RewardSpec":
        """``configs/rewards/<name>.yaml`` or a YAML path."""
        p = Path(name_or_path)
        if not (p.suffix in (".yaml", ".yml") and p.is_file()):
            cand = CONFIG_DIR / "rewards" / f"{name_or_path}.yaml"
            if not cand.is_file():
                known = sorted(x.stem for x in (CONFIG_DIR / "rewards").glob("*.yaml"))
                raise ConfigError(f"reward spec {str(name_or_path)!r} not found (known: {', '.join(known)}; or give a .yaml path)")
            p = cand
        return cls.from_dict(read_yaml(p), source=str(p), name=p.stem)

    @classmethod
    def coerce(cls, spec: "RewardSpec | str | Path | dict | None") -> "RewardSpec":
        """A spec from a spec, a name/path, or a dict (env kwargs); None means ``default``."""
        if isinstance(spec, RewardSpec):
            return spec
        if spec is None:
            return cls.load("default")
        if isinstance(spec, dict):
            return cls.from_dict(spec)
        return cls.load(spec)

    # -- computing -------------------------------------------------------------------------
    def terms_for(self, role: str | None) -> tuple[dict[str, float], tuple[float, float] | None]:
        if role is not None and role in self.roles:
            r = self.roles[role]
            return r["terms"], r["clip"]
        return self.terms, self.clip

    def compute(self, report: Any, trajectory: dict | None = None,
                role: str | None = None) -> tuple[float, dict[str, float]]:
        """(total, weighted contribution per term); the total is clipped when the spec says so."""
        rep = as_report_dict(report)
        traj = trajectory
        if role is not None and trajectory is not None:
            traj = dict(trajectory)
            traj["role"] = role
        weights, clip = self.terms_for(role)
        parts: dict[str, float] = {}
        for name, w in weights.items():
            v = float(REWARD_TERMS[name](rep, traj))
            if math.isnan(v):
                v = 0.0
            parts[name] = w * v
        total = sum(parts.values())
        if clip is not None:
            total = min(max(total, clip[0]), clip[1])
        return total, parts

    def step_reward(self, turn: dict) -> float:
        """Per-step shaping for one turn record (0 unless the spec has a ``step`` section)."""
        if not self.step:
            return 0.0
        r = self.step.get("per_step", 0.0)
        if turn.get("error"):
            r += self.step.get("error", 0.0)
        if turn.get("violation"):
            r += self.step.get("violation", 0.0)
        if turn.get("conflict"):
            r += self.step.get("conflict", 0.0)
        return r

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "terms": dict(self.terms)}
        if self.description:
            d["description"] = self.description
        if self.clip is not None:
            d["clip"] = list(self.clip)
        if self.roles:
            d["roles"] = {r: {"terms": dict(v["terms"]), **({"clip": list(v["clip"])} if v["clip"] else {})}
                          for r, v in self.roles.items()}
        if self.step:
            d["step"] = dict(self.step)
        return d
