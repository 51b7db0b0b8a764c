"""YAML configuration: load a file under ``configs/`` into a dataclass, apply ``key=value``
overrides from the command line, and reject unknown keys with an error naming the key and file.

Usage::

    @dataclass
    class RolloutConfig:
        workers: int = 2
        policy: str = "oracle"

    cfg = load_config(RolloutConfig, "rollout", overrides=["workers=4"])
"""

from __future__ import annotations

import copy

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
T = TypeVar("T")


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message names the key and file."""


def resolve_config_path(name_or_path: str | Path) -> Path:
    """A path as given, else ``configs/<name>.yaml`` inside the package."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    for candidate in (CONFIG_DIR / f"{name_or_path}.yaml", CONFIG_DIR / str(name_or_path)):
        if candidate.is_file():
            return candidate
    raise ConfigError(f"config {str(name_or_path)!r} not found (looked in {CONFIG_DIR})")


_YAML_CACHE: dict[tuple[str, int, int], dict[str, Any]] = {}


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping in the YAML file ``path`` (a fresh copy each call; parsed once per file
    version: envs made per episode read the same configs again and again)."""
    path = Path(path)
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    except OSError:
        key = None
    if key is not None and key in _YAML_CACHE:
        return copy.deepcopy(_YAML_CACHE[key])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    if key is not None:
        _YAML_CACHE[key] = copy.deepcopy(data)
    return data


def _parse_scalar(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(data: dict[str, Any], overrides: list[str] | None, source: str = "command line") -> dict[str, Any]:
    """Apply ``a.b=value`` overrides (values parsed as YAML scalars) to a nested dict."""
    out = dict(data)
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"override {item!r} from {source} must look like key=value")
        key, value = item.split("=", 1)
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = node.get(part)
            child = dict(child) if isinstance(child, dict) else {}
            node[part] = child
            node = child
        node[parts[-1]] = _parse_scalar(value)
    return out


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _coerce(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if _is_dataclass_type(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping")
        return from_dict(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, args[0], where) if len(args) == 1 else value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool) and not isinstance(value, tp):
        if tp is str and isinstance(value, (int, float)):
            return str(value)
        raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
    return value


def from_dict(cls: type[T], data: dict[str, Any], source: str = "<dict>") -> T:
    """Build dataclass ``cls`` from ``data``; unknown keys raise :class:`ConfigError`."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"unknown config key(s) {', '.join(map(repr, unknown))} in {source}; "
            f"known keys: {', '.join(sorted(names))}"
        )
    kwargs = {k: _coerce(v, hints[k], f"{source}: key {k!r}") for k, v in data.items()}
    return cls(**kwargs)


def read_config(name_or_path: str | Path | None) -> tuple[dict[str, Any], str]:
    """``(mapping, source)`` of a config name under ``configs/`` or a YAML path; ``({}, "defaults")``
    for None. ``source`` is what error messages name."""
    if name_or_path is None:
        return {}, "defaults"
    path = resolve_config_path(name_or_path)
    return read_yaml(path), str(path)


def load_config(cls: type[T], name_or_path: str | Path | None = None, overrides: list[str] | None = None) -> T:
    """Load ``cls`` from a YAML file (or defaults when None) and apply overrides."""
    data, source = read_config(name_or_path)
    data = apply_overrides(data, overrides)
    return from_dict(cls, data, source if not overrides else f"{source} (+ overrides)")


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)
