"""cargogym.envs: the Gymnasium environments.

``register_envs()`` registers ``cargogym/RustRepo-v0`` (:class:`~cargogym.envs.rust_repo.RustRepoEnv`)
and ``cargogym/MultiRoleRust-v0`` (:class:`~cargogym.envs.multi_role.MultiRoleRustEnv`); importing
this package calls it. Idempotent.
"""

from __future__ import annotations

ENV_IDS = {
    "cargogym/RustRepo-v0": "cargogym.envs.rust_repo:RustRepoEnv",
    "cargogym/MultiRoleRust-v0": "cargogym.envs.multi_role:MultiRoleRustEnv",
}


def register_envs() -> None:
    """Register both env ids with Gymnasium (no-op for ids already registered)."""
    import gymnasium

    for env_id, entry_point in ENV_IDS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point, disable_env_checker=False)


register_envs()
