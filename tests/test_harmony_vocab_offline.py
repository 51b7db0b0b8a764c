"""The offline o200k vocabulary: the user's TIKTOKEN_ENCODINGS_BASE wins, the project cache is
verified, and when neither exists the error says how to fix it."""

from __future__ import annotations

import shutil

import pytest

from cargogym.harmony import vocab


def test_user_variable_is_honoured(tmp_path, monkeypatch):
    src = vocab.find_vocab_dir()
    assert src is not None, "make install populates the project cache"
    shutil.copy(src / vocab.VOCAB_FILENAME, tmp_path / vocab.VOCAB_FILENAME)
    monkeypatch.setenv("TIKTOKEN_ENCODINGS_BASE", str(tmp_path))
    assert vocab.configure_offline_vocab() == tmp_path
    assert vocab.find_vocab_dir() == tmp_path


def test_project_cache_is_verified(monkeypatch):
    monkeypatch.delenv("TIKTOKEN_ENCODINGS_BASE", raising=False)
    folder = vocab.find_vocab_dir(verify=True)
    assert folder is not None and vocab._sha256(folder / vocab.VOCAB_FILENAME) == vocab.VOCAB_SHA256


def test_missing_vocab_error_says_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("TIKTOKEN_ENCODINGS_BASE", raising=False)
    monkeypatch.setattr(vocab, "candidate_dirs", lambda: [tmp_path / "nothing-here"])
    with pytest.raises(vocab.VocabUnavailableError) as e:
        vocab.require_vocab()
    assert "fetch_harmony_vocab.sh" in str(e.value) and "TIKTOKEN_ENCODINGS_BASE" in str(e.value)
    from cargogym.errors import CargogymError

    assert isinstance(e.value, CargogymError)  # the CLI prints it as one line
