"""Parse GPT-OSS completions (what follows ``<|start|>assistant``) with openai-harmony.

``parse_completion(completion)`` accepts text or token ids, in both header orders GPT-OSS emits:
``<|start|>assistant to=functions.X<|channel|>commentary <|constrain|>json<|message|>…<|call|>``
(the library's rendering) and ``<|channel|>commentary to=functions.X <|constrain|>json<|message|>…``
(what the model often samples). Parsing is token-exact via ``parse_messages_from_completion_tokens``
(StreamableParser). Tokens after the first ``<|call|>`` / ``<|return|>`` and trailing
``<|endoftext|>`` padding are ignored. Anything else malformed raises :class:`HarmonyParseError`,
whose message is fit to show the agent as an observation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cargogym.errors import CargogymError
from cargogym.harmony.render import (
    CALL,
    NAMESPACE,
    RETURN,
    START,
    get_encoding,
    normalise_content_type,
)

ENDOFTEXT = 199999


class HarmonyParseError(CargogymError, ValueError):
    """A completion that is not valid Harmony, or a tool call whose arguments are not a JSON object.

    ``tool_name`` is set when the completion addressed a tool (so the env can say which one);
    ``messages`` holds whatever parsed before the problem (may be empty).
    """

    def __init__(self, message: str, tool_name: str | None = None,
                 messages: list[dict] | None = None) -> None:
        super().__init__(message)
        self.tool_name = tool_name
        self.messages = messages or []


@dataclass
class ToolCall:
    name: str              # without "functions."
    arguments: dict
    raw: str               # the message content as sampled


@dataclass
class ParsedCompletion:
    messages: list[dict]   # cargogym message dicts (role "assistant")
    tool_call: ToolCall | None
    final: str | None
    analysis: str
    extra: dict[str, Any] = field(default_factory=dict)   # e.g. {"ignored_tool_calls": n}


def _to_ids(completion: str | list[int]) -> list[int]:
    if isinstance(completion, str):
        return get_encoding().encode(completion, allowed_special="all")
    if isinstance(completion, (list, tuple)):
        return [int(t) for t in completion]
    raise HarmonyParseError(f"completion must be text or token ids, got {type(completion).__name__}")


def _trim(ids: list[int]) -> list[int]:
    for i, t in enumerate(ids):
        if t == CALL or t == RETURN:
            return ids[: i + 1]
    end = len(ids)
    while end and ids[end - 1] == ENDOFTEXT:
        end -= 1
    return ids[:end]


def _snippet(ids: list[int], n: int = 120) -> str:
    text = get_encoding().decode(ids)
    return text if len(text) <= n else text[:n] + "…"


def tool_name_of(recipient: str) -> str:
    """``"functions.apply_patch"`` -> ``"apply_patch"`` (other recipients unchanged)."""
    r = recipient.strip()
    return r[len(NAMESPACE) + 1 :] if r.startswith(NAMESPACE + ".") else r


def parse_completion(completion: str | list[int]) -> ParsedCompletion:
    """Messages, the (first) tool call, final text and joined analysis of one completion."""
    from openai_harmony import HarmonyError, Role

    ids = _trim(_to_ids(completion))
    if not ids:
        raise HarmonyParseError("empty completion: expected a Harmony message such as "
                                "'<|channel|>final<|message|>...<|return|>'")
    role = None if ids[0] == START else Role.ASSISTANT
    try:
        parsed = get_encoding().parse_messages_from_completion_tokens(ids, role, strict=False)
    except HarmonyError as e:
        raise HarmonyParseError(f"completion is not valid Harmony ({e}): {_snippet(ids)!r}") from None
    messages: list[dict] = []
    tool_call: ToolCall | None = None
    ignored = 0
    finals: list[str] = []
    unlabelled: list[str] = []
    analysis: list[str] = []
    for m in parsed:
        role_name = m.author.role.value
        text = "".join(getattr(c, "text", "") for c in m.content)
        if role_name != "assistant":
            raise HarmonyParseError(
                f"completion contains a {role_name} message; only assistant messages may be generated",
                messages=messages)
        recipient = m.recipient.strip() if m.recipient else None
        if recipient == "assistant":
            recipient = None
        msg = {"role": "assistant", "content": text, "channel": m.channel,
               "recipient": recipient, "name": None,
               "content_type": normalise_content_type(m.content_type)}
        messages.append(msg)
        if recipient:
            if tool_call is not None:
                ignored += 1
                continue
            name = tool_name_of(recipient)
            raw = text.strip()
            try:
                args = json.loads(raw) if raw else {}
            except json.JSONDecodeError as e:
                raise HarmonyParseError(
                    f"tool call to {name}: arguments are not valid JSON ({e.msg} at char {e.pos}); "
                    f"send a JSON object, e.g. {{\"path\": \"src/lib.rs\"}}",
                    tool_name=name, messages=messages) from None
            if not isinstance(args, dict):
                raise HarmonyParseError(
                    f"tool call to {name}: arguments must be a JSON object, got {type(args).__name__}",
                    tool_name=name, messages=messages)
            tool_call = ToolCall(name=name, arguments=args, raw=text)
        elif m.channel == "analysis":
            analysis.append(text)
        elif m.channel == "final":
            finals.append(text)
        elif m.channel is None:
            unlabelled.append(text)
    final = finals[-1] if finals else (unlabelled[-1] if unlabelled else None)
    extra = {"ignored_tool_calls": ignored} if ignored else {}
    return ParsedCompletion(messages=messages, tool_call=tool_call, final=final,
                            analysis="\n".join(analysis), extra=extra)



def parse_conversation(rendered: str | list[int]) -> list[dict]:
    """All messages of a rendered conversation (text or ids starting with ``<|start|>``).

    Used to check exported samples: system/developer messages come back with their rendered
    text as ``content``; tool results with ``name`` = ``"functions.X"``. Raises
    :class:`HarmonyParseError` when openai-harmony cannot parse it.
    """
    from openai_harmony import HarmonyError

    ids = _to_ids(rendered)
    if not ids or ids[0] != START:
        raise HarmonyParseError("a rendered conversation starts with <|start|>")
    try:
        parsed = get_encoding().parse_messages_from_completion_tokens(ids, None, strict=True)
    except HarmonyError as e:
        raise HarmonyParseError(f"conversation is not valid Harmony ({e}): {_snippet(ids)!r}") from None
    out = []
    for m in parsed:
        role = m.author.role.value
        text = "".join(getattr(c, "text", "") for c in m.content)
        if role == "tool" or (m.author.name and role != "assistant"):
            out.append({"role": "tool", "content": text, "channel": m.channel, "recipient": None,
                        "name": m.author.name, "content_type": None})
            continue
        recipient = m.recipient.strip() if m.recipient else None
        out.append({"role": role, "content": text, "channel": m.channel,
                    "recipient": None if recipient == "assistant" else recipient, "name": None,
                    "content_type": normalise_content_type(m.content_type)})
    return out


def canonical_message(msg: dict) -> dict:
    """A message dict as it comes back from :func:`parse_conversation` (for comparisons)."""
    from cargogym.harmony.render import _qualify

    role = msg["role"]
    if role == "tool":
        return {"role": "tool", "content": msg.get("content") or "", "channel": msg.get("channel") or "commentary",
                "recipient": None, "name": _qualify(msg["name"]), "content_type": None}
    recipient = msg.get("recipient")
    channel = msg.get("channel")
    if role == "assistant" and recipient:
        recipient = _qualify(recipient)
        channel = channel or "commentary"
    return {"role": role, "content": msg.get("content") or "", "channel": channel if role == "assistant" else None,
            "recipient": recipient if role == "assistant" else None, "name": None,
            "content_type": normalise_content_type(msg.get("content_type")) if role == "assistant" and recipient else None}
