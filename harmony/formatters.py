"""Selectable conversation formatters: ``"harmony"`` (default, openai-harmony) and ``"seed"``.

A formatter turns cargogym message dicts into training text and back:
``render_text(messages, tools, role_prompt)`` (full conversation, training form),
``render_prompt_text(...)`` (ends where the model continues), ``parse_text(text)`` (all messages),
``parse_completion(text)`` (a :class:`~cargogym.harmony.parse.ParsedCompletion`) and
``validate(text, messages)`` which raises :class:`FormatValidationError` unless ``text`` parses
back (with the formatter's own parser — openai-harmony for Harmony) into ``messages``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable

from cargogym.errors import CargogymError


class FormatValidationError(CargogymError, ValueError):
    """A rendered sample that does not parse back into its messages."""


def _conversation_part(msgs: Sequence[dict]) -> list[dict]:
    return [m for m in msgs if m["role"] not in ("system", "developer")]


def _harmony_validate(text: str, messages: Sequence[dict]) -> None:
    from cargogym.harmony.parse import HarmonyParseError, canonical_message, parse_conversation

    try:
        back = _conversation_part(parse_conversation(text))
    except HarmonyParseError as e:
        raise FormatValidationError(str(e)) from None
    want = [canonical_message(m) for m in _conversation_part(messages)]
    _compare(back, want)


def _seed_validate(text: str, messages: Sequence[dict]) -> None:
    from cargogym.harmony.parse import canonical_message
    from cargogym.harmony.seed_dialect import SeedFormatError, parse_seed

    try:
        back = _conversation_part(parse_seed(text))
    except SeedFormatError as e:
        raise FormatValidationError(str(e)) from None
    want = []
    for m in _conversation_part(messages):
        c = canonical_message(m)
        if c["role"] == "assistant" and not c["recipient"] and c["channel"] != "analysis":
            c["channel"] = "final"  # the dialect has thinking / tool call / text only
        if c["recipient"]:
            c["content_type"] = "json"
        want.append(c)
    _compare(back, want)


def _compare(back: list[dict], want: list[dict]) -> None:
    if len(back) != len(want):
        raise FormatValidationError(f"parsed back {len(back)} messages, expected {len(want)}")
    for i, (b, w) in enumerate(zip(back, want)):
        if b != w:
            diff = {k: (b.get(k), w.get(k)) for k in w if b.get(k) != w.get(k)}
            raise FormatValidationError(f"message #{i} differs after parsing back: {str(diff)[:200]}")


@dataclass(frozen=True)
class Formatter:
    name: str
    render_text: Callable[..., str]
    render_prompt_text: Callable[..., str]
    parse_text: Callable[[str], list[dict]]
    parse_completion: Callable[[str], object]
    validate: Callable[[str, Sequence[dict]], None]


def _harmony() -> Formatter:
    from cargogym.harmony import parse, render

    return Formatter(
        name="harmony",
        render_text=lambda m, tools=None, role_prompt=None: render.render_text(m, tools, role_prompt),
        render_prompt_text=lambda m, tools=None, role_prompt=None: render.render_text(
            m, tools, role_prompt, training=False),
        parse_text=parse.parse_conversation,
        parse_completion=parse.parse_completion,
        validate=_harmony_validate,
    )


def _seed() -> Formatter:
    from cargogym.harmony import seed_dialect as sd

    return Formatter(
        name="seed",
        render_text=lambda m, tools=None, role_prompt=None: sd.render_seed(m, tools, role_prompt),
        render_prompt_text=lambda m, tools=None, role_prompt=None: sd.render_seed(
            m, tools, role_prompt, add_generation_prompt=True),
        parse_text=sd.parse_seed,
        parse_completion=sd.parse_seed_completion,
        validate=_seed_validate,
    )


FORMATTERS: dict[str, Callable[[], Formatter]] = {"harmony": _harmony, "seed": _seed}
DEFAULT_FORMATTER = "harmony"


def get_formatter(name: str = DEFAULT_FORMATTER) -> Formatter:
    """The formatter registered under ``name``; unknown name -> :class:`CargogymError`."""
    try:
        return FORMATTERS[name]()
    except KeyError:
        raise CargogymError(f"unknown formatter {name!r}; choose one of {sorted(FORMATTERS)}") from None
