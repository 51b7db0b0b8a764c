"""Value iteration over credit trees stored as flat numpy arrays (MALT, arXiv 2412.01928).

A :class:`Forest` is any number of trees laid out as arrays over N nodes:

- ``parent[i]``: index of node i's parent, ``-1`` for a root (a task).
- ``reward[i]``: the graded reward of node i, ``NaN`` where there is none.
- ``role[i]``: a role code (index into ``roles``), ``-1`` for none (e.g. the task root).
- ``sample[i]``: True when node i is one of several alternative samples of its parent's prompt
  (MALT generator/verifier/refiner outputs). Only ``sample`` siblings form GRPO groups and
  preference pairs. Structural nodes (``sample`` False: an episode's delegate tool-call turn, a
  delegated child frame) carry credit but are never compared with their siblings.
- ``fixed[i]``: True when node i's value is its own reward whatever its children (default: the
  nodes without children). A delegating frame is fixed to its graded reward while its
  delegate tool-call children take the value of the child frame below them.

Values (all vectorised, one pass per depth level, no Python loop per node):
``V(fixed) = reward``; ``V(other) = op(V of children)`` with op ``mean`` (the paper's rule),
``max`` or ``softmax`` (``sum softmax(v / temperature) * v``). Children whose value is NaN
(missing: an infra error, an ungraded leaf) are left out; a node whose children are all
missing is missing. A node is "correct" when ``V > threshold`` (default 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from cargogym.errors import CargogymError

OPERATORS = ("mean", "max", "softmax")


class TreeError(CargogymError, ValueError):
    """A forest whose arrays are inconsistent (bad parent index, cycle, length mismatch)."""


@dataclass(frozen=True)
class Forest:
    """Trees as flat arrays; see the module docstring for field meanings."""

    parent: np.ndarray
    reward: np.ndarray
    role: np.ndarray
    roles: tuple[str, ...] = ()
    sample: np.ndarray | None = None
    fixed: np.ndarray | None = None
    tree: np.ndarray | None = None  # tree index of every node (set by concat / from_parents)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_parents(
        cls,
        parent: Sequence[int] | np.ndarray,
        reward: Sequence[float] | np.ndarray | None = None,
        role: Sequence[str | None] | np.ndarray | None = None,
        roles: Sequence[str] = (),
        sample: Sequence[bool] | np.ndarray | None = None,
        fixed: Sequence[bool] | np.ndarray | None = None,
    ) -> "Forest":
        """Build and validate a forest. ``role`` may be names (``None`` → -1) or codes."""
        p = np.asarray(parent, dtype=np.int64)
        n = p.shape[0]
        r = np.full(n, np.nan) if reward is None else np.asarray(
            [np.nan if x is None else x for x in reward] if not isinstance(reward, np.ndarray) else reward,
            dtype=np.float64)
        roles_t = tuple(roles)
        if role is None:
            codes = np.full(n, -1, dtype=np.int16)
        elif isinstance(role, np.ndarray) and role.dtype.kind in "iu":
            codes = role.astype(np.int16)
        else:
            names = list(role)
            extra = [x for x in dict.fromkeys(names) if x is not None and x not in roles_t]
            roles_t = roles_t + tuple(extra)
            lookup = {name: i for i, name in enumerate(roles_t)}
            codes = np.array([-1 if x is None else lookup[x] for x in names], dtype=np.int16)
        s = None if sample is None else np.asarray(sample, dtype=bool)
        f = None if fixed is None else np.asarray(fixed, dtype=bool)
        forest = cls(p, r, codes, roles_t, s, f)
        forest.validate()
        return forest

    @staticmethod
    def concat(forests: Iterable["Forest"]) -> "Forest":
        """One forest holding all trees; parent indices are shifted, role codes unified."""
        forests = list(forests)
        if not forests:
            return Forest.from_parents([])
        roles: list[str] = []
        for fo in forests:
            roles.extend(r for r in fo.roles if r not in roles)
        lookup = {r: i for i, r in enumerate(roles)}
        sizes = np.array([fo.size for fo in forests], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        parents, codes, tree_ids = [], [], []
        n_trees = 0
        for fo, off in zip(forests, offsets):
            parents.append(np.where(fo.parent >= 0, fo.parent + off, -1))
            remap = np.array([lookup[r] for r in fo.roles] + [-1], dtype=np.int16)
            codes.append(remap[fo.role])  # code -1 indexes the trailing -1
            t = fo.tree_index()
            tree_ids.append(t + n_trees)
            n_trees += int(t.max()) + 1 if t.size else 0
        any_sample = any(fo.sample is not None for fo in forests)
        any_fixed = any(fo.fixed is not None for fo in forests)
        return Forest(
            np.concatenate(parents),
            np.concatenate([fo.reward for fo in forests]),
            np.concatenate(codes),
            tuple(roles),
            np.concatenate([fo.sample_mask() for fo in forests]) if any_sample else None,
            np.concatenate([fo.fixed_mask() for fo in forests]) if any_fixed else None,
            np.concatenate(tree_ids),
        )

    @classmethod
    def full_tree(cls, branching: int | Sequence[int], leaf_rewards: Sequence[float] | np.ndarray,
                  roles: Sequence[str] = ("generator", "verifier", "refiner")) -> "Forest":
        """A complete tree: a task root, then ``len(roles)`` levels of ``branching`` children each.

        Nodes are numbered breadth-first; ``leaf_rewards`` are in that order.
        """
        depth = len(roles)
        b = [branching] * depth if isinstance(branching, int) else list(branching)
        if len(b) != depth:
            raise TreeError(f"branching has {len(b)} levels but there are {depth} roles")
        parent = [-1]
        role: list[str | None] = [None]
        level = [0]
        for d in range(depth):
            nxt = []
            for p in level:
                for _ in range(b[d]):
                    parent.append(p)
                    role.append(roles[d])
                    nxt.append(len(parent) - 1)
            level = nxt
        leaves = np.asarray(leaf_rewards, dtype=np.float64)
        if leaves.shape != (len(level),):
            raise TreeError(f"expected {len(level)} leaf rewards, got {leaves.shape}")
        reward = np.full(len(parent), np.nan)
        reward[level] = leaves
        sample = np.ones(len(parent), dtype=bool)
        sample[0] = False
        return cls.from_parents(parent, reward, role, roles, sample)

    def tile(self, n: int, rewards: np.ndarray | None = None) -> "Forest":
        """``n`` copies of this forest as one (vectorised); ``rewards`` of shape ``(n, size)``
        replaces the copies' rewards (used to batch many same-shaped MALT trees)."""
        size = self.size
        offs = (np.arange(n, dtype=np.int64) * size)[:, None]
        parent = np.where(self.parent[None, :] >= 0, self.parent[None, :] + offs, -1).ravel()
        if rewards is None:
            reward = np.tile(self.reward, n)
        else:
            rewards = np.asarray(rewards, dtype=np.float64)
            if rewards.shape != (n, size):
                raise TreeError(f"rewards have shape {rewards.shape}, expected ({n}, {size})")
            reward = rewards.ravel()
        t = self.tree_index()
        n_trees = int(t.max()) + 1 if t.size else 0
        tree = (t[None, :] + np.arange(n)[:, None] * n_trees).ravel()
        return Forest(parent, reward, np.tile(self.role, n), self.roles,
                      None if self.sample is None else np.tile(self.sample, n),
                      None if self.fixed is None else np.tile(self.fixed, n), tree)

    # -- derived -----------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return int(self.parent.shape[0])

    def sample_mask(self) -> np.ndarray:
        """Nodes that are alternative samples (default: every non-root node)."""
        return self.sample if self.sample is not None else self.parent >= 0

    def n_children(self) -> np.ndarray:
        c = self._cache.get("n_children")
        if c is None:
            has = self.parent >= 0
            c = np.bincount(self.parent[has], minlength=self.size).astype(np.int64)
            self._cache["n_children"] = c
        return c

    def fixed_mask(self) -> np.ndarray:
        return self.fixed if self.fixed is not None else self.n_children() == 0

    def is_leaf(self) -> np.ndarray:
        return self.n_children() == 0

    def depth(self) -> np.ndarray:
        """Depth of every node (roots 0); one vectorised step per level."""
        d = self._cache.get("depth")
        if d is None:
            n = self.size
            d = np.zeros(n, dtype=np.int64)
            anc = self.parent.copy()
            active = np.flatnonzero(anc >= 0)
            steps = 0
            while active.size:
                d[active] += 1
                anc[active] = self.parent[anc[active]]
                active = active[anc[active] >= 0]
                steps += 1
                if steps > n:
                    raise TreeError("the parent array has a cycle")
            self._cache["depth"] = d
        return d

    def tree_index(self) -> np.ndarray:
        """Index of the tree each node belongs to (roots numbered in order)."""
        if self.tree is not None:
            return self.tree
        t = self._cache.get("tree")
        if t is None:
            root = np.arange(self.size)
            anc = self.parent.copy()
            active = np.flatnonzero(anc >= 0)
            while active.size:
                root[active] = anc[active]
                anc[active] = self.parent[anc[active]]
                active = active[anc[active] >= 0]
            roots = np.flatnonzero(self.parent < 0)
            rank = np.full(self.size, -1, dtype=np.int64)
            rank[roots] = np.arange(roots.size)
            t = rank[root]
            self._cache["tree"] = t
        return t

    def role_name(self, code: int) -> str | None:
        return None if code < 0 else self.roles[code]

    def role_code(self, name: str) -> int:
        try:
            return self.roles.index(name)
        except ValueError:
            return -2  # matches no node

    def validate(self) -> None:
        n = self.size
        if self.parent.ndim != 1:
            raise TreeError("parent must be a 1-d array")
        for name in ("reward", "role", "sample", "fixed", "tree"):
            a = getattr(self, name)
            if a is not None and a.shape != (n,):
                raise TreeError(f"{name} has shape {a.shape}, expected ({n},)")
        bad = (self.parent < -1) | (self.parent >= n)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TreeError(f"node {i} has parent {int(self.parent[i])}, outside [-1, {n})")
        selfloop = self.parent == np.arange(n)
        if selfloop.any():
            raise TreeError(f"node {int(np.flatnonzero(selfloop)[0])} is its own parent")
        if ((self.role < -1) | (self.role >= max(len(self.roles), 0))).any() and (self.role >= 0).any():
            raise TreeError(f"role codes must lie in [-1, {len(self.roles)})")
        self.depth()  # raises on cycles


# -- value iteration -------------------------------------------------------------------------
def _level_plan(forest: Forest) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Non-root nodes sorted by (depth desc, parent) and the [start, end) span of each level."""
    plan = forest._cache.get("plan")
    if plan is None:
        depth = forest.depth()
        idx = np.flatnonzero(forest.parent >= 0)
        order = idx[np.lexsort((forest.parent[idx], -depth[idx]))]
        d = depth[order]
        cuts = np.flatnonzero(np.diff(d)) + 1
        starts = np.concatenate([[0], cuts]) if order.size else np.zeros(0, dtype=np.int64)
        ends = np.concatenate([cuts, [order.size]]) if order.size else np.zeros(0, dtype=np.int64)
        plan = (order, list(zip(starts.tolist(), ends.tolist())))
        forest._cache["plan"] = plan
    return plan


def value_iteration(forest: Forest, op: str = "mean", temperature: float = 1.0) -> np.ndarray:
    """Node values: fixed nodes keep their reward, others aggregate their children (see module doc)."""
    if op not in OPERATORS:
        raise TreeError(f"unknown value operator {op!r}; expected one of {OPERATORS}")
    if op == "softmax" and not temperature > 0:
        raise TreeError(f"softmax temperature must be > 0, got {temperature}")
    fixed = forest.fixed_mask()
    v = np.where(fixed, forest.reward, np.nan)
    order, levels = _level_plan(forest)
    for start, end in levels:
        nodes = order[start:end]
        par = forest.parent[nodes]
        seg = np.flatnonzero(np.concatenate([[True], par[1:] != par[:-1]]))
        heads = par[seg]
        vals = v[nodes]
        ok = ~np.isnan(vals)
        cnt = np.add.reduceat(ok.astype(np.float64), seg)
        if op == "mean":
            agg = np.add.reduceat(np.where(ok, vals, 0.0), seg) / np.maximum(cnt, 1)
        else:
            mx = np.maximum.reduceat(np.where(ok, vals, -np.inf), seg)
            if op == "max":
                agg = mx
            else:
                seg_of = np.repeat(np.arange(seg.size), np.diff(np.append(seg, nodes.size)))
                shifted = np.where(ok, (vals - mx[seg_of]) / temperature, -np.inf)
                w = np.exp(shifted)
                agg = np.add.reduceat(w * np.where(ok, vals, 0.0), seg) / np.maximum(
                    np.add.reduceat(w, seg), 1e-300)
        agg = np.where(cnt > 0, agg, np.nan)
        upd = ~fixed[heads]
        v[heads[upd]] = agg[upd]
    return v


def binarise(values: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``V > threshold`` (NaN → False)."""
    return np.nan_to_num(values, nan=-np.inf) > threshold


# -- outputs ---------------------------------------------------------------------------------
def sft_indices(forest: Forest, values: np.ndarray, threshold: float = 0.5,
                roles: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Per role: indices of nodes whose value is above ``threshold`` (MALT's SFT positives)."""
    good = binarise(values, threshold)
    names = forest.roles if roles is None else tuple(roles)
    return {r: np.flatnonzero(good & (forest.role == forest.role_code(r))) for r in names}


def sibling_groups(forest: Forest) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GRPO groups: sample siblings (same parent). Returns ``(order, starts, sizes)``.

    ``order`` lists sample nodes sorted by parent; group g is ``order[starts[g]:starts[g]+sizes[g]]``.
    """
    cached = forest._cache.get("groups")
    if cached is None:
        idx = np.flatnonzero(forest.sample_mask() & (forest.parent >= 0))
        order = idx[np.argsort(forest.parent[idx], kind="stable")]
        par = forest.parent[order]
        starts = np.flatnonzero(np.concatenate([[True], par[1:] != par[:-1]])) if order.size else \
            np.zeros(0, dtype=np.int64)
        sizes = np.diff(np.append(starts, order.size))
        cached = (order, starts, sizes)
        forest._cache["groups"] = cached
    return cached


def group_ids(forest: Forest) -> np.ndarray:
    """Group index per node (-1 for nodes in no group)."""
    order, starts, sizes = sibling_groups(forest)
    g = np.full(forest.size, -1, dtype=np.int64)
    g[order] = np.repeat(np.arange(starts.size), sizes)
    return g


def preference_pairs(forest: Forest, values: np.ndarray, threshold: float = 0.5,
                     margin: float | None = None) -> np.ndarray:
    """Sibling preference pairs as an ``(M, 2)`` array of ``(chosen, rejected)`` node indices.

    Default (MALT): chosen ``V > threshold`` and rejected ``V <= threshold``, same parent.
    With ``margin`` set: any siblings with ``V[chosen] - V[rejected] >= margin`` instead.
    Pairs come out grouped by parent; missing (NaN) values never pair.
    """
    order, starts, sizes = sibling_groups(forest)
    if order.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    # every ordered pair (i, j) inside each group: sum(sizes**2) candidates
    reps = np.repeat(sizes, sizes)                       # for each member: its group's size
    first = np.repeat(np.arange(order.size), reps)       # position of i
    gstart = np.repeat(np.repeat(starts, sizes), reps)   # its group's start
    within = np.arange(first.size) - np.repeat(np.cumsum(reps) - reps, reps)
    second = gstart + within                             # position of j
    a, b = order[first], order[second]
    va, vb = values[a], values[b]
    valid = ~np.isnan(va) & ~np.isnan(vb)
    if margin is None:
        keep = valid & (va > threshold) & (vb <= threshold)
    else:
        keep = valid & (va - vb >= margin) & (a != b)
    return np.stack([a[keep], b[keep]], axis=1)


def pairs_by_role(forest: Forest, pairs: np.ndarray) -> dict[str, np.ndarray]:
    """Split ``(chosen, rejected)`` pairs by the role of the chosen node."""
    codes = forest.role[pairs[:, 0]] if pairs.size else np.zeros(0, dtype=np.int16)
    return {r: pairs[codes == i] for i, r in enumerate(forest.roles)}
