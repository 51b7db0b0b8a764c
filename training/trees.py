"""MALT trees: the record, JSONL storage, value flow and the per-role training sets.

A tree (one JSONL line) is one task's generator → verifier → refiner expansion (MALT, arXiv
2412.01928): the task root, ``n`` generator nodes, ``n`` verifier nodes under each, ``n`` refiner
nodes under each of those (any branching per level, any number of levels). Every non-root node
is one role's episode segment in the env, started from its parent's saved workspace state::

    {"tree_id": str, "instance_id": str, "task": {...}, "roles": [...], "branching": [...],
     "created_at": str, "config": {...},
     "nodes": [{"node_id": int, "parent": int (-1 root), "role": str | None,
                "sample": bool, "fixed": bool | None,
                "reward": float | None,            # graded reward (leaves; inner nodes informational)
                "grading": dict | None, "status": "ok" | "agent_error" | "infra_error",
                "messages": [...],                 # the node's conversation at its end (message dicts)
                "tools": [...],                    # tool definitions the node was offered
                "prompt_len": int,                 # messages[:prompt_len] is what the role was given
                "turns": [{"prompt_ids", "completion_ids", "logprobs", "tool", "observation",
                           "turn_id", "frame_id", "role", ...}],
                "output": str | None,              # what the node hands to its children (diff / critique)
                "snapshot": {path: text} | None,   # workspace files changed vs the broken start
                "delegation": {...} | None,        # the episode's frames/turns when it delegated
                "value": float | None, "advantage": float | None}]}

Value flow: :func:`tree_forest` lays many trees out as one :class:`~cargogym.training.values.Forest`
(vectorised), :func:`assign_values` runs value iteration and group advantages and writes
``value`` / ``advantage`` back into the nodes. Only leaves' rewards enter value iteration (the
paper's rule); a generator's own grade stays informational.
Exports: :func:`sft_sets` (per role, nodes with V > threshold), :func:`dpo_pairs` (per role,
sibling pairs V+ vs V−), :func:`grpo_samples` (one sample per generated turn: the node's advantage,
or a delegated frame's credit on the turns that delegation covers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from cargogym.errors import CargogymError
from cargogym.jsonl import numbered_json_lines
from cargogym.training.advantages import group_advantages
from cargogym.training.values import Forest, group_ids, preference_pairs, value_iteration

MALT_ROLES = ("generator", "verifier", "refiner")


class TreeFormatError(CargogymError, ValueError):
    """A tree record that cannot be read."""


# -- records ---------------------------------------------------------------------------------
def make_node(node_id: int, parent: int, role: str | None, **fields: Any) -> dict[str, Any]:
    node = {"node_id": node_id, "parent": parent, "role": role, "sample": parent >= 0, "fixed": None,
            "reward": None, "grading": None, "status": "ok", "messages": [], "tools": [], "prompt_len": 0,
            "turns": [], "output": None, "snapshot": None, "delegation": None,
            "value": None, "advantage": None}
    node.update(fields)
    return node


def check_tree(tree: dict[str, Any], where: str = "tree") -> dict[str, Any]:
    """Validate the fields value iteration needs; returns the tree."""
    if not isinstance(tree, dict) or not isinstance(tree.get("nodes"), list):
        raise TreeFormatError(f"{where}: a tree must be an object with a 'nodes' list")
    nodes = tree["nodes"]
    for i, n in enumerate(nodes):
        if not isinstance(n, dict) or "parent" not in n:
            raise TreeFormatError(f"{where}: node {i} has no 'parent'")
        if n.get("node_id", i) != i:
            raise TreeFormatError(f"{where}: node {i} has node_id {n.get('node_id')} (nodes must be in id order)")
        p = n["parent"]
        if not isinstance(p, int) or p < -1 or p >= len(nodes) or p == i:
            raise TreeFormatError(f"{where}: node {i} has parent {p!r}, not a node of this tree")
        r = n.get("reward")
        if r is not None and not isinstance(r, (int, float)):
            raise TreeFormatError(f"{where}: node {i} has a non-numeric reward {r!r}")
    return tree


def write_trees(path: str | Path, trees: Iterable[dict[str, Any]], append: bool = False) -> int:
    """Write trees as JSONL (one per line, flushed line by line); returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("a" if append else "w", encoding="utf-8") as fh:
        for t in trees:
            fh.write(json.dumps(t, ensure_ascii=False) + "\n")
            fh.flush()
            n += 1
    return n


def iter_trees(path: str | Path) -> Iterator[dict[str, Any]]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"tree file {path} does not exist")
    with path.open(encoding="utf-8") as fh:
        for lineno, tree in numbered_json_lines(fh, str(path), TreeFormatError):
            yield check_tree(tree, f"{path}:{lineno}")


def read_trees(path: str | Path) -> list[dict[str, Any]]:
    return list(iter_trees(path))


# -- value flow ------------------------------------------------------------------------------
@dataclass
class TreeValues:
    """Values over a list of trees laid out as one forest; ``offsets[k]`` is tree k's first node."""

    forest: Forest
    values: np.ndarray
    advantages: np.ndarray
    offsets: np.ndarray
    trees: list[dict[str, Any]] = field(repr=False, default_factory=list)
    op: str = "mean"                # how the values were computed (delegation credit uses the same)
    temperature: float = 1.0
    scale: str = "grpo"             # how the advantages were scaled
    eps: float = 1e-4

    def node(self, index: int) -> dict[str, Any]:
        k = int(np.searchsorted(self.offsets, index, side="right") - 1)
        return self.trees[k]["nodes"][index - int(self.offsets[k])]


def tree_forest(trees: Sequence[dict[str, Any]]) -> tuple[Forest, np.ndarray]:
    """All trees as one forest (one pass over the nodes; no per-tree array work)."""
    parent: list[int] = []
    reward: list[float] = []
    roles: list[str | None] = []
    sample: list[bool] = []
    fixed: list[bool] = []
    has_fixed = False
    offsets = np.zeros(len(trees), dtype=np.int64)
    for k, t in enumerate(trees):
        off = len(parent)
        offsets[k] = off
        for n in t["nodes"]:
            p = n["parent"]
            parent.append(p + off if p >= 0 else -1)
            r = n.get("reward")
            reward.append(np.nan if r is None or n.get("status", "ok") == "infra_error" else float(r))
            roles.append(n.get("role"))
            sample.append(bool(n.get("sample", p >= 0)))
            f = n.get("fixed")
            has_fixed |= f is not None
            fixed.append(bool(f) if f is not None else False)
    forest = Forest.from_parents(parent, reward, roles, MALT_ROLES, sample,
                                 fixed=None if not has_fixed else _fixed_default(parent, fixed, trees))
    return forest, offsets


def _fixed_default(parent: list[int], fixed: list[bool], trees) -> np.ndarray:
    """Nodes with an explicit ``fixed`` keep it; the others are fixed iff they are leaves."""
    p = np.asarray(parent)
    leaf = np.bincount(p[p >= 0], minlength=len(parent)) == 0
    explicit = np.array([n.get("fixed") is not None for t in trees for n in t["nodes"]])
    return np.where(explicit, np.asarray(fixed), leaf)


def assign_values(trees: Sequence[dict[str, Any]], op: str = "mean", temperature: float = 1.0,
                  scale: str = "grpo", eps: float = 1e-4) -> TreeValues:
    """Value iteration + sibling advantages; writes ``value`` / ``advantage`` into every node."""
    trees = list(trees)
    forest, offsets = tree_forest(trees)
    values = value_iteration(forest, op, temperature)
    adv = group_advantages(values, group_ids(forest), scale=scale, eps=eps)
    i = 0
    for t in trees:
        for n in t["nodes"]:
            v = values[i]
            n["value"] = None if np.isnan(v) else float(v)
            n["advantage"] = float(adv[i])
            i += 1
    return TreeValues(forest, values, adv, offsets, trees, op, temperature, scale, eps)


# -- exports ---------------------------------------------------------------------------------
def _ident(tree: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    return {"tree_id": tree.get("tree_id"), "instance_id": tree.get("instance_id"),
            "node_id": node["node_id"], "role": node.get("role"), "value": node.get("value")}


def sft_sets(tv: TreeValues, threshold: float = 0.5) -> dict[str, list[dict[str, Any]]]:
    """Per role: ``{"messages", "prompt_len", ...ids}`` of every node with ``V > threshold``."""
    good = np.nan_to_num(tv.values, nan=-np.inf) > threshold
    out: dict[str, list[dict[str, Any]]] = {}
    for i in np.flatnonzero(good & (tv.forest.role >= 0)):
        node = tv.node(int(i))
        tree = tv.trees[int(np.searchsorted(tv.offsets, i, side="right") - 1)]
        if not node.get("messages"):
            continue
        out.setdefault(node["role"], []).append({**_ident(tree, node), "messages": node["messages"],
                                                 "tools": node.get("tools") or [],
                                                 "prompt_len": node.get("prompt_len", 0)})
    return out


def dpo_pairs(tv: TreeValues, threshold: float = 0.5, margin: float | None = None) -> dict[str, list[dict[str, Any]]]:
    """Per role: sibling pairs ``{"prompt", "chosen", "rejected"}`` (message lists), same parent.

    ``prompt`` is the shared conversation the siblings were given; ``chosen`` / ``rejected`` are
    what each sibling added (its assistant and tool messages).
    """
    pairs = preference_pairs(tv.forest, tv.values, threshold, margin)
    out: dict[str, list[dict[str, Any]]] = {}
    for a, b in pairs.tolist():
        na, nb = tv.node(a), tv.node(b)
        tree = tv.trees[int(np.searchsorted(tv.offsets, a, side="right") - 1)]
        if not na.get("messages") or not nb.get("messages"):
            continue
        k = na.get("prompt_len", 0)
        out.setdefault(na["role"], []).append({
            "tree_id": tree.get("tree_id"), "instance_id": tree.get("instance_id"), "role": na["role"],
            "chosen_node": a - int(tree_offset(tv, a)), "rejected_node": b - int(tree_offset(tv, b)),
            "chosen_value": na.get("value"), "rejected_value": nb.get("value"),
            "tools": na.get("tools") or [],
            "prompt": na["messages"][:k], "chosen": na["messages"][k:],
            "rejected": nb["messages"][nb.get("prompt_len", 0):],
        })
    return out


def tree_offset(tv: TreeValues, index: int) -> int:
    return int(tv.offsets[int(np.searchsorted(tv.offsets, index, side="right") - 1)])


def grpo_samples(tv: TreeValues, roles: Sequence[str] | None = None, skip_zero: bool = True,
                 retokenize: bool = False) -> list[dict[str, Any]]:
    """One GRPO sample per generated turn of every sample node.

    Samples are dicts ``{prompt_ids, completion_ids, advantage, old_logprobs?, ...ids, turn}``
    (:func:`cargogym.training.grpo.samples_from_records` turns them into ``GRPOSample``). Each turn
    is its own sample whose completion is exactly what the policy generated in that turn, so no
    environment token (tool output) is ever in a completion: tool results only appear in the
    prompts of later turns. No ``env_mask`` is needed or written.

    Advantage of a turn (:func:`turn_advantages`): the node's sibling-group advantage, except in a
    node whose episode delegated (``node["delegation"]``): a ``delegate_subtask`` call and every
    turn played inside the child frame it started get the child frame's value (from
    :func:`delegation_values`) centred — and, for ``grpo``, scaled — by the statistics of the
    node's own sibling group (:func:`~cargogym.training.advantages.relative_advantage`). The
    sibling group is the baseline for anything done from this starting state, so a delegation
    whose frame failed gets a negative advantage even inside a node that succeeded overall.
    ``skip_zero`` drops turns whose advantage is 0 (no signal, e.g. all siblings scored the same).

    ``retokenize``: a node none of whose turns carries token ids (scripted or API policies) gets
    its turns rebuilt from its stored conversation with the Harmony training renderer
    (:func:`turns_from_messages`); those samples have no ``old_logprobs``, so the GRPO ratio is
    taken against the policy being trained (:class:`~cargogym.training.grpo.GRPOUpdater`).
    """
    from cargogym.training.advantages import group_stats

    out = []
    sample = tv.forest.sample_mask()
    mean, std, size = group_stats(tv.values, group_ids(tv.forest))
    for i in np.flatnonzero(sample):
        node = tv.node(int(i))
        if roles is not None and node.get("role") not in roles:
            continue
        turns = node.get("turns") or []
        if retokenize and not any(t.get("completion_ids") and t.get("prompt_ids") for t in turns):
            turns = turns_from_messages(node.get("messages") or [], node.get("prompt_len", 0),
                                        node.get("tools") or [], turns)
        if not turns:
            continue
        advs = turn_advantages(node, turns, float(tv.advantages[i]), (mean[i], std[i], int(size[i])), tv)
        tree = tv.trees[int(np.searchsorted(tv.offsets, i, side="right") - 1)]
        for t, (turn, adv) in enumerate(zip(turns, advs)):
            if not turn.get("completion_ids") or not turn.get("prompt_ids"):
                continue
            if skip_zero and adv == 0.0:
                continue
            rec = {**_ident(tree, node), "turn": t, "advantage": adv, "prompt_ids": turn["prompt_ids"],
                   "completion_ids": turn["completion_ids"]}
            lp = turn.get("logprobs")
            if lp and len(lp) == len(turn["completion_ids"]):
                rec["old_logprobs"] = lp
            out.append(rec)
    return out


def turn_advantages(node: dict[str, Any], turns: Sequence[dict[str, Any]], node_advantage: float,
                    group: tuple[float, float, int], tv: TreeValues) -> list[float]:
    """Per turn of ``node``: ``node_advantage``, or, for a delegate call / a delegated frame's turn,
    that frame's value against the node's sibling ``group`` ``(mean, std, size)`` (see
    :func:`grpo_samples`). Turns are matched to the episode record by ``turn_id`` (else position)."""
    from cargogym.training.advantages import relative_advantage

    delegation = node.get("delegation") or {}
    if not delegation.get("frames"):
        return [node_advantage] * len(turns)
    frame_values, call_values = delegation_values(delegation, tv.op, tv.temperature)
    roots = {f["frame_id"] for f in delegation["frames"] if f.get("parent_id") is None}
    record_turns = delegation.get("turns") or []
    mean, std, size = group
    out = []
    for k, turn in enumerate(turns):
        tid = turn.get("turn_id", k)
        rec = next((r for r in record_turns if r.get("turn_id") == tid), {})
        frame = turn.get("frame_id", rec.get("frame_id"))
        if tid in call_values:
            value = call_values[tid]
        elif frame is not None and frame not in roots and frame in frame_values:
            value = frame_values[frame]
        else:
            out.append(node_advantage)
            continue
        out.append(relative_advantage(value, mean, std, size, tv.scale, tv.eps))
    return out


def turns_from_messages(messages: Sequence[dict[str, Any]], prompt_len: int, tools: Sequence[dict[str, Any]],
                        turns: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """A node's generated turns re-tokenised from its conversation with the Harmony training
    renderer (:func:`cargogym.harmony.render.render_training`).

    Every maximal run of assistant messages after ``messages[:prompt_len]`` is one turn:
    ``prompt_ids`` = the conversation before it + ``<|start|>assistant``, ``completion_ids`` = the
    tokens the model generates for it (ending with ``<|call|>``, ``<|end|>`` or ``<|return|>``). The
    k-th run takes ``turn_id`` / ``frame_id`` from the k-th recorded turn when ``turns`` (the
    node's record turns) has one per run. No log-probs. Runs whose rendering is not a prefix
    extension of the conversation before them are left out.
    """
    from cargogym.harmony.render import ASSISTANT_TOKEN, START, render_training

    runs = []
    i = max(int(prompt_len), 0)
    while i < len(messages):
        if messages[i].get("role") != "assistant":
            i += 1
            continue
        j = i
        while j < len(messages) and messages[j].get("role") == "assistant":
            j += 1
        runs.append((i, j))
        i = j
    same = len(turns) == len(runs)
    out = []
    for k, (a, b) in enumerate(runs):
        if a == 0:
            continue
        before = render_training(messages[:a], tools)[0]
        full = render_training(messages[:b], tools)[0]
        n = len(before)
        if full[:n] != before or full[n:n + 2] != [START, ASSISTANT_TOKEN] or len(full) <= n + 2:
            continue
        turn: dict[str, Any] = {"prompt_ids": before + [START, ASSISTANT_TOKEN], "completion_ids": full[n + 2:],
                                "logprobs": None, "retokenized": True}
        if same:
            turn.update(turn_id=turns[k].get("turn_id", k), frame_id=turns[k].get("frame_id"))
        out.append(turn)
    return out


# -- delegation frames inside one episode ----------------------------------------------------
def delegation_forest(trajectory: dict[str, Any]) -> tuple[Forest, list[tuple[str, int]]]:
    """Frames and delegate tool calls of one episode as a credit tree.

    Nodes: every frame, and every turn whose tool is ``delegate_subtask`` (the child frame's
    ``parent_turn_id``). A frame is fixed to its reward: ``frame["reward"]`` when the env gives
    one, else ``rewards_by_role[role]``, else the episode reward. A delegate call takes the value
    of the child frame below it. Returns the forest and, per node, ``("frame"|"turn", id)``.
    """
    frames = trajectory.get("frames") or []
    turns = {t["turn_id"]: t for t in trajectory.get("turns") or []}
    by_role = trajectory.get("rewards_by_role") or {}
    episode_reward = trajectory.get("reward")
    keys: list[tuple[str, int]] = []
    index: dict[tuple[str, int], int] = {}
    for f in frames:
        index[("frame", f["frame_id"])] = len(keys)
        keys.append(("frame", f["frame_id"]))
    for f in frames:
        if f.get("parent_turn_id") is not None and ("turn", f["parent_turn_id"]) not in index:
            index[("turn", f["parent_turn_id"])] = len(keys)
            keys.append(("turn", f["parent_turn_id"]))
    parent = [-1] * len(keys)
    reward: list[float] = [np.nan] * len(keys)
    roles: list[str | None] = [None] * len(keys)
    fixed = [False] * len(keys)
    for f in frames:
        i = index[("frame", f["frame_id"])]
        r = f.get("reward", by_role.get(f.get("role"), episode_reward))
        reward[i] = np.nan if r is None else float(r)
        fixed[i] = True
        roles[i] = f.get("role")
        pt = f.get("parent_turn_id")
        if pt is not None:
            parent[i] = index[("turn", pt)]
            turn = turns.get(pt, {})
            owner = turn.get("frame_id", f.get("parent_id"))
            j = index[("turn", pt)]
            parent[j] = index.get(("frame", owner), -1)
            roles[j] = turn.get("role")
    forest = Forest.from_parents(parent, reward, roles, (), sample=[False] * len(keys), fixed=fixed)
    return forest, keys


def delegation_values(trajectory: dict[str, Any], op: str = "mean",
                      temperature: float = 1.0) -> tuple[dict[int, float], dict[int, float]]:
    """``({frame_id: value}, {turn_id: value})`` over :func:`delegation_forest`: each frame's
    value, and each delegate tool call's (the value of the child frame it started)."""
    forest, keys = delegation_forest(trajectory)
    if not keys:
        return {}, {}
    v = value_iteration(forest, op, temperature)
    frames = {k[1]: float(v[i]) for i, k in enumerate(keys) if k[0] == "frame" and not np.isnan(v[i])}
    calls = {k[1]: float(v[i]) for i, k in enumerate(keys) if k[0] == "turn" and not np.isnan(v[i])}
    return frames, calls


def delegation_credit(trajectory: dict[str, Any], op: str = "mean") -> dict[int, float]:
    """``turn_id → value`` of each delegate tool call (the value of the child frame it started)."""
    return delegation_values(trajectory, op)[1]


def summarize(trees: Sequence[dict[str, Any]], threshold: float = 0.5) -> dict[str, Any]:
    """Counts and mean values per role (after :func:`assign_values`)."""
    per_role: dict[str, list[float]] = {}
    for t in trees:
        for n in t["nodes"]:
            if n.get("role") and n.get("value") is not None:
                per_role.setdefault(n["role"], []).append(n["value"])
    return {"trees": len(trees),
            "roles": {r: {"nodes": len(v), "mean_value": float(np.mean(v)),
                          "correct": int(sum(x > threshold for x in v))} for r, v in per_role.items()}}
