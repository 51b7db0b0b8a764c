"""Sampling MALT trees as env rollouts (generator → verifier → refiner; arXiv 2412.01928).

Per task: ``branching[0]`` generator nodes; under each, ``branching[1]`` verifier nodes; under
each, ``branching[2]`` refiner nodes (any number of levels; roles and branching from
``configs/malt.yaml``). Every node is one episode of ``RustRepo-v0`` played by the same policy in
a different role (the role prompts and tools of ``configs/multi_agent_roles.yaml``: generator and
refiner = coder, verifier = reviewer) that starts from its parent's saved workspace state
(``Workspace.snapshot()`` restored into a fresh workspace) and is told what its ancestors produced
(the proposed diff, the critique) — all through the env's public reset options
(``{"role", "context", "snapshot"}``, see :func:`node_reset_options`). Leaves are graded by cargo
through the env's reward spec.

Levels run one after the other; all nodes of a level (across all tasks) are spread over Ray actors
(:class:`MaltWorkerImpl`: the rollouts module's ``EnvWorkerImpl`` plus the grade cache and the
node result, which needs the actor's live workspace; ``workers=0`` runs in-process). Scripted
policies (``policy.act(env)``) play whole nodes inside the actors; model policies generate batched
on the driver and step the actors' envs in lockstep, and every generated turn keeps its prompt ids,
completion ids and log-probs for GRPO.
"""

from __future__ import annotations

import hashlib
import random
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from cargogym.errors import CargogymError
from cargogym.rollouts.worker import EnvWorkerImpl
from cargogym.training.trees import MALT_ROLES, make_node

class MaltError(CargogymError):
    pass


from cargogym.rollouts.config import SamplingConfig  # noqa: E402  (one sampling section for every config)


@dataclass
class ValueConfig:
    op: str = "mean"            # mean | max | softmax
    temperature: float = 1.0    # softmax operator only
    threshold: float = 0.5      # V > threshold is "correct"
    scale: str = "grpo"         # grpo | dr_grpo advantages


@dataclass
class MaltConfig:
    roles: list = field(default_factory=lambda: list(MALT_ROLES))
    branching: Any = 3                      # int, or one int per level
    env_roles: dict = field(default_factory=lambda: {"generator": "coder", "verifier": "reviewer",
                                                     "refiner": "coder"})
    instructions: dict = field(default_factory=dict)   # extra instruction per MALT role (defaults below)
    policy: str = "malt-scripted"
    policy_kwargs: dict = field(default_factory=dict)  # scripted policies only (malt-scripted: p_fix, p_judge, p_refine)
    tasks: str | None = None
    limit: int | None = None
    families: list = field(default_factory=list)
    env: str = "RustRepo-v0"
    env_kwargs: dict = field(default_factory=dict)
    workers: int = 2                        # 0: in-process, no Ray
    slots_per_worker: int = 2
    max_steps: int = 8                      # turns per node
    grade_cache: bool = False               # memoise grading per crate state in each worker
    seed: int = 0
    out: str | None = None
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    value: ValueConfig = field(default_factory=ValueConfig)

    def level_branching(self) -> list[int]:
        b = self.branching
        levels = [int(b)] * len(self.roles) if isinstance(b, int) else [int(x) for x in b]
        if len(levels) != len(self.roles):
            raise MaltError(f"branching {b!r} has {len(levels)} levels but roles {self.roles} has {len(self.roles)}")
        if any(x < 1 for x in levels):
            raise MaltError(f"branching must be >= 1 at every level, got {levels}")
        return levels


DEFAULT_INSTRUCTIONS = {
    "generator": "Propose a fix: change the code with apply_patch, then call submit with a short summary.",
    "verifier": ("A colleague's proposed change is shown below and is already applied in your workspace. "
                 "Check it (read the code, run the tests), then answer on the final channel with APPROVE or "
                 "REQUEST_CHANGES followed by concrete comments."),
    "refiner": ("A proposed change and a review of it are shown below; the change is already applied in your "
                "workspace. Produce the final fix: keep what is right, fix what is wrong (apply_patch), then "
                "call submit."),
}


def node_context(role: str, ancestors: Sequence[dict[str, Any]], instructions: dict[str, str]) -> str:
    """The text a node gets after the task: its instruction and each ancestor's output."""
    parts = [instructions.get(role) or DEFAULT_INSTRUCTIONS.get(role, "")]
    for a in ancestors:
        out = (a.get("output") or "").strip()
        if a.get("role") in ("generator", "refiner"):
            parts.append(f"### Proposed change ({a['role']})\n```diff\n{out or '(no change)'}\n```")
        elif a.get("role"):
            parts.append(f"### Review ({a['role']})\n{out or '(no comments)'}")
    return "\n\n".join(p for p in parts if p)


def node_seed(base: int, tree_id: str, node_id: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{base}:{tree_id}:{node_id}".encode()).digest()[:4], "little")


# -- the env side ----------------------------------------------------------------------------
def node_reset_options(env_role: str | None, context: str, snapshot: dict[str, str | None] | None) -> dict[str, Any]:
    """The env reset options that make an episode this node's starting point: the root frame
    plays ``env_role`` (its prompt, tools and edit rule), the task message ends with ``context``,
    and the workspace starts from the parent's ``snapshot`` (None / {}: the task's broken state)."""
    opts: dict[str, Any] = {"context": context}
    if env_role:
        opts["role"] = env_role
    if snapshot:
        opts["snapshot"] = snapshot
    return opts


def node_result(env, spec: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """What the driver stores for a finished node (the env's public views and its record)."""
    u = env.unwrapped
    root_msgs = u.root_messages()
    frame_records = record.get("frames") or []
    root = frame_records[0] if frame_records else {}
    if spec.get("role") in ("generator", "refiner") or spec.get("env_role") == "coder":
        output = u.current_diff()
    else:
        output = root.get("result") or ""
    try:
        snapshot = u.workspace.snapshot()
    except Exception:  # a closed / broken workspace: the node cannot have children
        snapshot = None
    # the root's conversation before its first turn is what the role was given
    prompt_len = next((t["prompt_messages"] for t in record.get("turns") or [] if t.get("frame_id") == 0),
                      len(root_msgs))
    return {"record": record, "snapshot": snapshot, "output": output, "messages": root_msgs,
            "prompt_len": prompt_len, "tools": root.get("tools") or []}


class MaltWorkerImpl(EnvWorkerImpl):
    """An ``EnvWorkerImpl`` whose episodes are MALT nodes: ``reset`` (inherited) takes the node's
    ``reset_options`` (:func:`node_reset_options`); ``finish_node`` / ``run_node`` return the node
    result (:func:`node_result`), which needs the live workspace in this process.

    ``grade_cache=True`` memoises grading reports per crate state in this process
    (:mod:`cargogym.training.grade_cache`)."""

    def __init__(self, env_id: str, env_kwargs: dict[str, Any] | None = None, worker_index: int = 0,
                 fault: dict[str, Any] | None = None, grade_cache: bool = False):
        super().__init__(env_id, env_kwargs, worker_index, fault)
        if grade_cache:
            from cargogym.training import grade_cache as gc

            gc.install()

    def cache_stats(self) -> dict[str, int]:
        from cargogym.training import grade_cache as gc

        return gc.stats()

    def finish_node(self, slot: int) -> dict[str, Any]:
        from cargogym.rollouts.episode import finalize_record

        env, spec = self.envs[slot], self.specs[slot]
        record = finalize_record(env, spec, time.time() - self.started[slot], {})
        out = node_result(env, spec, record)
        self.close_slot(slot)
        return out

    def run_node(self, spec: dict[str, Any]) -> dict[str, Any]:
        """A whole node with a scripted policy (``act(env)``) inside the actor."""
        slot = -1
        self.reset(slot, spec)
        env = self.envs[slot]
        policy = make_scripted(spec["policy"], spec.get("seed"), spec.get("policy_kwargs") or {})
        if hasattr(policy, "begin_episode"):
            policy.begin_episode(env.unwrapped)
        for _ in range(spec.get("max_steps", 8) + 1):
            _, _, term, trunc, _ = env.step(policy.act(env.unwrapped))
            self.steps_taken += 1
            self._maybe_crash()
            if term or trunc:
                break
        return self.finish_node(slot)


# -- scripted MALT policy (tests, demos, smoke runs) -----------------------------------------
class MaltScriptedPolicy:
    """A role-aware scripted policy: generators fix with probability ``p_fix``, verifiers approve a
    correct change and otherwise request changes (right with probability ``p_judge``), refiners
    repair a rejected change with probability ``p_refine`` — all through the real env tools."""

    name = "malt-scripted"

    def __init__(self, seed: int | None = None, p_fix: float = 0.5, p_judge: float = 0.8, p_refine: float = 0.6):
        self.rng = random.Random(seed)
        self.p_fix, self.p_judge, self.p_refine = p_fix, p_judge, p_refine
        self._plan: list[Any] = []

    def begin_episode(self, u) -> None:
        role = u.active_role() or "coder"
        task = u.task
        diff = u.current_diff()
        fixed_already = bool(diff.strip()) and _same_change(diff, task.patch)
        if role == "reviewer":
            good = fixed_already if self.rng.random() < self.p_judge else not fixed_already
            verdict = "APPROVE: the change fixes the bug." if good else \
                "REQUEST_CHANGES: the change does not fix the failing tests."
            self._plan = [{"tool": "run_tests", "arguments": {}}, {"final": verdict}]
            return
        msgs = u.messages()
        user = next((m["content"] for m in reversed(msgs) if m["role"] == "user"), "")
        refining = "### Review" in user
        if refining:
            approved = "APPROVE" in user.split("### Review", 1)[1][:200]
            p = 0.9 if approved else self.p_refine
            want_fix = fixed_already if approved and self.rng.random() < p else self.rng.random() < p
        else:
            want_fix = self.rng.random() < self.p_fix
        steps: list[Any] = []
        if want_fix and not fixed_already:
            steps.append({"tool": "apply_patch", "arguments": {"diff": task.patch}})
        steps.append({"tool": "submit", "arguments": {"summary": "done"}})
        self._plan = steps

    def act(self, u) -> Any:
        return self._plan.pop(0) if self._plan else {"tool": "submit", "arguments": {"summary": "done"}}


def _same_change(diff: str, patch: str) -> bool:
    plus = lambda d: sorted(l[1:].strip() for l in d.splitlines() if l.startswith("+") and not l.startswith("+++"))  # noqa: E731
    return plus(diff) == plus(patch)


def make_scripted(name: str, seed: int | None, kwargs: dict[str, Any]):
    if name == "malt-scripted":
        return MaltScriptedPolicy(seed=seed, **kwargs)
    from cargogym.policies.registry import make_scripted_policy

    return make_scripted_policy(name, seed=seed)


SCRIPTED = {"malt-scripted", "oracle", "random", "noop"}
MALT_SCRIPTED_KWARGS = ("p_fix", "p_judge", "p_refine")


def check_policy_kwargs(policy: str, kwargs: dict[str, Any] | None) -> None:
    """``policy_kwargs`` are only for ``malt-scripted`` (probabilities in [0, 1]); MaltError otherwise."""
    if not kwargs:
        return
    if policy != "malt-scripted":
        raise MaltError(f"policy_kwargs are only used by the malt-scripted policy, not {policy!r}")
    for key, value in kwargs.items():
        if key not in MALT_SCRIPTED_KWARGS:
            raise MaltError(f"unknown malt-scripted policy_kwargs key {key!r}; expected one of {MALT_SCRIPTED_KWARGS}")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
            raise MaltError(f"policy_kwargs.{key} must be a probability in [0, 1], got {value!r}")


# -- worker pool (Ray actors, or in-process) -------------------------------------------------
class _Pool:
    def __init__(self, n: int, env_id: str, env_kwargs: dict[str, Any], grade_cache: bool = False):
        self.local = n <= 0
        if self.local:
            self.actors = [MaltWorkerImpl(env_id, env_kwargs, 0, None, grade_cache)]
        else:
            import ray

            from cargogym.rollouts.runner import ensure_ray

            ensure_ray(num_cpus=max(n, 1))
            Actor = ray.remote(num_cpus=1, max_restarts=2, max_task_retries=0)(MaltWorkerImpl)
            self.actors = [Actor.remote(env_id, env_kwargs, i, None, grade_cache) for i in range(n)]

    def call(self, i: int, method: str, *args: Any):
        if self.local:
            try:
                return ("ok", getattr(self.actors[i], method)(*args))
            except Exception as e:  # noqa: BLE001
                return ("err", e)
        return getattr(self.actors[i], method).remote(*args)

    def get(self, ref):
        if self.local:
            kind, val = ref
            if kind == "err":
                raise val
            return val
        import ray

        return ray.get(ref)

    def wait_one(self, refs: list):
        if self.local:
            return refs[0]
        import ray

        ready, _ = ray.wait(refs, num_returns=1)
        return ready[0]

    def close(self) -> None:
        if self.local:
            self.actors[0].shutdown()
            return
        import ray

        for a in self.actors:
            try:
                ray.kill(a)
            except Exception:
                pass


def _run_scripted_level(pool: _Pool, specs: list[dict[str, Any]],
                        on_done: Callable[[], None] | None = None) -> list[dict[str, Any] | Exception]:
    """Whole nodes inside the actors, one per actor at a time; ``on_done()`` after each node."""
    done = on_done or (lambda: None)
    if pool.local:
        results = []
        for spec in specs:
            results.append(_get_or_exc(pool, pool.call(0, "run_node", spec)))
            done()
        return results
    results: list[Any] = [None] * len(specs)
    queue = list(range(len(specs)))
    inflight: dict[Any, tuple[int, int]] = {}
    free = list(range(len(pool.actors)))
    while queue or inflight:
        while queue and free:
            a, k = free.pop(), queue.pop(0)
            inflight[pool.call(a, "run_node", specs[k])] = (a, k)
        ref = pool.wait_one(list(inflight))
        a, k = inflight.pop(ref)
        free.append(a)
        results[k] = _get_or_exc(pool, ref)
        done()
    return results


def _get_or_exc(pool: _Pool, ref) -> Any:
    try:
        return pool.get(ref)
    except Exception as e:  # noqa: BLE001
        return e


def _run_model_level(pool: _Pool, specs: list[dict[str, Any]], policy, sampling, slots_per_worker: int,
                     max_steps: int, on_done: Callable[[], None] | None = None) -> list[dict[str, Any] | Exception]:
    """Lockstep: one batched ``policy.generate`` over every live node, then one env step each;
    ``on_done()`` after each node."""
    done = on_done or (lambda: None)
    results: list[Any] = [None] * len(specs)
    queue = list(range(len(specs)))
    slots = [(a, s) for s in range(slots_per_worker) for a in range(len(pool.actors))]
    live: dict[tuple[int, int], dict[str, Any]] = {}
    while queue or live:
        for key in slots:
            if key not in live and queue:
                k = queue.pop(0)
                try:
                    view = pool.get(pool.call(key[0], "reset", key[1], specs[k]))
                    live[key] = {"k": k, "view": view, "turns": []}
                except Exception as e:  # noqa: BLE001
                    results[k] = e
                    done()
        batch = [key for key, v in live.items() if not v["view"]["done"] and len(v["turns"]) < max_steps + 1]
        if batch:
            comps = policy.generate([live[key]["view"]["messages"] for key in batch], sampling,
                                    [live[key]["view"]["tools"] for key in batch])
            refs = []
            for key, c in zip(batch, comps):
                live[key]["turns"].append({"prompt_ids": c.prompt_ids, "completion_ids": c.token_ids,
                                           "logprobs": c.logprobs, "text": c.text})
                refs.append((key, pool.call(key[0], "step", key[1], c.to_action())))
            for key, ref in refs:
                try:
                    live[key]["view"] = pool.get(ref)
                except Exception as e:  # noqa: BLE001
                    results[live.pop(key)["k"]] = e
                    done()
        for key in [key for key, v in live.items() if v["view"]["done"] or len(v["turns"]) > max_steps]:
            entry = live.pop(key)
            try:
                out = pool.get(pool.call(key[0], "finish_node", key[1]))
                out["turns"] = entry["turns"]
                results[entry["k"]] = out
            except Exception as e:  # noqa: BLE001
                results[entry["k"]] = e
            done()
    return results


# -- the driver ------------------------------------------------------------------------------
def _merge_turns(generated: list[dict[str, Any]] | None, record: dict[str, Any]) -> list[dict[str, Any]]:
    rec_turns = record.get("turns") or []
    out = []
    for i, t in enumerate(rec_turns):
        g = generated[i] if generated and i < len(generated) else {}
        out.append({"prompt_ids": g.get("prompt_ids"), "completion_ids": g.get("completion_ids") or t.get("token_ids"),
                    "logprobs": g.get("logprobs") or t.get("logprobs"), "tool": t.get("tool"),
                    "arguments": t.get("arguments"), "final": t.get("final"),
                    "observation": (t.get("observation") or "")[:4000], "error": t.get("error"),
                    "turn_id": t.get("turn_id", i), "frame_id": t.get("frame_id"), "role": t.get("role")})
    return out


class MaltSampler:
    """A worker pool kept across calls (``with MaltSampler(cfg) as s: s.sample(tasks, policy)``)."""

    def __init__(self, cfg: MaltConfig):
        self.cfg = cfg
        self.branching = cfg.level_branching()
        check_policy_kwargs(cfg.policy, cfg.policy_kwargs)
        # every node episode has cfg.max_steps turns (the env's own budget)
        self.pool = _Pool(cfg.workers, cfg.env, {**cfg.env_kwargs, "max_steps": cfg.max_steps}, cfg.grade_cache)

    def __enter__(self) -> "MaltSampler":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.pool.close()

    def cache_stats(self) -> dict[str, int]:
        """Grade-cache hits / misses summed over the workers."""
        total: dict[str, int] = {}
        for i in range(len(self.pool.actors)):
            for k, v in self.pool.get(self.pool.call(i, "cache_stats")).items():
                total[k] = total.get(k, 0) + v
        return total

    def sample(self, tasks: Sequence[Any], policy: Any = None, seed: int | None = None,
               on_level: Callable[[int, int, float], None] | None = None,
               on_node: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
        """One tree per task. ``policy``: a model policy object, or None for ``cfg.policy``.
        ``on_level(level, nodes, seconds)`` after each level, ``on_node(level)`` after each node."""
        from cargogym.policies.base import Sampling

        cfg = self.cfg
        seed = cfg.seed if seed is None else seed
        policy_name = cfg.policy if policy is None else getattr(policy, "name", "policy")
        scripted = policy is None and cfg.policy in SCRIPTED
        if policy is None and not scripted:
            from cargogym.policies.registry import make_policy

            policy = make_policy(cfg.policy)
        sampling = Sampling(temperature=cfg.sampling.temperature, top_p=cfg.sampling.top_p,
                            max_new_tokens=cfg.sampling.max_new_tokens)
        instructions = {**DEFAULT_INSTRUCTIONS, **(cfg.instructions or {})}
        trees = []
        for t in tasks:
            td = t.to_dict() if hasattr(t, "to_dict") else dict(t)
            tree_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{td['instance_id']}:{seed}").hex[:16]
            trees.append({"tree_id": tree_id, "instance_id": td["instance_id"], "task": td,
                          "roles": list(cfg.roles), "branching": self.branching, "policy": policy_name,
                          "seed": seed, "created_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                          "nodes": [make_node(0, -1, None, sample=False, status="ok")]})
        frontier = [(k, 0) for k in range(len(trees))]   # (tree index, node id) to expand
        for level, role in enumerate(cfg.roles):
            start = time.time()
            specs, where = [], []
            for k, nid in frontier:
                tree = trees[k]
                parent = tree["nodes"][nid]
                ancestors = _ancestors(tree, nid)
                for _ in range(self.branching[level]):
                    node_id = len(tree["nodes"])
                    tree["nodes"].append(make_node(node_id, nid, role))
                    env_role = cfg.env_roles.get(role)
                    specs.append({"episode_key": f"{tree['tree_id']}:{node_id}", "task": tree["task"], "role": role,
                                  "env_role": env_role,
                                  "reset_options": node_reset_options(env_role, node_context(role, ancestors, instructions),
                                                                      parent.get("snapshot")),
                                  "seed": node_seed(seed, tree["tree_id"], node_id), "max_steps": cfg.max_steps,
                                  "policy": policy_name if scripted else None, "policy_name": policy_name,
                                  "policy_kwargs": dict(cfg.policy_kwargs or {}) if scripted else {}})
                    where.append((k, node_id))
            done = (lambda lvl=level: on_node(lvl)) if on_node is not None else None
            if scripted:
                results = _run_scripted_level(self.pool, specs, done)
            else:
                results = _run_model_level(self.pool, specs, policy, sampling, cfg.slots_per_worker, cfg.max_steps,
                                           done)
            frontier = []
            for (k, node_id), res in zip(where, results):
                node = trees[k]["nodes"][node_id]
                if _store_result(node, res):
                    frontier.append((k, node_id))
            if on_level is not None:
                on_level(level, len(specs), time.time() - start)
        return trees


def _store_result(node: dict[str, Any], res: Any) -> bool:
    """Fill ``node`` from a worker result; True when the node can have children."""
    if isinstance(res, Exception) or res is None:
        node.update(status="infra_error", error="".join(traceback.format_exception_only(res))[-2000:]
                    if isinstance(res, Exception) else "no result")
        return False
    rec = res["record"]
    node.update(status=rec.get("status", "ok"), reward=float(rec.get("reward", 0.0)),
                grading=rec.get("grading"), output=res.get("output"), snapshot=res.get("snapshot"),
                messages=res.get("messages") or [], prompt_len=res.get("prompt_len", 3),
                tools=res.get("tools") or [], turns=_merge_turns(res.get("turns"), rec),
                delegation={"frames": rec.get("frames"), "turns": rec.get("turns"),
                            "rewards_by_role": rec.get("rewards_by_role"), "reward": rec.get("reward")}
                if rec.get("delegations") else None,
                episode={k: rec.get(k) for k in ("episode_id", "steps", "terminated", "truncated",
                                                 "wall_time", "reward_terms", "role_violations", "error")})
    return node["status"] != "infra_error" and node["snapshot"] is not None


def sample_trees(tasks: Sequence[Any], cfg: MaltConfig, policy: Any = None,
                 on_level: Callable[[int, int, float], None] | None = None,
                 on_node: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Sample one MALT tree per task with a fresh worker pool (see the module docstring)."""
    with MaltSampler(cfg) as sampler:
        return sampler.sample(tasks, policy, on_level=on_level, on_node=on_node)


def _ancestors(tree: dict[str, Any], node_id: int) -> list[dict[str, Any]]:
    chain = []
    n = tree["nodes"][node_id]
    while n["parent"] >= 0:
        chain.append(n)
        n = tree["nodes"][n["parent"]]
    return list(reversed(chain))
