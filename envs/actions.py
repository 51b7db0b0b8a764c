"""Turn an env action into a tool call or a final message (never raises).

Accepted actions (docs/CONTRACTS.md, Environments):

- ``str``: a raw Harmony completion (what follows ``<|start|>assistant``), parsed with
  :func:`cargogym.harmony.parse.parse_completion`;
- ``{"tool": name, "arguments": {...}}``: a structured tool call;
- ``{"final": text}``: a structured final message (e.g. a review verdict);
- ``{"completion": str | None, "token_ids": [...], "logprobs": [...]}``: a generated completion
  with its ids (parsed from the text, or from the ids when the text is absent).

Problems (bad JSON, no tool call, wrong types, over-long input, tool arguments that are not
plain JSON — :func:`json_problem`) come back as an :class:`Action` of kind ``"invalid"`` whose
``error`` is fit to show the agent.
"""

from __future__ import annotations

import json
import math
import reprlib
from dataclasses import dataclass, field
from typing import Any, Literal

MAX_IDS = 10_000_000
MAX_TOKEN_ID = 2**31 - 1      # token ids are 0..MAX_TOKEN_ID
MAX_JSON_DEPTH = 32           # nesting of tool arguments (the tools need 2)
MAX_JSON_INT = 2**63          # integers in tool arguments lie in [-MAX_JSON_INT, MAX_JSON_INT)


@dataclass
class Action:
    kind: Literal["tool", "final", "invalid"]
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    final: str | None = None
    error: str | None = None
    completion: str | None = None
    token_ids: list[int] | None = None
    logprobs: list[float] | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)   # assistant messages to record

    @property
    def n_tokens(self) -> int:
        """Generated tokens: the ids when given, else ~4 characters per token."""
        if self.token_ids is not None:
            return len(self.token_ids)
        text = self.completion if self.completion is not None else json.dumps(
            {"tool": self.tool, "arguments": self.arguments, "final": self.final}, default=str)
        return max(1, len(text) // 4)


def tool_call_message(tool: str, arguments: Any) -> dict[str, Any]:
    """The assistant message a structured tool call stands for."""
    try:
        content = json.dumps(arguments, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        content = _short_repr(arguments)
    return {"role": "assistant", "content": content, "channel": "commentary",
            "recipient": f"functions.{tool}", "name": None, "content_type": "json"}


def final_message(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text, "channel": "final", "recipient": None,
            "name": None, "content_type": None}


def _invalid(error: str, **kw: Any) -> Action:
    return Action(kind="invalid", error=error, **kw)


def _size(action: Any) -> int:
    if isinstance(action, str):
        return len(action)
    try:
        return len(json.dumps(action, default=str))
    except (TypeError, ValueError, RecursionError):
        return 0   # not JSON: the checks that follow name the problem


def parse_action(action: Any, max_chars: int) -> Action:
    """Classify ``action``; see the module docstring. Text is scrubbed of lone UTF-16 surrogates
    (``"\\ud800"`` in tool-call JSON decodes to one), which no UTF-8 file can hold."""
    try:
        act = _parse(action, max_chars)
        if act.kind == "tool":
            act = _plain_arguments(act)
    except Exception as e:  # a parser bug must not crash the episode
        return _invalid(f"could not read the action ({type(e).__name__}: {e})")
    act.arguments = scrub_surrogates(act.arguments)
    act.final = scrub_surrogates(act.final)
    act.error = scrub_surrogates(act.error)
    act.completion = scrub_surrogates(act.completion)
    act.messages = scrub_surrogates(act.messages)
    return act


def json_problem(value: Any, where: str = "", depth: int = 0) -> str | None:
    """Why ``value`` (tool arguments) is not plain JSON, or None (pure). Plain JSON: str keys;
    str, bool, None, finite floats, ints in [-2**63, 2**63); lists/tuples and dicts nested at most
    :data:`MAX_JSON_DEPTH` deep. ``where`` names the argument in the message."""
    at = f" in argument {where}" if where else ""
    if depth > MAX_JSON_DEPTH:
        return f"arguments nest deeper than {MAX_JSON_DEPTH} levels{at}"
    if value is None or isinstance(value, (str, bool)):
        return None
    if isinstance(value, int):
        return None if -MAX_JSON_INT <= value < MAX_JSON_INT else f"an integer beyond 64 bits{at}"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value!r} is not a JSON number{at}"
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            problem = json_problem(item, f"{where}[{i}]" if depth < 3 else where, depth + 1)
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"argument names must be strings, got {type(key).__name__} {_short_repr(key)}{at}"
            inner = repr(key) if not where else (f"{where}[{key!r}]" if depth < 3 else where)
            problem = json_problem(item, inner, depth + 1)
            if problem:
                return problem
        return None
    return (f"a {type(value).__name__} value is not JSON{at} "
            "(use strings, numbers, booleans, null, lists and objects)")


def _short_repr(value: Any) -> str:
    try:
        return reprlib.repr(value)
    except Exception:  # noqa: BLE001 — a repr that fails (huge int, broken __repr__) is not the news
        return f"<{type(value).__name__}>"


def _plain_arguments(act: Action) -> Action:
    """``act`` with its arguments as a plain JSON copy (tuples become lists), or an invalid action."""
    problem = json_problem(act.arguments)
    if problem:
        return _invalid(f"tool call to {act.tool}: {problem}", tool=act.tool, messages=act.messages,
                        completion=act.completion, token_ids=act.token_ids, logprobs=act.logprobs)
    act.arguments = json.loads(json.dumps(act.arguments, ensure_ascii=False))
    return act


def scrub_surrogates(value: Any) -> Any:
    """``value`` with lone surrogates in every string replaced by U+FFFD (recursively)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    if isinstance(value, dict):
        return {scrub_surrogates(k): scrub_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_surrogates(v) for v in value]
    return value


def _parse(action: Any, max_chars: int) -> Action:
    size = _size(action)
    if size > max_chars:
        return _invalid(f"action too long: {size} characters (limit {max_chars}); "
                        "send a shorter patch or split the work")
    if isinstance(action, str):
        return _from_completion(action, None, None)
    if not isinstance(action, dict):
        return _invalid(f"an action must be a completion string or a dict, got {type(action).__name__}")
    if "completion" in action or "token_ids" in action:
        return _from_generation(action, max_chars)
    if "tool" in action:
        tool = action["tool"]
        args = action.get("arguments", {})
        if not isinstance(tool, str) or not tool:
            return _invalid("'tool' must be a non-empty string naming a tool")
        tool = tool.removeprefix("functions.")
        if isinstance(args, str):  # arguments given as JSON text, as APIs do
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as e:
                return _invalid(f"tool call to {tool}: arguments are not valid JSON ({e.msg} at char {e.pos})",
                                tool=tool, messages=[tool_call_message(tool, action.get("arguments"))])
        if args is None:
            args = {}
        msg = tool_call_message(tool, args)
        if not isinstance(args, dict):
            return _invalid(f"tool call to {tool}: arguments must be a JSON object", tool=tool, messages=[msg])
        return Action(kind="tool", tool=tool, arguments=args, messages=[msg])
    if "final" in action:
        text = action["final"]
        if not isinstance(text, str):
            return _invalid("'final' must be a string")
        return Action(kind="final", final=text, messages=[final_message(text)])
    return _invalid("a dict action needs 'tool' (+ 'arguments'), 'final', or 'completion'; "
                    f"got keys {sorted(map(str, action))}")


def _from_generation(action: dict[str, Any], max_chars: int) -> Action:
    text = action.get("completion")
    ids = action.get("token_ids")
    logprobs = action.get("logprobs")
    if ids is not None:
        if not isinstance(ids, (list, tuple)) or not all(isinstance(t, int) and not isinstance(t, bool) for t in ids):
            return _invalid("'token_ids' must be a list of integers")
        if len(ids) > MAX_IDS:
            return _invalid(f"too many token ids ({len(ids)})")
        if not all(0 <= t <= MAX_TOKEN_ID for t in ids):
            return _invalid(f"'token_ids' must be a list of integers in 0..{MAX_TOKEN_ID}")
        ids = [int(t) for t in ids]
    if logprobs is not None:
        if not isinstance(logprobs, (list, tuple)) or not all(
                isinstance(x, float) or (isinstance(x, int) and not isinstance(x, bool) and abs(x) <= 1e300)
                for x in logprobs):
            return _invalid("'logprobs' must be a list of numbers", token_ids=ids)
        logprobs = [float(x) for x in logprobs]
    if text is not None and not isinstance(text, str):
        return _invalid("'completion' must be a string", token_ids=ids, logprobs=logprobs)
    if text is None and ids is None:
        return _invalid("'completion' or 'token_ids' is required")
    source: str | list[int] = text if text is not None else ids  # type: ignore[assignment]
    if text is None:
        try:
            from cargogym.harmony.render import decode

            text = decode(ids)
        except Exception:
            text = None
        if text is not None and len(text) > max_chars:
            return _invalid(f"action too long: {len(text)} characters (limit {max_chars})", token_ids=ids,
                            logprobs=logprobs)
    return _from_completion(source, ids, logprobs, text)


def _from_completion(source: str | list[int], ids: list[int] | None, logprobs: list[float] | None,
                     text: str | None = None) -> Action:
    from cargogym.harmony.parse import HarmonyParseError, parse_completion

    completion = source if isinstance(source, str) else text
    common = {"completion": completion, "token_ids": ids, "logprobs": logprobs}
    if isinstance(source, str) and not source.strip():
        return _invalid("empty completion: call a tool or write a final message", **common)
    try:
        parsed = parse_completion(source)
    except HarmonyParseError as e:
        messages = [dict(m) for m in e.messages]
        if not messages and completion:
            messages = [{"role": "assistant", "content": completion, "channel": None, "recipient": None,
                         "name": None, "content_type": None}]
        return _invalid(str(e), tool=e.tool_name, messages=messages, **common)
    messages = [dict(m) for m in parsed.messages]
    if parsed.tool_call is not None:
        return Action(kind="tool", tool=parsed.tool_call.name, arguments=parsed.tool_call.arguments,
                      messages=messages, **common)
    if parsed.final is not None and parsed.final.strip():
        return Action(kind="final", final=parsed.final, messages=messages, **common)
    return _invalid("no tool call and no final message found: call a tool (a commentary message to "
                    "functions.<tool> with JSON arguments) or answer on the final channel",
                    messages=messages, **common)
