"""PNG plots of a run (matplotlib, Agg canvas; no pyplot global state, no display needed).

Each function writes one file and returns its path; none is called with empty data (the report
decides what to plot). matplotlib is imported inside the functions so importing
``cargogym.eval`` stays light.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def _figure(width: float = 7.0, height: float = 4.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def reward_distribution(rewards: list[float], path: Path, title: str = "Episode reward") -> Path:
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    bins = max(5, min(40, int(math.sqrt(len(rewards))) + 1))
    ax.hist(rewards, bins=bins, color="#4C72B0", edgecolor="white")
    mean = sum(rewards) / len(rewards)
    ax.axvline(mean, color="#C44E52", linestyle="--", label=f"mean {mean:.3f}")
    ax.set_xlabel("reward")
    ax.set_ylabel("episodes")
    ax.set_title(f"{title} (n={len(rewards)})")
    ax.legend()
    return _save(fig, path)


def resolved_bars(rows: list[dict[str, Any]], path: Path, title: str, max_groups: int = 40) -> Path:
    """Bar per group with its resolved rate and 95 % interval; the largest groups when too many."""
    rows = [r for r in rows if r.get("resolved_rate") is not None]
    rows = sorted(rows, key=lambda r: -r["n"])[:max_groups]
    rows = sorted(rows, key=lambda r: r["group"])
    fig = _figure(max(5.0, 0.45 * len(rows) + 2.0), 4.0)
    ax = fig.add_subplot(1, 1, 1)
    xs = list(range(len(rows)))
    vals = [r["resolved_rate"] for r in rows]
    lo = [max(0.0, v - r["ci95"][0]) if r.get("ci95") else 0.0 for v, r in zip(vals, rows)]
    hi = [max(0.0, r["ci95"][1] - v) if r.get("ci95") else 0.0 for v, r in zip(vals, rows)]
    ax.bar(xs, vals, yerr=[lo, hi], capsize=3, color="#55A868")
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{r['group']}\n(n={r['n']})" for r in rows], rotation=45 if len(rows) > 6 else 0,
                       ha="right" if len(rows) > 6 else "center", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("resolved rate")
    ax.set_title(title)
    return _save(fig, path)


def learning_curve(steps: list[float], mean_reward: list[float], path: Path) -> Path:
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(steps, mean_reward, marker="o" if len(steps) < 30 else None, color="#4C72B0")
    ax.set_xlabel("training step")
    ax.set_ylabel("mean reward")
    ax.set_title("Learning curve")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def expert_load(routing_summary: dict[str, Any], path: Path) -> Path:
    """One heat map per role: layers × experts, each cell the share of the layer's tokens
    (one colour scale for all roles, so the maps compare)."""
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    roles = list(routing_summary["roles"])
    loads = {r: np.array([[np.nan if v is None else v for v in row] for row in routing_summary["roles"][r]["load"]])
             for r in roles}
    finite = [m[np.isfinite(m)] for m in loads.values()]
    vmax = max((float(f.max()) for f in finite if f.size), default=1.0) or 1.0
    fig = _figure(3.0 * len(roles) + 1.5, 0.22 * routing_summary["layers"] + 2.8)
    fig.set_layout_engine("constrained")
    axes = fig.subplots(1, len(roles), squeeze=False)[0]
    im = None
    for ax, role in zip(axes, roles):
        im = ax.imshow(loads[role], aspect="auto", cmap="viridis", vmin=0.0, vmax=vmax, interpolation="nearest")
        ax.set_title(role)
        ax.set_xlabel("expert")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_ylabel("layer")
    if im is not None:
        fig.colorbar(im, ax=list(axes), shrink=0.9, label="share of the layer's routed tokens")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def compare_metrics(rows: list[dict[str, Any]], labels: tuple[str, str], path: Path) -> Path:
    """Side-by-side bars of the given metrics (values in [0, 1]) measured in both runs."""
    rows = [r for r in rows if r["a"] is not None and r["b"] is not None
            and 0.0 <= r["a"] <= 1.0 and 0.0 <= r["b"] <= 1.0]
    fig = _figure(max(6.0, 0.7 * len(rows) + 2.0), 4.5)
    ax = fig.add_subplot(1, 1, 1)
    xs = list(range(len(rows)))
    ax.bar([x - 0.2 for x in xs], [r["a"] for r in rows], width=0.4, label=labels[0], color="#4C72B0")
    ax.bar([x + 0.2 for x in xs], [r["b"] for r in rows], width=0.4, label=labels[1], color="#DD8452")
    ax.set_xticks(xs)
    ax.set_xticklabels([r["metric"] for r in rows], rotation=45, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.legend()
    ax.set_title("Metrics side by side")
    return _save(fig, path)
