"""Chart geometry for server-rendered inline SVG (no JavaScript, no CDN, nothing for the CSP
to block: only SVG presentation attributes, no ``style``). Pixels are geometry, not money,
so they may be fractional; the values shown to people come formatted from the caller."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 12, 30
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
COLOURS = ("#198754", "#0d6efd")


@dataclass
class Series:
    name: str
    values: Sequence[int]
    colour: str = COLOURS[0]


@dataclass
class Chart:
    """Everything the template needs: title, description, the plotted shapes and a data
    table (the accessible equivalent of the picture)."""

    id: str
    title: str
    description: str
    kind: str  # "bars" or "line"
    labels: list[str]
    series: list[Series]
    formatted: list[list[str]]  # per label, per series
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    ticks: list[dict] = field(default_factory=list)
    x_labels: list[dict] = field(default_factory=list)
    baseline: float = TOP + PLOT_H
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    rows: list[dict] = field(default_factory=list)


def _y(value: int, top_value: int) -> float:
    return round(TOP + PLOT_H - (value / top_value) * PLOT_H, 1) if top_value else TOP + PLOT_H


def _nice_top(value: int) -> int:
    """A round axis maximum at or above value (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def build_chart(
    *,
    id: str,
    title: str,
    description: str,
    kind: str,
    labels: Sequence[str],
    series: Sequence[Series],
    value_text: Callable[[int], str],
    label_every: int = 1,
) -> Chart:
    labels = list(labels)
    top_value = _nice_top(max((v for s in series for v in s.values), default=0))
    chart = Chart(
        id=id,
        title=title,
        description=description,
        kind=kind,
        labels=labels,
        series=list(series),
        formatted=[[value_text(s.values[i]) for s in series] for i in range(len(labels))],
    )
    chart.ticks = [
        {"y": _y(top_value * k // 4, top_value), "text": value_text(top_value * k // 4)}
        for k in range(5)
    ]
    slot = PLOT_W / max(len(labels), 1)
    for i, label in enumerate(labels):
        centre = LEFT + slot * (i + 0.5)
        if i % label_every == 0 or i == len(labels) - 1:
            chart.x_labels.append({"x": round(centre, 1), "text": label})
        chart.rows.append({"label": label, "values": chart.formatted[i]})
    if kind == "bars":
        bar_w = slot * 0.8 / max(len(series), 1)
        for i, label in enumerate(labels):
            start = LEFT + slot * i + slot * 0.1
            for j, s in enumerate(series):
                y = _y(s.values[i], top_value)
                chart.bars.append(
                    {
                        "x": round(start + j * bar_w, 1),
                        "y": y,
                        "width": round(max(bar_w - 1, 1), 1),
                        "height": round(TOP + PLOT_H - y, 1),
                        "colour": s.colour,
                        "title": f"{label} · {s.name}: {value_text(s.values[i])}",
                    }
                )
    else:
        for s in series:
            points = [
                (round(LEFT + slot * (i + 0.5), 1), _y(v, top_value))
                for i, v in enumerate(s.values)
            ]
            chart.lines.append(
                {
                    "colour": s.colour,
                    "points": " ".join(f"{x},{y}" for x, y in points),
                    "dots": [
                        {"x": x, "y": y, "title": f"{labels[i]}: {value_text(s.values[i])}"}
                        for i, (x, y) in enumerate(points)
                    ],
                }
            )
    return chart
