"""PNG plots of tuning results (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from recsys_core.tuning.trials import main_effects


def plot_leaderboard(
    rows: Sequence[Mapping[str, Any]], metric: str, knobs: Sequence[str], path: str | Path
) -> list[str]:
    """The metric against the two most influential knobs (best value over the others);
    one knob: a line; returns the knobs plotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    effects = main_effects(rows, metric, knobs)
    shown = [k for k in sorted(effects, key=effects.get, reverse=True) if effects[k] > 0][:2]
    figure, axes = plt.subplots(figsize=(6.4, 4.6), dpi=100)
    values = np.array([row[metric] for row in rows])
    if len(shown) == 2:
        x_levels = sorted({row[shown[0]] for row in rows})
        y_levels = sorted({row[shown[1]] for row in rows})
        grid = np.full((len(y_levels), len(x_levels)), np.nan)
        for row, value in zip(rows, values, strict=True):
            cell = (y_levels.index(row[shown[1]]), x_levels.index(row[shown[0]]))
            grid[cell] = np.fmax(grid[cell], value)
        image = axes.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        for (y, x), value in np.ndenumerate(grid):
            axes.text(x, y, f"{value:.4f}", ha="center", va="center", color="white", fontsize=8)
        axes.set_xticks(range(len(x_levels)), [str(v) for v in x_levels])
        axes.set_yticks(range(len(y_levels)), [str(v) for v in y_levels])
        axes.set_xlabel(shown[0])
        axes.set_ylabel(shown[1])
        figure.colorbar(image, ax=axes, label=f"best validation {metric}")
    elif len(shown) == 1:
        levels = sorted({row[shown[0]] for row in rows})
        best = [
            max(v for r, v in zip(rows, values, strict=True) if r[shown[0]] == lv) for lv in levels
        ]
        axes.plot([str(v) for v in levels], best, marker="o")
        axes.set_xlabel(shown[0])
        axes.set_ylabel(f"best validation {metric}")
    else:
        axes.bar(["all trials"], [values.max()])
        axes.set_ylabel(f"validation {metric}")
    axes.set_title(f"Tuning: validation {metric} ({len(rows)} trials)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return shown
