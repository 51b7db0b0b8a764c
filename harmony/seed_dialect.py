"""The seed's own chat dialect, a second formatter for pipelines built on it (Harmony is the default).

Grammar (every block ends with one ``\\n`` that the parser removes again)::

    <|developer|>{system + role prompt + developer text}[\\n\\n# Tools\\n{one JSON tool per line}]
    <|user|>{text}
    <|assistant|><|thinking|>{analysis}<|/thinking|>
    <|assistant|><|tool_call|><|tool_call_id|>call_{k}<|name|>{tool}\\n{JSON arguments}
    <|tool_result|><|tool_call_id|>call_{k}<|name|>{tool}\\n{output}
    <|assistant|>{final text}
    <|endoftext|>

Tool names are written without ``functions.``. A tool result answers the latest call of the same
tool. Message text may not contain the dialect's markers (:class:`SeedFormatError`). For token
ids, add :data:`SEED_TOKENS` to a tokenizer as special tokens.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from cargogym.errors import CargogymError

DEV, USER, ASSISTANT = "<|developer|>", "<|user|>", "<|assistant|>"
THINK, END_THINK = "<|thinking|>", "<|/thinking|>"
CALL, RESULT, CALL_ID, NAME, EOT = "<|tool_call|>", "<|tool_result|>", "<|tool_call_id|>", "<|name|>", "<|endoftext|>"
SEED_TOKENS = [DEV, USER, ASSISTANT, THINK, END_THINK, CALL, RESULT, CALL_ID, NAME, EOT]
_BLOCK = re.compile("(" + "|".join(re.escape(t) for t in (DEV, USER, ASSISTANT, RESULT, EOT)) + ")")
_MARKERS = re.compile("|".join(re.escape(t) for t in SEED_TOKENS))
TOOLS_HEADER = "\n\n# Tools\n"


class SeedFormatError(CargogymError, ValueError):
    """Text that is not valid seed dialect, or content that contains one of its markers."""


def _clean(text: str, what: str) -> str:
    m = _MARKERS.search(text or "")
    if m:
        raise SeedFormatError(f"{what} contains the seed-dialect marker {m.group()!r}")
    return text or ""


def _short(name: str) -> str:
    return name[len("functions."):] if name.startswith("functions.") else name


def render_seed(messages: Sequence[dict], tools: Sequence[dict] | None = None,
                role_prompt: str | None = None, add_generation_prompt: bool = False) -> str:
    """Seed-dialect text of a conversation; ``add_generation_prompt`` appends ``<|assistant|>``
    (a completion prompt) instead of ``<|endoftext|>``."""
    dev = [m.get("content") or "" for m in messages if m.get("role") == "system"]
    dev += [role_prompt] if role_prompt else []
    dev += [m.get("content") or "" for m in messages if m.get("role") == "developer"]
    out: list[str] = []
    head = "\n\n".join(_clean(p, "developer text") for p in dev if p)
    if tools:
        head += TOOLS_HEADER + "\n".join(json.dumps(t, sort_keys=True, ensure_ascii=False) for t in tools)
    if head:
        out.append(DEV + head + "\n")
    n_calls = 0
    open_calls: dict[str, str] = {}
    for i, m in enumerate(messages):
        role = m.get("role")
        text = _clean(m.get("content") or "", f"message #{i}")
        if role in ("system", "developer"):
            continue
        if role == "user":
            out.append(USER + text + "\n")
        elif role == "assistant":
            if m.get("recipient"):
                name = _clean(_short(m["recipient"]), "tool name")
                n_calls += 1
                cid = f"call_{n_calls}"
                open_calls[name] = cid
                out.append(f"{ASSISTANT}{CALL}{CALL_ID}{cid}{NAME}{name}\n{text}\n")
            elif m.get("channel") == "analysis":
                out.append(f"{ASSISTANT}{THINK}{text}{END_THINK}\n")
            else:
                out.append(ASSISTANT + text + "\n")
        elif role == "tool":
            name = _clean(_short(m.get("name") or ""), "tool name")
            cid = open_calls.pop(name, f"call_{n_calls}")
            out.append(f"{RESULT}{CALL_ID}{cid}{NAME}{name}\n{text}\n")
        else:
            raise SeedFormatError(f"message #{i}: unknown role {role!r}")
    out.append(ASSISTANT if add_generation_prompt else EOT)
    return "".join(out)


def _strip_nl(s: str) -> str:
    return s[:-1] if s.endswith("\n") else s


def _call_parts(body: str, what: str) -> tuple[str, str, str]:
    """``<|tool_call_id|>ID<|name|>NAME\\nREST`` -> (id, name, rest)."""
    if not body.startswith(CALL_ID) or NAME not in body:
        raise SeedFormatError(f"{what}: expected {CALL_ID}ID{NAME}NAME")
    cid, _, rest = body[len(CALL_ID):].partition(NAME)
    name, nl, payload = rest.partition("\n")
    if not nl:
        raise SeedFormatError(f"{what}: missing newline after the tool name")
    return cid, name, payload


def _assistant_block(body: str, i: int) -> dict:
    if body.startswith(THINK):
        inner = body[len(THINK):]
        if END_THINK not in inner:
            return _msg("assistant", inner, "analysis")  # truncated thinking
        thinking, _, rest = inner.partition(END_THINK)
        if rest.strip():
            raise SeedFormatError(f"block #{i}: text after {END_THINK} needs its own {ASSISTANT}")
        return _msg("assistant", thinking, "analysis")
    if body.startswith(CALL):
        _, name, payload = _call_parts(body[len(CALL):], f"block #{i}")
        return {**_msg("assistant", payload, "commentary"), "recipient": f"functions.{name}",
                "content_type": "json"}
    if _MARKERS.search(body):
        raise SeedFormatError(f"block #{i}: unexpected marker in assistant text")
    return _msg("assistant", body, "final")


def _msg(role: str, content: str, channel: str | None = None) -> dict:
    return {"role": role, "content": content, "channel": channel, "recipient": None, "name": None,
            "content_type": None}


def parse_seed(text: str) -> list[dict]:
    """Messages of seed-dialect text (the developer block comes back as one developer message
    whose content excludes the tools listing). Raises :class:`SeedFormatError`."""
    parts = _BLOCK.split(text)
    if parts[0].strip():
        raise SeedFormatError(f"text before the first block: {parts[0][:60]!r}")
    out: list[dict] = []
    for i in range(1, len(parts), 2):
        marker, body = parts[i], _strip_nl(parts[i + 1])
        if marker == EOT:
            break
        if marker == DEV:
            out.append(_msg("developer", body.split(TOOLS_HEADER)[0]))
        elif marker == USER:
            out.append(_msg("user", body))
        elif marker == ASSISTANT:
            out.append(_assistant_block(body, i // 2))
        else:
            _, name, payload = _call_parts(body, f"block #{i // 2}")
            out.append({**_msg("tool", payload, "commentary"), "name": f"functions.{name}"})
    return out


def parse_seed_completion(text: str):
    """A :class:`~cargogym.harmony.parse.ParsedCompletion` from text generated after ``<|assistant|>``."""
    from cargogym.harmony.parse import HarmonyParseError, ParsedCompletion, ToolCall

    cut = min((p for p in (text.find(EOT), text.find(RESULT), text.find(USER)) if p >= 0), default=len(text))
    try:
        msgs = parse_seed(ASSISTANT + text[:cut])
    except SeedFormatError as e:
        raise HarmonyParseError(str(e)) from None
    tool_call = None
    for m in msgs:
        if m["recipient"] and tool_call is None:
            name = _short(m["recipient"])
            try:
                args = json.loads(m["content"]) if m["content"].strip() else {}
            except json.JSONDecodeError as e:
                raise HarmonyParseError(f"tool call to {name}: arguments are not valid JSON ({e.msg})",
                                        tool_name=name, messages=msgs) from None
            if not isinstance(args, dict):
                raise HarmonyParseError(f"tool call to {name}: arguments must be a JSON object",
                                        tool_name=name, messages=msgs)
            tool_call = ToolCall(name=name, arguments=args, raw=m["content"])
    finals = [m["content"] for m in msgs if m["channel"] == "final"]
    return ParsedCompletion(messages=msgs, tool_call=tool_call, final=finals[-1] if finals else None,
                            analysis="\n".join(m["content"] for m in msgs if m["channel"] == "analysis"))
