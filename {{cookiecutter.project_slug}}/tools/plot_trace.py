"""Draw a torch.profiler chrome trace as an SVG timeline: host operators, device streams.

    python tools/plot_trace.py TRACE.json PICTURE.svg [--title TEXT] [--depth N]
    python tools/plot_trace.py --demo PICTURE.svg [--trace TRACE.json]

The first form reads a trace that ``prof.export_chrome_trace()`` wrote. The
second profiles a small training step on the {{ cookiecutter.device_type }} device (a copy to
the device on a side stream, the default stream waiting for it, the step
itself, a copy back), writes its trace (beside the picture, or to --trace),
and draws it: that is how the README's docs/profiler_trace.svg was made.

The picture has one row per host thread that ran operators (nested as far
as --depth) and one row per device stream that ran work (named by the
driver: copies by direction, kernels by operator, busy periods, waits, event
records), coloured by kind with a legend, with an arrow from the host
operator that queued each piece of device work and a time axis in
milliseconds. Work too short to be seen is drawn a few pixels wide; a name
that does not fit inside its work goes beside it, or below the stream's
row joined to it by a line, neighbours of one name counted once
(``memset ×4``); event records are marks that the legend names. Each slice
has a tooltip with its full name and duration when the SVG is opened in a
browser.

The SVG is written with the standard library alone (no plotting package),
so PICTURE must end in .svg.
Perfetto (ui.perfetto.dev) and chrome://tracing open the same trace
interactively.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

DEVICE_TYPE = "{{ cookiecutter.device_type }}"
PACKAGE = "{{ cookiecutter.package_name }}"

# Colours of the device's work, by the "kind" the profiler gives each slice.
KIND_COLOURS = {
    "memcpy": "#4e79a7",
    "kernel": "#f28e2c",
    "memset": "#59a14f",
    "busy period": "#bab0ab",
    "event wait": "#e15759",
    "event record": "#000000",
}
OTHER_KIND_COLOUR = "#76b7b2"
HOST_COLOUR = "#d4e6f1"


class Timeline:
    """The rows of a chrome trace that the picture shows, in milliseconds from its start."""

    def __init__(self, trace: dict, depth: int = 2) -> None:
        events = trace["traceEvents"]
        processes, threads = {}, {}
        for event in events:
            if event.get("ph") != "M":
                continue
            if event["name"] == "process_name":
                processes[event["pid"]] = str(event["args"]["name"])
            elif event["name"] == "thread_name":
                threads[(event["pid"], event["tid"])] = str(event["args"]["name"])
        self.device_pids = {
            pid for pid, name in processes.items() if name.startswith(f"{DEVICE_TYPE}:")
        }
        slices = [e for e in events if e.get("ph") == "X" and "dur" in e]
        device = [e for e in slices if e["pid"] in self.device_pids]
        host = [e for e in slices if e["pid"] not in self.device_pids and e.get("cat") == "cpu_op"]
        # Only the host threads that ran operators, and the streams that ran work.
        busy_threads = sorted({(e["pid"], e["tid"]) for e in host})
        streams = sorted({(e["pid"], e["tid"]) for e in device})
        starts = [e["ts"] for e in device + host]
        self.origin = min(starts) if starts else 0.0
        self.rows: list[str] = []
        self.row_of: dict = {}
        for pid, tid in busy_threads:
            self.row_of[(pid, tid)] = len(self.rows)
            self.rows.append(threads.get((pid, tid), f"host thread {tid}"))
        for pid, tid in streams:
            self.row_of[(pid, tid)] = len(self.rows)
            stream = threads.get((pid, tid), f"stream {tid}")
            self.rows.append(f"{processes[pid]} {stream}")
        self.host = [self._slice(e) for e in host]
        self._nest(self.host, depth)
        self.device = [self._slice(e) for e in device]
        self.arrows = self._arrows(events)
        ends = [s["end"] for s in self.host + self.device]
        self.duration = max(ends) if ends else 0.0

    def _ms(self, ts: float) -> float:
        return (ts - self.origin) / 1000.0

    def _slice(self, event: dict) -> dict:
        args = event.get("args", {})
        return {
            "name": event["name"],
            "row": self.row_of[(event["pid"], event["tid"])],
            "start": self._ms(event["ts"]),
            "end": self._ms(event["ts"] + event["dur"]),
            "kind": args.get("kind", "host"),
            "depth": 0,
        }

    @staticmethod
    def _nest(slices: list, depth: int) -> None:
        """Give each host slice its nesting depth; drop those deeper than ``depth``."""
        by_row = defaultdict(list)
        for s in slices:
            by_row[s["row"]].append(s)
        kept = []
        for row in by_row.values():
            row.sort(key=lambda s: (s["start"], -s["end"]))
            open_ends: list[float] = []
            for s in row:
                while open_ends and open_ends[-1] <= s["start"]:
                    open_ends.pop()
                s["depth"] = len(open_ends)
                open_ends.append(s["end"])
                if s["depth"] < depth:
                    kept.append(s)
        slices[:] = kept

    def _arrows(self, events: list) -> list:
        starts = {e["id"]: e for e in events if e.get("ph") == "s" and e.get("cat") == "ac2g"}
        arrows = []
        for end in (e for e in events if e.get("ph") == "f" and e.get("cat") == "ac2g"):
            start = starts.get(end["id"])
            if start is None:
                continue
            source = self.row_of.get((start["pid"], start["tid"]))
            target = self.row_of.get((end["pid"], end["tid"]))
            if source is not None and target is not None:
                arrows.append((self._ms(start["ts"]), source, self._ms(end["ts"]), target))
        return arrows


# The picture's geometry, in SVG pixels. Text widths are estimated from a
# sans-serif font's average character width: labels are only placed where
# that estimate says they fit.
WIDTH = 1200
FONT = "DejaVu Sans, Verdana, Helvetica, Arial, sans-serif"
CHAR_WIDTH = 0.62  # of the font size
LABEL_SIZE = 12
ROW_LABEL_SIZE = 13
TITLE_SIZE = 16
MARGIN = 20
HOST_LEVEL = 21  # height of one level of nested host operators
BAR_TOP = 12  # from the top of a device row to its work
DEVICE_BAR = 28
LANE = 16  # one line of labels below a device row
LANES = 3
MIN_WIDTH = 4.0  # device work shorter than this is drawn this wide
ARROW_COLOUR = "#7f8c8d"
TEXT_COLOUR = "#1b2631"
LINE_COLOUR = "#566573"


def text_width(text: str, size: float = LABEL_SIZE) -> float:
    return len(text) * size * CHAR_WIDTH


def number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def duration_text(ms: float) -> str:
    return f"{ms:.3f} ms" if ms >= 1 else f"{ms * 1000:.1f} µs"


def short_name(name: str) -> str:
    """An operator's name without its namespace or the autograd engine's prefix."""
    return name.rpartition(": ")[2].rpartition("::")[2]


def text_colour_on(fill: str) -> str:
    red, green, blue = (int(fill[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else TEXT_COLOUR


def fill_of(kind: str) -> str:
    if kind == "event wait":
        return "url(#event-wait)"  # hatched: the stream is stalled, not working
    return KIND_COLOURS.get(kind, OTHER_KIND_COLOUR)


def time_ticks(span: float, most: int = 12) -> list[float]:
    """Round times from 0 to ``span``, at most about ``most`` of them."""
    rough = span / most
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= rough)
    return [i * step for i in range(int(span / step + 1e-9) + 1)]


def tick_text(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def wrap(text: str, size: float, width: float) -> list[str]:
    lines = [""]
    for word in text.split():
        candidate = f"{lines[-1]} {word}".strip()
        if lines[-1] and text_width(candidate, size) > width:
            lines.append(word)
        else:
            lines[-1] = candidate
    return lines


class Svg:
    """SVG elements as text; every attribute value and text is escaped for XML."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    @staticmethod
    def attributes(values: dict) -> str:
        # A trailing underscore stands for a Python keyword (class_), the
        # other underscores for hyphens (font_size is font-size).
        text = {
            key.rstrip("_").replace("_", "-"): number(value) if isinstance(value, float) else value
            for key, value in values.items()
            if value is not None
        }
        return "".join(f" {key}={quoteattr(str(value))}" for key, value in text.items())

    def add(self, tag: str, text: str | None = None, **values: object) -> None:
        if text is None:
            self.parts.append(f"<{tag}{self.attributes(values)}/>")
        else:
            self.parts.append(f"<{tag}{self.attributes(values)}>{escape(text)}</{tag}>")

    def open(self, tag: str, **values: object) -> None:
        self.parts.append(f"<{tag}{self.attributes(values)}>")

    def close(self, tag: str) -> None:
        self.parts.append(f"</{tag}>")

    def text(self, x: float, y: float, text: str, size: float = LABEL_SIZE, **values) -> None:
        """Text centred vertically on ``y``."""
        self.add("text", text, x=number(x), y=number(y + size * 0.35), font_size=size, **values)


def label_device_work(slices: list[dict], x_of, scale: float, left: float, right: float):
    """Where the labels of one stream's work go: inside it, beside it, or below the row.

    Work too short to hold its name is grouped with its neighbours of the
    same name (``memset ×4``). A group's label goes beside it in the row if
    there is room before the next work (or after the previous); else in the
    first of the lanes below the row where it fits, starting (or ending)
    under the work, joined to it by a line. A label that fits nowhere near is left out: the slice's
    tooltip still names it. Instants (event records) are marks that the
    legend names. Returns the slices labelled inside, and the groups with
    their label's place: ``lane`` (None beside the work), ``x`` and ``x_end``
    (the work's extent), ``label_start`` and ``label_end``, ``anchor``.
    """
    inside, groups, last = [], [], None
    extents = {}  # each slice's extent in the picture
    for s in sorted(slices, key=lambda s: s["start"]):
        x = x_of(s["start"])
        width = max((s["end"] - s["start"]) * scale, MIN_WIDTH)
        extents[id(s)] = (x, x + width)
        if s["end"] <= s["start"]:
            continue
        if text_width(s["name"]) + 8 <= width:
            inside.append(s)
            last = None
        elif last and last["name"] == s["name"] and x - last["x_end"] < 40:
            last["count"] += 1
            last["x_end"] = x + width
            last["members"].add(id(s))
        else:
            last = {"name": s["name"], "count": 1, "x": x, "x_end": x + width, "members": {id(s)}}
            groups.append(last)

    def free(start: float, end: float, taken: list) -> bool:
        return left <= start and end <= right and all(end <= a or b <= start for a, b in taken)

    placed, below = [], []
    beside: list[tuple[float, float]] = []  # labels placed beside work
    for group in groups:
        members = group.pop("members")
        times = f" ×{group['count']}" if group["count"] > 1 else ""
        group["label"] = group["name"] + times
        width = text_width(group["label"])
        # Other work must stand well clear of a label beside this one.
        others = [(a - 8, b + 8) for key, (a, b) in extents.items() if key not in members]
        after = (group["x_end"] + 5, group["x_end"] + 5 + width, "start")
        before = (group["x"] - 5 - width, group["x"] - 5, "end")
        for start, end, anchor in (after, before):
            if free(start, end, others + beside):
                beside.append((start, end))
                placed.append(
                    {
                        **group,
                        "lane": None,
                        "label_start": start,
                        "label_end": end,
                        "anchor": anchor,
                    }
                )
                break
        else:
            below.append(group)

    # Below the row, from the right, so that the line down to a label
    # further left passes no label; a label runs to the right of its work,
    # or else to the left.
    lanes: list[list[tuple[float, float]]] = [[] for _ in range(LANES)]
    for group in reversed(below):
        width = text_width(group["label"]) + 4
        middle = (group["x"] + group["x_end"]) / 2
        for lane, taken in enumerate(lanes):
            if any(a - 3 <= middle <= b + 3 for above in lanes[:lane] for a, b in above):
                break  # the line down to the label would cross a label above
            padded = [(a - 10, b + 10) for a, b in taken]
            rightwards = max(left, min(middle, right - width))
            leftwards = max(left, min(middle - width, right - width))
            spot = next(
                (
                    (start, anchor)
                    for start, anchor in ((rightwards, "start"), (leftwards, "end"))
                    if free(start, start + width, padded)
                ),
                None,
            )
            if spot is not None:
                start, anchor = spot
                taken.append((start, start + width))
                placed.append(
                    {
                        **group,
                        "lane": lane,
                        "label_start": start,
                        "label_end": start + width,
                        "anchor": anchor,
                    }
                )
                break
    return inside, placed


def draw(timeline: Timeline, path: Path, title: str, depth: int) -> None:
    """Write ``timeline`` as an SVG picture to ``path``."""
    span = max(timeline.duration, 1e-3)
    longest_row_name = max([text_width(row, ROW_LABEL_SIZE) for row in timeline.rows] + [80.0])
    left, right = longest_row_name + 2 * MARGIN, WIDTH - MARGIN - 10
    scale = (right - left) / span

    def x_of(ms: float) -> float:
        return left + ms * scale

    # Device work, and where its labels go.
    by_row = defaultdict(list)
    for s in timeline.device:
        by_row[s["row"]].append(s)
    inside, outside = set(), {}
    for row, slices in by_row.items():
        labelled_inside, outside[row] = label_device_work(slices, x_of, scale, left, right)
        inside.update(id(s) for s in labelled_inside)

    # Rows, top to bottom: the host threads', then the device streams'.
    title_lines = wrap(title, TITLE_SIZE, WIDTH - 2 * MARGIN)
    y = MARGIN + 22 * len(title_lines) + 10
    tops, heights = [], []
    for row in range(len(timeline.rows)):
        if row in by_row:
            lanes = [g["lane"] for g in outside[row] if g["lane"] is not None]
            height = BAR_TOP + DEVICE_BAR + 6 + (LANE * (1 + max(lanes)) if lanes else 6) + 6
        else:
            height = 10 + HOST_LEVEL * depth + 10
        tops.append(y)
        heights.append(height)
        y += height
    axis_y = y + 4
    legend_y = axis_y + 58
    height = legend_y + 30

    svg = Svg()
    svg.open(
        "svg",
        xmlns="http://www.w3.org/2000/svg",
        width=WIDTH,
        height=number(height),
        viewBox=f"0 0 {WIDTH} {number(height)}",
        font_family=FONT,
        fill=TEXT_COLOUR,
    )
    svg.add("title", title)
    svg.parts.append(
        "<defs>"
        '<pattern id="event-wait" patternUnits="userSpaceOnUse" width="7" height="7"'
        ' patternTransform="rotate(45)">'
        '<rect width="7" height="7" fill="#f9d3d4"/>'
        f'<rect width="3" height="7" fill="{KIND_COLOURS["event wait"]}"/>'
        "</pattern>"
        '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7"'
        ' markerHeight="7" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{ARROW_COLOUR}"/>'
        "</marker>"
        "</defs>"
    )
    svg.add("rect", width=WIDTH, height=number(height), fill="white")
    for i, line in enumerate(title_lines):
        svg.text(
            WIDTH / 2,
            MARGIN + 8 + 22 * i,
            line,
            TITLE_SIZE,
            text_anchor="middle",
            font_weight="bold",
        )

    # Row bands and their names, a line between the host's and the device's.
    for row, name in enumerate(timeline.rows):
        band = "#f4f6f7" if row % 2 == 0 else "white"
        svg.add("rect", y=number(tops[row]), width=WIDTH, height=heights[row], fill=band)
        middle = BAR_TOP + DEVICE_BAR / 2 if row in by_row else heights[row] / 2
        svg.text(
            left - 12,
            tops[row] + middle,
            name,
            ROW_LABEL_SIZE,
            text_anchor="end",
            class_="row-label",
        )
    first_device_row = min(by_row, default=0)
    if first_device_row > 0:
        y = number(tops[first_device_row])
        svg.add("line", x1=0, y1=y, x2=WIDTH, y2=y, stroke="#85929e", stroke_width=1.2)

    # The time axis and its grid.
    rows_top = number(tops[0] if tops else axis_y)
    svg.add("line", x1=left, y1=number(axis_y), x2=right, y2=number(axis_y), stroke=LINE_COLOUR)
    for tick in time_ticks(span):
        x = number(x_of(tick))
        svg.add(
            "line", x1=x, y1=rows_top, x2=x, y2=number(axis_y), stroke="#d5dbdb", stroke_width=0.8
        )
        svg.add("line", x1=x, y1=number(axis_y), x2=x, y2=number(axis_y + 5), stroke=LINE_COLOUR)
        svg.text(x_of(tick), axis_y + 14, tick_text(tick), text_anchor="middle")
    svg.text(
        (left + right) / 2,
        axis_y + 34,
        "milliseconds from the first event",
        12,
        text_anchor="middle",
    )

    # Host operators, nested: depth 0 at the top of the row.
    for s in sorted(timeline.host, key=lambda s: (s["depth"], s["start"])):
        x, width = x_of(s["start"]), max((s["end"] - s["start"]) * scale, 1.0)
        y = tops[s["row"]] + 10 + HOST_LEVEL * s["depth"]
        svg.open("g", class_="slice", data_kind="host")
        svg.add("title", f"{s['name']}: {duration_text(s['end'] - s['start'])}")
        svg.add(
            "rect",
            x=number(x),
            y=number(y),
            width=f"{width:.2f}",
            height=HOST_LEVEL - 2,
            fill=HOST_COLOUR if s["depth"] == 0 else "#eaf2f8",
            stroke="#5d6d7e",
            stroke_width=0.5,
        )
        label, room = short_name(s["name"]), width - 6
        if text_width(label) > room and room >= text_width("abc…"):
            label = label[: int(room / (LABEL_SIZE * CHAR_WIDTH)) - 1] + "…"
        if text_width(label) <= room:
            svg.text(x + width / 2, y + HOST_LEVEL / 2 - 1, label, text_anchor="middle")
        svg.close("g")

    # Device work; instants (event records) as marks across the row.
    for s in timeline.device:
        top = tops[s["row"]] + BAR_TOP
        x, width = x_of(s["start"]), max((s["end"] - s["start"]) * scale, MIN_WIDTH)
        svg.open("g", class_="slice", data_kind=s["kind"])
        svg.add("title", f"{s['name']} ({s['kind']}): {duration_text(s['end'] - s['start'])}")
        if s["end"] <= s["start"]:
            svg.add(
                "rect",
                x=number(x - 1),
                y=number(top - 5),
                width=2,
                height=DEVICE_BAR + 10,
                fill=fill_of(s["kind"]),
            )
        else:
            svg.add(
                "rect",
                x=number(x),
                y=number(top),
                width=f"{width:.2f}",
                height=DEVICE_BAR,
                fill=fill_of(s["kind"]),
                stroke="#17202a",
                stroke_width=0.5,
            )
        if id(s) in inside:
            waits = s["kind"] == "event wait"
            svg.text(
                x + width / 2,
                top + DEVICE_BAR / 2,
                s["name"],
                text_anchor="middle",
                fill=TEXT_COLOUR if waits else text_colour_on(fill_of(s["kind"])),
                # A white outline keeps a wait's name legible on its hatching.
                stroke="white" if waits else None,
                stroke_width=3 if waits else None,
                paint_order="stroke" if waits else None,
                font_weight="bold" if waits else None,
                class_="device-label",
            )
        svg.close("g")
    for row, groups in outside.items():
        bar_bottom = tops[row] + BAR_TOP + DEVICE_BAR
        for group in groups:
            start, end = group["label_start"], group["label_end"]
            if group["lane"] is None:
                y = bar_bottom - DEVICE_BAR / 2
                x = start if group["anchor"] == "start" else end
                svg.text(x, y, group["label"], text_anchor=group["anchor"], class_="device-label")
                continue
            y = bar_bottom + 6 + LANE * group["lane"] + LANE / 2
            middle = (group["x"] + group["x_end"]) / 2
            x, joint = (start + 4, start) if group["anchor"] == "start" else (end - 4, end)
            svg.add(
                "polyline",
                points=f"{number(middle)},{number(bar_bottom)} {number(middle)},{number(y)}"
                f" {number(joint)},{number(y)}",
                fill="none",
                stroke=LINE_COLOUR,
                stroke_width=0.7,
            )
            svg.text(x, y, group["label"], text_anchor=group["anchor"], class_="device-label")

    # Arrows from the host operator that queued each piece of work to the work.
    for start, source, end, target in timeline.arrows:
        x1, y1 = x_of(start), tops[source] + heights[source] - 8
        x2, y2 = x_of(end), tops[target] + BAR_TOP
        bend = number((y1 + y2) / 2)
        svg.add(
            "path",
            d=f"M{number(x1)},{number(y1)} C{number(x1)},{bend} {number(x2)},{bend}"
            f" {number(x2)},{number(y2)}",
            fill="none",
            stroke=ARROW_COLOUR,
            stroke_width=1,
            stroke_opacity=0.85,
            marker_end="url(#arrow)",
            class_="arrow",
        )

    # The legend: the host's operators, each kind of device work, the arrows.
    kinds = [kind for kind in KIND_COLOURS if any(s["kind"] == kind for s in timeline.device)]
    kinds += sorted({s["kind"] for s in timeline.device} - set(KIND_COLOURS))
    entries = [("host operator", HOST_COLOUR)] + [(kind, fill_of(kind)) for kind in kinds]
    entries.append(("queued by", None))
    widths = [24 + text_width(name) + 22 for name, _ in entries]
    x = max(MARGIN, (left + right - sum(widths)) / 2)
    for (name, fill), width in zip(entries, widths, strict=True):
        if fill is None:
            svg.add(
                "line",
                x1=number(x),
                y1=number(legend_y),
                x2=number(x + 18),
                y2=number(legend_y),
                stroke=ARROW_COLOUR,
                marker_end="url(#arrow)",
            )
        else:
            svg.add(
                "rect",
                x=number(x),
                y=number(legend_y - 7),
                width=18,
                height=14,
                fill=fill,
                stroke="#17202a",
                stroke_width=0.5,
            )
        svg.text(x + 24, legend_y, name, class_="legend")
        x += width
    svg.close("svg")
    path.write_text("\n".join(svg.parts) + "\n", encoding="utf-8")


def profile_demo(trace_path: Path) -> None:
    """Profile one small training step and write its chrome trace."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    backend = __import__(PACKAGE)
    device = f"{DEVICE_TYPE}:0"
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    inputs = torch.randn(512, 64).pin_memory()
    targets = torch.randn(512, 1).pin_memory()
    loader = torch.Stream(device=device)  # copies on their own stream, as a data loader does

    def step() -> torch.Tensor:
        with loader:
            backend.sleep(2.0)  # the stream still busy with earlier work
            batch = inputs.to(device, non_blocking=True)
            expected = targets.to(device, non_blocking=True)
        # The default stream waits for the copies, then trains.
        torch.accelerator.current_stream().wait_stream(loader)
        loss = torch.nn.functional.mse_loss(model(batch), expected)
        optimizer.zero_grad(set_to_none=False)  # memsets
        loss.backward()
        optimizer.step()
        return loss.detach().cpu()  # a copy back to the host

    step()  # warm-up, not profiled
    activity = getattr(ProfilerActivity, DEVICE_TYPE.upper())
    with profile(activities=[ProfilerActivity.CPU, activity]) as prof:
        step()
    prof.export_chrome_trace(str(trace_path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "paths", nargs="+", type=Path, help="TRACE.json PICTURE.svg, or PICTURE.svg with --demo"
    )
    parser.add_argument("--demo", action="store_true", help="profile a training step first")
    parser.add_argument("--trace", type=Path, help="with --demo: where to write the trace")
    parser.add_argument("--title", default=None)
    parser.add_argument("--depth", type=int, default=2, help="host operator nesting shown")
    args = parser.parse_args(argv)
    if args.demo:
        if len(args.paths) != 1:
            parser.error("--demo takes one path: the picture (PICTURE.svg)")
        args.picture = args.paths[0]
    elif len(args.paths) != 2 or args.trace is not None:
        parser.error("give TRACE.json PICTURE.svg, or --demo PICTURE.svg")
    else:
        args.trace, args.picture = args.paths
    if args.picture.suffix.lower() != ".svg":
        parser.error(f"the picture is written as SVG: name it *.svg, not {args.picture.name}")
    if args.depth < 1:
        parser.error("--depth must be at least 1")
    if args.demo:
        args.trace = args.trace or args.picture.with_suffix(".json")
        profile_demo(args.trace)
    timeline = Timeline(json.loads(args.trace.read_text()), depth=args.depth)
    if not timeline.device:
        print(f"{args.trace} holds no {DEVICE_TYPE} device work", file=sys.stderr)
    title = args.title or (
        "One training step: copies on a side stream, the default stream waits for them,"
        " trains, and copies the loss back"
        if args.demo
        else args.trace.name
    )
    draw(timeline, args.picture, title, args.depth)
    print(f"wrote {args.picture} from {args.trace}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
