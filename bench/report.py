"""What a benchmark case reports, and the printed table, `bench/RESULTS.md` and the latency chart made of it.

A case returns one `Section`: a small table of its own (one row per way), the `Target`s it checks
(measured value against a limit computed from the same run), and optionally latency percentiles per way
for the chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CHART_QUANTILES", "Section", "Target", "chart", "markdown", "text"]

CHART_QUANTILES = (0.5, 0.9, 0.99, 0.999)


@dataclass(frozen=True)
class Target:
    """A measured value checked against a limit from the same run: `value <= limit` or `value >= limit`."""

    name: str
    value: float
    limit: float
    unit: str
    at_most: bool = True
    how: str = ""
    floor: float = math.nan
    """The same figure, from the same run, of the least any implementation does (a bare relay or a bare
    verifying endpoint): when it misses the limit too, the limit is below what this stack allows."""
    floor_of: str = ""

    @property
    def met(self) -> bool:
        """Whether the value is on the right side of the limit (NaN never is)."""
        if math.isnan(self.value) or math.isnan(self.limit):
            return False
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    @property
    def ratio(self) -> float:
        """Value over limit."""
        return self.value / self.limit if self.limit else float("nan")

    @property
    def floor_met(self) -> bool:
        """Whether the floor itself is on the right side of the limit (NaN when there is no floor)."""
        if math.isnan(self.floor) or math.isnan(self.limit):
            return False
        return self.floor <= self.limit if self.at_most else self.floor >= self.limit


@dataclass
class Section:
    """One case's table, targets and chart series."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # chart title → way → milliseconds at each of CHART_QUANTILES
    charts: dict[str, dict[str, list[float]]] = field(default_factory=dict)


def _fmt(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    if unit in ("ms", "KiB"):
        return f"{value:.3f} {unit}" if value < 1 else f"{value:.2f} {unit}"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:,.0f} {unit}"


def _verdict(t: Target) -> str:
    if t.met:
        return "met"
    if math.isnan(t.floor) or t.floor_met:
        return "NOT met"
    return "NOT met; the floor misses it too"


def _target_rows(targets: Sequence[Target]) -> list[list[str]]:
    return [
        [
            t.name,
            _fmt(t.value, t.unit),
            ("≤ " if t.at_most else "≥ ") + _fmt(t.limit, t.unit) + (f" ({t.how})" if t.how else ""),
            f"{t.ratio:.2f}",
            "" if math.isnan(t.floor) else f"{_fmt(t.floor, t.unit)} ({t.floor_of})",
            _verdict(t),
        ]
        for t in targets
    ]


_TARGET_COLUMNS = [
    "target",
    "measured",
    "limit (from this run)",
    "measured/limit",
    "floor: the least any implementation does",
    "",
]


def _plain(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in (columns, *rows)) for i in range(len(columns))]
    line = "+".join("-" * (w + 2) for w in widths)
    out = [line, "|".join(f" {c:<{w}} " for c, w in zip(columns, widths, strict=True)), line]
    out += ["|".join(f" {c:<{w}} " for c, w in zip(row, widths, strict=True)) for row in rows]
    out.append(line)
    return "\n".join(out)


def _md(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def all_targets(sections: Sequence[Section]) -> list[Target]:
    """Every target of every section, in order."""
    return [t for s in sections for t in s.targets]


def text(sections: Sequence[Section], header: str) -> str:
    """The printed report: each section's table, then every target in one table."""
    parts = [header]
    for section in sections:
        parts += ["", section.title, _plain(section.columns, section.rows), *section.notes]
    parts += ["", "Targets", _plain(_TARGET_COLUMNS, _target_rows(all_targets(sections)))]
    met = sum(t.met for t in all_targets(sections))
    parts.append(f"{met} of {len(all_targets(sections))} targets met")
    return "\n".join(parts)


def markdown(sections: Sequence[Section], header: str, chart_name: str | None) -> str:
    """`bench/RESULTS.md`: the same tables in Markdown, with the chart."""
    parts = [
        "# Benchmark results",
        "",
        header,
        "",
        "## Targets",
        "",
        _md(_TARGET_COLUMNS, _target_rows(all_targets(sections))),
    ]
    for section in sections:
        parts += ["", f"## {section.title}", "", _md(section.columns, section.rows)]
        if section.notes:
            parts += ["", *section.notes]
    if chart_name is not None:
        parts += ["", "## Latency percentiles", "", f"![latency percentiles]({chart_name})"]
    parts += ["", "Where the time goes, and what bounds the targets not met: [PROFILE.md](PROFILE.md)."]
    return "\n".join(parts) + "\n"


def chart(sections: Sequence[Section], path: Path) -> bool:
    """A PNG of every section's latency percentiles (log scale); False when matplotlib is missing."""
    try:
        import matplotlib as mpl  # a bench-only dependency

        mpl.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        return False
    plotted = [(title, series) for s in sections for title, series in s.charts.items()]
    if not plotted:
        return False
    figure, axes = plt.subplots(len(plotted), 1, figsize=(10, 3.8 * len(plotted)), squeeze=False)
    labels = [f"p{q * 100:g}" for q in CHART_QUANTILES]
    for ax, (title, series) in zip(axes[:, 0], plotted, strict=True):
        width = 0.8 / len(series)
        for i, (label, values) in enumerate(series.items()):
            xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(labels))]
            ax.bar(xs, values, width=width, label=label)
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.set_ylabel("latency (ms, log scale)")
        ax.set_title(title)
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=8, ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
