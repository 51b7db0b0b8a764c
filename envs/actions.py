"""Turn an env action into a tool call or a final message (never raises).

Accepted actions (docs/CONTRACTS.md, Environments):

- ``str``: a raw Harmony completion (what follows ``<|start|>assistant``), parsed with
  :func:`cargogym.harmony.parse.parse_completion`;
- ``{"tool": name, "arguments": {...}}``: a structured tool call;
- ``{"final": text}``: a structured final message (e.g. a review verdict);
- ``{"completion": str | None, "token_ids": [...], "logprobs": [...]}``: a generated completion
  with its ids (parsed from the text, or from the ids when the text is absent).

Problems (bad JSON, no tool call, wrong types, over-long input) come back as an
:class:`Action` of kind ``"invalid"`` whose ``error`` is fit to show the agent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

MAX_IDS = 10_000_000


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
    except (TypeError, ValueError):
        content = str(arguments)
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
    except (TypeError, ValueError):
        return 0


def parse_action(action: Any, max_chars: int) -> Action:
    """Classify ``action``; see the module docstring. Text is scrubbed of lone UTF-16 surrogates
    (``"\\ud800"`` in tool-call JSON decodes to one), which no UTF-8 file can hold."""
    try:
        act = _parse(action, max_chars)
    except Exception as e:  # a parser bug must not crash the episode
        return _invalid(f"could not read the action ({type(e).__name__}: {e})")
    act.arguments = scrub_surrogates(act.arguments)
    act.final = scrub_surrogates(act.final)
    act.error = scrub_surrogates(act.error)
    act.completion = scrub_surrogates(act.completion)
    act.messages = scrub_surrogates(act.messages)
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
        ids = [int(t) for t in ids]
    if logprobs is not None:
        if not isinstance(logprobs, (list, tuple)) or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in logprobs):
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
