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


_PROBE = """
import sys
if sys.argv[1] == "with-cargogym":
    import cargogym  # noqa: F401  (points openai-harmony at the offline vocabulary)
from openai_harmony import Conversation, HarmonyEncodingName, Message, Role, load_harmony_encoding

enc = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
convo = Conversation.from_messages([Message.from_role_and_content(Role.USER, "Fix the crate.")])
print(enc.decode_utf8(enc.render_conversation_for_completion(convo, Role.ASSISTANT)))
"""


def test_fresh_interpreter_loads_gpt_oss_encoding_offline_after_import(tmp_path):
    """A new Python process with TIKTOKEN_ENCODINGS_BASE unset, an empty tiktoken download cache and
    every download routed to a dead proxy: after ``import cargogym`` openai-harmony loads the
    Harmony GPT-OSS encoding and renders a message; without the import the same process cannot."""
    import os
    import subprocess
    import sys

    dead = "http://127.0.0.1:9"
    env = {k: v for k, v in os.environ.items() if k != "TIKTOKEN_ENCODINGS_BASE"}
    env.update({"TIKTOKEN_RS_CACHE_DIR": str(tmp_path / "empty-cache"), "HTTPS_PROXY": dead, "https_proxy": dead,
                "HTTP_PROXY": dead, "http_proxy": dead, "ALL_PROXY": dead, "NO_PROXY": ""})
    probe = tmp_path / "probe.py"
    probe.write_text(_PROBE)

    def run(mode: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(probe), mode], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=120)

    ok = run("with-cargogym")
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert ok.stdout.strip() == "<|start|>user<|message|>Fix the crate.<|end|><|start|>assistant"
    control = run("without")   # proves the sandbox above really is offline
    assert control.returncode != 0 and "vocab" in control.stderr
