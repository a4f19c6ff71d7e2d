"""Charts a parts planner reads: a forecast fan for one series, the stock-service trade-off."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from drivetrain.parts.inventory import bootstrap_demand

FIGSIZE = (8.0, 4.5)


def forecast_fan(
    history: pl.DataFrame, forecast: pl.DataFrame, *, title: str, seed: int = 0
) -> Figure:
    """History, the forecast mean and its 50 % and 90 % bands (bootstrap, per period).

    ``history`` and ``forecast`` are one series' rows (``ds, y`` and ``ds, forecast``).
    """
    rng = np.random.default_rng(seed)
    past = history["y"].to_numpy()
    means = forecast["forecast"].to_numpy()
    quantiles = [0.05, 0.25, 0.75, 0.95]
    bands = np.array(
        [np.quantile(bootstrap_demand(past, 1, mean=m, rng=rng), quantiles) for m in means]
    )
    fig = Figure(figsize=FIGSIZE)
    ax = fig.subplots()
    x_past, x_next = np.arange(len(past)), np.arange(len(past), len(past) + len(means))
    ax.step(x_past, past, where="mid", color="0.3", label="issued")
    ax.fill_between(x_next, bands[:, 0], bands[:, 3], step="mid", alpha=0.2, label="90 %")
    ax.fill_between(x_next, bands[:, 1], bands[:, 2], step="mid", alpha=0.35, label="50 %")
    ax.step(x_next, means, where="mid", color="C0", label=str(forecast["model"][0]))
    labels = [str(d) for d in [*history["ds"].to_list(), *forecast["ds"].to_list()]]
    ticks = np.linspace(0, len(labels) - 1, min(8, len(labels))).astype(int)
    ax.set_xticks(ticks, [labels[i] for i in ticks], rotation=30, fontsize=8)
    ax.set_ylabel("units per period")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def tradeoff_plot(curve: pl.DataFrame, *, title: str) -> Figure:
    """Expected units on hand against fill rate and cycle service, one point per target."""
    fig = Figure(figsize=FIGSIZE)
    ax = fig.subplots()
    stock = curve["expected_on_hand"].to_numpy()
    ax.plot(stock, curve["fill_rate"], marker="o", label="fill rate")
    ax.plot(stock, curve["cycle_service"], marker="s", label="cycle service")
    for x, y, t in zip(stock, curve["cycle_service"], curve["target"], strict=True):
        ax.annotate(f"{t:.0%}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlabel("expected units on hand")
    ax.set_ylabel("service achieved")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
