"""Deterministic placement of point labels without overlaps (pure geometry, no matplotlib).

Each label is tried at candidate positions around its point -- right, left, above, below, then the
diagonals -- at growing distances; the first position that stays inside the plot area and touches
no label placed before it and no point marker wins. Labels are placed in the order given, so put
the most important points first. When no candidate is free, the position with the least overlap
is taken (the caller can check :func:`overlaps`); :func:`place_some_labels` may leave optional labels
out instead. Coordinates are display units (pixels, y up).
"""

from __future__ import annotations

__all__ = ["Box", "place_labels", "place_some_labels", "overlaps"]

import math
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True, slots=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def overlap_area(self, other: "Box", pad: float = 0.0) -> float:
        w = min(self.x1 + pad, other.x1 + pad) - max(self.x0 - pad, other.x0 - pad)
        h = min(self.y1 + pad, other.y1 + pad) - max(self.y0 - pad, other.y0 - pad)
        return w * h if w > 0 and h > 0 else 0.0

    def inside(self, other: "Box") -> bool:
        return self.x0 >= other.x0 and self.y0 >= other.y0 and self.x1 <= other.x1 and self.y1 <= other.y1

    @classmethod
    def around(cls, x: float, y: float, radius: float) -> "Box":
        return cls(x - radius, y - radius, x + radius, y + radius)


# Directions tried at each distance, in order: E, W, N, S, NE, NW, SE, SW, then in between.
_ANGLES = (0, 180, 90, 270, 45, 135, 315, 225, 22.5, 157.5, 337.5, 202.5, 67.5, 112.5, 292.5, 247.5)


def _candidate(x: float, y: float, w: float, h: float, angle: float, distance: float) -> Box:
    """The box whose nearest edge or corner lies ``distance`` from (x, y) in direction ``angle``."""
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    c = 0.0 if abs(c) < 1e-9 else c
    s = 0.0 if abs(s) < 1e-9 else s
    cx = x + c * distance + (w / 2) * (1 if c > 0 else -1 if c < 0 else 0)
    cy = y + s * distance + (h / 2) * (1 if s > 0 else -1 if s < 0 else 0)
    return Box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def place_labels(anchors: Sequence[tuple[float, float]], sizes: Sequence[tuple[float, float]], *,
                 bounds: Box, radii: Sequence[float] | None = None, obstacles: Sequence[Box] = (),
                 gap: float = 3.0, step: float = 6.0, max_distance: float = 150.0,
                 pad: float = 1.0) -> list[Box]:
    """One box per label (``sizes`` are (width, height)) placed near its anchor without overlaps.

    ``radii`` are the marker radii at the anchors (labels start outside them; markers are
    obstacles for every label); ``obstacles`` are further boxes to keep clear of (legend, title).
    """
    placed = place_some_labels(anchors, sizes, bounds=bounds, radii=radii, obstacles=obstacles, gap=gap, step=step,
                               max_distance=max_distance, pad=pad)
    return [box for box in placed if box is not None]


def place_some_labels(anchors: Sequence[tuple[float, float]], sizes: Sequence[tuple[float, float]], *,
                      bounds: Box, radii: Sequence[float] | None = None, obstacles: Sequence[Box] = (),
                      gap: float = 3.0, step: float = 6.0, max_distance: float = 150.0, pad: float = 1.0,
                      optional: Sequence[bool] | None = None) -> list[Box | None]:
    """:func:`place_labels` where some labels may be left out: an ``optional`` label that finds
    no free position gets None (and blocks nothing); a required one takes the position with the
    least overlap."""
    if len(anchors) != len(sizes):
        raise ValueError("anchors and sizes differ in length")
    radii = list(radii) if radii is not None else [0.0] * len(anchors)
    optional = list(optional) if optional is not None else [False] * len(anchors)
    if len(radii) != len(anchors) or len(optional) != len(anchors):
        raise ValueError("radii and optional must have one entry per anchor")
    markers = [Box.around(x, y, r) for (x, y), r in zip(anchors, radii)]
    fixed = list(obstacles)
    placed: list[Box | None] = []
    for i, ((x, y), (w, h)) in enumerate(zip(anchors, sizes)):
        # only what lies within reach of this label's candidates can touch them
        reach = Box.around(x, y, radii[i] + max_distance + w + h + pad)
        near = [o for o in fixed if o.overlap_area(reach) > 0]
        near_markers = [m for j, m in enumerate(markers) if j != i and m.overlap_area(reach) > 0]
        near_placed = [o for o in placed if o is not None and o.overlap_area(reach, pad) > 0]
        best: tuple[float, Box] | None = None
        distance = radii[i] + gap
        while distance <= radii[i] + max_distance:
            for angle in _ANGLES:
                box = _candidate(x, y, w, h, angle, distance)
                if not box.inside(bounds):
                    continue
                blocked = (box.overlap_area(markers[i]) > 0 or any(box.overlap_area(o, pad) > 0 for o in near_placed)
                           or any(box.overlap_area(o) > 0 for o in near)
                           or any(box.overlap_area(m) > 0 for m in near_markers))
                if not blocked:
                    best = (0.0, box)
                    break
                if optional[i]:  # only a free spot will do: no need to weigh the crowding
                    continue
                cost = sum(box.overlap_area(o, pad) for o in near_placed)
                cost += sum(box.overlap_area(o) for o in near)
                cost += sum(box.overlap_area(m) for m in near_markers)
                cost += box.overlap_area(markers[i])
                # a crowded spot far away is worse than the same crowding close by
                cost += distance * 1e-3
                if best is None or cost < best[0]:
                    best = (cost, box)
            if best is not None and best[0] == 0:
                break
            distance += step
        if optional[i] and (best is None or best[0] > 0):
            placed.append(None)
            continue
        if best is None:  # not even one candidate fits the bounds: clamp beside the anchor
            box = _candidate(x, y, w, h, 0, radii[i] + gap)
            dx = max(0.0, bounds.x0 - box.x0) - max(0.0, box.x1 - bounds.x1)
            dy = max(0.0, bounds.y0 - box.y0) - max(0.0, box.y1 - bounds.y1)
            best = (math.inf, Box(box.x0 + dx, box.y0 + dy, box.x1 + dx, box.y1 + dy))
        placed.append(best[1])
    return placed


def overlaps(boxes: Sequence[Box], *, pad: float = 0.0) -> list[tuple[int, int]]:
    """Index pairs of boxes that overlap (for tests and for warnings)."""
    out = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            if boxes[i].overlap_area(boxes[j], pad) > 0:
                out.append((i, j))
    return out
