"""The agent's tools: JSON-schema definitions and argument validation (pure).

A definition is ``{"name", "description", "parameters"}`` (docs/CONTRACTS.md, Harmony section);
the same dicts are returned by ``env.unwrapped.tools()`` and rendered into the Harmony developer
message. :func:`validate_arguments` checks a call against its schema and raises
:class:`ToolArgumentError` with a message fit to show the agent.
"""

from __future__ import annotations

import copy
from typing import Any

TOOL_ORDER = ("apply_patch", "run_tests", "cargo_check", "read_file", "list_files", "search",
              "submit", "delegate_subtask")

_STR = {"type": "string"}

TOOL_SPECS: dict[str, dict[str, Any]] = {
    "apply_patch": {
        "description": (
            "Apply a patch to the crate. Accepts a unified diff with a/ and b/ path prefixes "
            "(paths relative to the crate root; every hunk's context must match the file exactly) "
            "or the '*** Begin Patch' format. Atomic: either every hunk applies or nothing changes."
        ),
        "parameters": {
            "type": "object",
            "properties": {"diff": {**_STR, "description": "the patch text"}},
            "required": ["diff"],
            "additionalProperties": False,
        },
    },
    "run_tests": {
        "description": (
            "Build the crate and run `cargo test`. Returns pass/fail counts and, for each failing "
            "test, the first lines of its panic. `filter` restricts the run to tests whose name "
            "contains it."
        ),
        "parameters": {
            "type": "object",
            "properties": {"filter": {**_STR, "description": "substring of test names to run"}},
            "required": [],
            "additionalProperties": False,
        },
    },
    "cargo_check": {
        "description": "Type-check the crate with `cargo check`; returns ok or the compiler errors.",
        "parameters": {"type": "object", "properties": {}, "required": [], "additionalProperties": False},
    },
    "read_file": {
        "description": (
            "Read a file of the crate. `start` and `end` are 1-based inclusive line numbers; long "
            "files are returned in pieces."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "path": {**_STR, "description": "path relative to the crate root, e.g. src/lib.rs"},
                "start": {"type": "integer", "minimum": 1, "description": "first line (default 1)"},
                "end": {"type": "integer", "minimum": 1, "description": "last line (inclusive)"},
            },
            "required": ["path"],
            "additionalProperties": False,
        },
    },
    "list_files": {
        "description": "List the source files of the crate (optionally under a folder).",
        "parameters": {
            "type": "object",
            "properties": {"dir": {**_STR, "description": "folder relative to the crate root (default: all)"}},
            "required": [],
            "additionalProperties": False,
        },
    },
    "search": {
        "description": (
            "Search the crate's source files for a regular expression (Python syntax; an invalid "
            "expression is searched as plain text). Returns path:line: text for each match."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "pattern": {**_STR, "description": "regular expression or plain text"},
                "path": {**_STR, "description": "file or folder to search (default: the whole crate)"},
            },
            "required": ["pattern"],
            "additionalProperties": False,
        },
    },
    "submit": {
        "description": (
            "Finish. At the top level the crate is graded and the episode ends; inside a delegated "
            "subtask your `summary` is returned to the agent that delegated it."
        ),
        "parameters": {
            "type": "object",
            "properties": {"summary": {**_STR, "description": "what you did (optional)"}},
            "required": [],
            "additionalProperties": False,
        },
    },
    "delegate_subtask": {
        "description": (
            "Hand a self-contained part of the work to a helper agent and wait for its answer. The "
            "helper starts a fresh conversation: it sees only your instructions and the listed "
            "context files, may edit only those files, and its final message is returned to you. "
            "Instructions that merely repeat your own task are refused."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "role": {**_STR, "description": "the helper's role"},
                "instructions": {**_STR, "description": "what the helper must do"},
                "context_files": {
                    "type": "array", "items": {"type": "string"},
                    "description": "files (relative paths) the helper sees and may edit",
                },
                "return_artifacts": {
                    "type": "boolean",
                    "description": "also return the diff of the helper's edits (default false)",
                },
            },
            "required": ["role", "instructions", "context_files"],
            "additionalProperties": False,
        },
    },
}


class ToolArgumentError(ValueError):
    """Arguments that do not match a tool's schema; the message names tool and argument."""


def tool_definition(name: str, roles: list[str] | None = None) -> dict[str, Any]:
    """A fresh copy of one definition; ``roles`` fills the delegate role enum."""
    spec = copy.deepcopy(TOOL_SPECS[name])
    if name == "delegate_subtask" and roles:
        spec["parameters"]["properties"]["role"]["enum"] = list(roles)
    return {"name": name, **spec}


def tool_definitions(names: list[str] | tuple[str, ...], roles: list[str] | None = None) -> list[dict[str, Any]]:
    """Definitions for ``names`` in the canonical order (unknown names are skipped)."""
    wanted = set(names)
    return [tool_definition(n, roles) for n in TOOL_ORDER if n in wanted]


_TYPES = {"string": str, "integer": int, "boolean": bool, "array": list, "object": dict, "number": (int, float)}


def _type_ok(value: Any, schema: dict[str, Any]) -> bool:
    expected = schema.get("type")
    if expected is None:
        return True
    if expected in ("integer", "number") and isinstance(value, bool):
        return False
    if expected == "integer" and isinstance(value, float) and value.is_integer():
        return True
    return isinstance(value, _TYPES[expected])


def _describe(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object", type(None): "null"}.get(type(value), type(value).__name__)


def validate_arguments(name: str, arguments: Any, roles: list[str] | None = None) -> dict[str, Any]:
    """Checked (and lightly normalised: 3.0 -> 3 for integers) arguments of a call to ``name``."""
    if name not in TOOL_SPECS:
        raise ToolArgumentError(f"unknown tool {name!r}")
    schema = TOOL_SPECS[name]["parameters"]
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ToolArgumentError(f"{name}: arguments must be a JSON object, got {_describe(arguments)}")
    props = schema["properties"]
    unknown = sorted(map(str, set(arguments) - set(props)))   # str: a key may be any hashable
    if unknown:
        allowed = ", ".join(props) or "none"
        raise ToolArgumentError(f"{name}: unknown argument(s) {', '.join(unknown)} (allowed: {allowed})")
    missing = [k for k in schema.get("required", []) if k not in arguments]
    if missing:
        raise ToolArgumentError(f"{name}: missing required argument(s) {', '.join(missing)}")
    out: dict[str, Any] = {}
    for key, value in arguments.items():
        sub = props[key]
        if not _type_ok(value, sub):
            raise ToolArgumentError(f"{name}: argument {key!r} must be {sub['type']}, got {_describe(value)}")
        if sub.get("type") == "integer":
            value = int(value)
            if "minimum" in sub and value < sub["minimum"]:
                raise ToolArgumentError(f"{name}: argument {key!r} must be >= {sub['minimum']}, got {value}")
        if sub.get("type") == "array":
            item_type = sub.get("items", {})
            bad = [v for v in value if not _type_ok(v, item_type)]
            if bad:
                raise ToolArgumentError(f"{name}: every item of {key!r} must be {item_type.get('type')}, "
                                        f"got {_describe(bad[0])}")
        enum = sub.get("enum") or (roles if (name, key) == ("delegate_subtask", "role") and roles else None)
        if enum is not None and value not in enum:
            raise ToolArgumentError(f"{name}: argument {key!r} must be one of {', '.join(map(str, enum))}, got {value!r}")
        out[key] = value
    return out
