"""cargogym: Gymnasium-style RL environments in which an LLM agent fixes Rust crates.

The agent acts through tools (apply_patch, run_tests, delegate_subtask, ...) and is rewarded by
cargo. Importing the package registers the environments with Gymnasium and points openai-harmony
at an offline vocabulary when one is available.
"""

from cargogym.harmony.vocab import configure_offline_vocab as _configure_offline_vocab

__version__ = "0.1.0"

_configure_offline_vocab()


def _register_envs() -> None:
    try:
        from cargogym.envs import register_envs
    except ImportError:  # envs not built yet / optional deps missing
        return
    register_envs()


_register_envs()
