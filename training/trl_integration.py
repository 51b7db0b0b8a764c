"""TRL recipe: TRL's ``GRPOTrainer`` trains a policy on cargogym env rewards (``rollout_func``).

Recipe (what ``tests/test_training_trl.py`` runs, with a tiny GPT-OSS on CPU)::

    from trl import GRPOConfig, GRPOTrainer
    from cargogym.training.choice import make_choice_tasks
    from cargogym.rewards.trl import make_report_reward
    from cargogym.training.trl_integration import CargoRollout, make_tokenizer

    choice_tasks = make_choice_tasks(tasks, k=4)           # tasks: cargogym Task records
    rollout = CargoRollout(choice_tasks)                    # real RustRepo-v0 episodes, cargo-graded
    tokenizer = make_tokenizer()                            # Harmony ids, left padding
    args = GRPOConfig(output_dir="out", use_cpu=True, bf16=False, num_generations=4,
                      per_device_train_batch_size=4, max_completion_length=1, max_steps=10,
                      beta=0.0, loss_type="dapo", report_to=[])
    trainer = GRPOTrainer(model=model, reward_funcs=[make_report_reward("resolved")], args=args,
                          train_dataset=rollout.dataset(), processing_class=tokenizer,
                          rollout_func=rollout)
    trainer.train()

How it fits TRL 1.16: ``rollout_func(prompts, trainer)`` receives the dataset prompts (each one
already repeated ``num_generations`` times) and returns one completion per entry:
``prompt_ids``, ``completion_ids``, ``logprobs`` and extra columns (``grading`` — the cargo
grading report —, ``trajectory``, ``env_reward``, ``resolved``, ``instance_id``) that TRL forwards
to the reward functions: cargogym's own ``cargogym.rewards.trl.make_report_reward(spec)`` scores
the reports with any reward spec (no second cargo run), and :func:`env_reward` returns the env's
reward as is. For multi-turn agents whose completions interleave tool results, also
return ``env_mask`` (1 = model token, 0 = environment token) so tool output stays out of the loss.

Here each completion is one letter choosing a candidate patch (:mod:`cargogym.training.choice`),
played in the env as ``apply_patch`` + ``submit``: rewards are the env's reward spec over the real
cargo grading report. A full-text agent plugs into the same hook by generating Harmony
completions with the trainer's model and stepping the env until it ends.
"""

from __future__ import annotations

from typing import Any, Sequence

from cargogym.training.choice import ChoiceTask, choose, letter_ids


class CargoRollout:
    """A TRL ``rollout_func``: sample a letter with the trainer's model, play it in the env."""

    def __init__(self, choice_tasks: Sequence[ChoiceTask], env_id: str = "RustRepo-v0",
                 env_kwargs: dict[str, Any] | None = None, temperature: float = 1.0, seed: int = 0):
        import torch

        self.tasks = list(choice_tasks)
        self.by_prompt = {self.prompt_text(c): c for c in self.tasks}
        self.k = len(self.tasks[0].candidates)
        self.choice_ids = letter_ids(self.k)
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.temperature = temperature
        self.generator = torch.Generator().manual_seed(seed)
        self.envs: dict[str, Any] = {}
        self.history: list[dict[str, Any]] = []     # every episode played: instance_id, choice, reward

    @staticmethod
    def prompt_text(c: ChoiceTask) -> str:
        from cargogym.harmony.render import decode

        return decode(c.prompt_ids())

    def dataset(self):
        """A ``datasets.Dataset`` with the prompt column TRL iterates over."""
        from datasets import Dataset

        return Dataset.from_dict({"prompt": list(self.by_prompt), "instance_id": [c.instance_id for c in self.tasks]})

    def _env(self, c: ChoiceTask):
        env = self.envs.get(c.instance_id)
        if env is None:
            from cargogym.rollouts.episode import make_env

            env = make_env(self.env_id, c.task.to_dict(), self.env_kwargs)
            self.envs[c.instance_id] = env
        return env

    def play(self, c: ChoiceTask, choice: int) -> dict[str, Any]:
        """One real episode: apply candidate ``choice``, submit; returns the episode record."""
        env = self._env(c)
        env.reset(options={"task": c.instance_id})
        _, _, term, trunc, _ = env.step({"tool": "apply_patch", "arguments": {"diff": c.candidates[choice]}})
        if not (term or trunc):
            env.step({"tool": "submit", "arguments": {"summary": f"candidate {choice}"}})
        return env.unwrapped.trajectory()

    def __call__(self, prompts: list[Any], trainer: Any) -> dict[str, list]:
        tasks = []
        for p in prompts:
            key = p if isinstance(p, str) else str(p)
            if key not in self.by_prompt:
                raise KeyError("rollout_func got a prompt that is not one of the CargoRollout dataset's")
            tasks.append(self.by_prompt[key])
        model = trainer.accelerator.unwrap_model(trainer.model) if hasattr(trainer, "accelerator") else trainer.model
        was_training = model.training
        model.eval()
        prompt_ids = [c.prompt_ids() for c in tasks]
        chosen, lps = choose(model, prompt_ids, self.choice_ids, self.temperature, self.generator)
        if was_training:
            model.train()
        rewards, resolved, gradings, trajectories = [], [], [], []
        for c, k in zip(tasks, chosen):
            rec = self.play(c, k)
            r = float(rec.get("reward", 0.0))
            ok = bool((rec.get("grading") or {}).get("resolved"))
            rewards.append(r)
            resolved.append(ok)
            gradings.append(rec.get("grading"))
            trajectories.append({key: rec.get(key) for key in ("steps", "turns", "delegations", "conflicts",
                                                                 "role_violations", "frames", "reward")})
            self.history.append({"instance_id": c.instance_id, "choice": k, "gold": c.gold, "reward": r,
                                 "resolved": ok, "status": rec.get("status")})
        return {"prompt_ids": prompt_ids, "completion_ids": [[self.choice_ids[k]] for k in chosen],
                "logprobs": [[lp] for lp in lps], "env_reward": rewards, "resolved": resolved,
                "grading": gradings, "trajectory": trajectories,
                "instance_id": [c.instance_id for c in tasks]}

    def close(self) -> None:
        for env in self.envs.values():
            try:
                env.close()
            except Exception:
                pass
        self.envs.clear()


def env_reward(prompts=None, completions=None, env_reward=None, **kwargs) -> list[float]:
    """TRL reward function: the env's cargo-graded reward that the rollout stored per completion."""
    if env_reward is None:
        raise ValueError("env_reward missing: use cargogym's CargoRollout as the trainer's rollout_func")
    return [float(r) for r in env_reward]


def resolved_reward(prompts=None, completions=None, resolved=None, **kwargs) -> list[float]:
    """TRL reward function: 1.0 when cargo graded the episode FULL (all FAIL_TO_PASS and PASS_TO_PASS)."""
    if resolved is None:
        raise ValueError("resolved missing: use cargogym's CargoRollout as the trainer's rollout_func")
    return [1.0 if r else 0.0 for r in resolved]


def make_tokenizer():
    """The Harmony tokenizer with left padding, as GRPOTrainer requires."""
    import copy

    from cargogym.harmony.tokenizer import build_hf_tokenizer

    tok = copy.deepcopy(build_hf_tokenizer())   # the builder's instance is shared (lru_cache)
    tok.padding_side = "left"
    return tok
