"""Text spaces for LLM observations and actions.

:class:`UnicodeText` is gymnasium's :class:`~gymnasium.spaces.Text` whose membership test accepts
any string of allowed length (arbitrary Unicode: source code, compiler output, emoji), not only
characters of the sampling charset. Sampling draws from printable ASCII plus newline and tab.
"""

from __future__ import annotations

import string
from typing import Any

from gymnasium.spaces import Text

SAMPLE_CHARSET = string.ascii_letters + string.digits + string.punctuation + " \n\t"


class UnicodeText(Text):
    """Any ``str`` with ``min_length <= len <= max_length`` (samples from :data:`SAMPLE_CHARSET`)."""

    def __init__(self, max_length: int, *, min_length: int = 0, seed: Any = None) -> None:
        super().__init__(max_length, min_length=min_length, charset=SAMPLE_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"

    def __eq__(self, other: object, /) -> bool:
        return isinstance(other, UnicodeText) and (self.min_length, self.max_length) == (other.min_length, other.max_length)
