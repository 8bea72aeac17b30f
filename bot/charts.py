"""The admins' usage chart: messages per day as bars, cost (or tokens) as a line. Blocking."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.db.ledger import DayUsage

_BAR_COLOUR = "#4C72B0"
_LINE_COLOUR = "#DD8452"


def render_daily_usage(series: Sequence[DayUsage], *, title: str = "Usage per day (UTC)") -> bytes:
    """A PNG of the series; call it with asyncio.to_thread from async code."""
    # matplotlib takes ~0.5 s to import: only an admin's /stats pays for it, not every start.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    # A Figure of its own per call: no pyplot global state, safe from several threads.
    figure = Figure(figsize=(10, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    bars = figure.add_subplot()
    labels = [day.date.strftime("%d %b") for day in series]
    positions = range(len(series))
    bars.bar(positions, [day.messages for day in series], color=_BAR_COLOUR, label="messages")
    bars.set_ylabel("messages", color=_BAR_COLOUR)
    bars.yaxis.set_major_locator(MaxNLocator(integer=True))
    bars.set_ylim(bottom=0, top=max([day.messages for day in series] + [1]) * 1.15)
    bars.set_xticks(list(positions), labels, rotation=60, ha="right", fontsize=8)
    bars.grid(axis="y", alpha=0.3)
    bars.set_title(title, loc="left")

    line = bars.twinx()
    costs = [day.cost for day in series]
    # With free local models every cost is zero; tokens then tell more than a flat line.
    if any(costs):
        values, label = costs, "estimated cost (USD)"
    else:
        values, label = [float(day.tokens) for day in series], "tokens"
    line.plot(positions, values, color=_LINE_COLOUR, marker="o", markersize=3, label=label)
    line.set_ylabel(label, color=_LINE_COLOUR)
    line.set_ylim(bottom=0, top=(max(values, default=0) or 1) * 1.15)
    # Outside the axes, so it never hides a tall bar.
    figure.legend(loc="outside upper right", ncols=2, frameon=False)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
