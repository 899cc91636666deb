"""Who is who from frame to frame: regions of the matte, labels carried by optical flow.

A frame's **regions** are the connected components (8-connected) of its
matte above ``SUPPORT``. Labels (1..K persons, K+1 "everyone else" when the
user picked targets) are carried from the previous frame by OpenCV's DIS
optical flow (plate to plate) and sampled nearest. Then, per region:

* no carried label: "everyone else" (targets), or the nearest person / a
  person not seen yet (``--people N``);
* one label: the whole region is that person;
* several (people touching or overlapping): the region is split by a
  watershed on the plate, flooded from the carried labels (eroded, so the
  uncertain border between them is decided by the plate's edges).

On an anchor frame (a mask or a point) the anchor's labels replace the
carried ones in every region they touch, and the carried track of an anchored
person is dropped elsewhere: a new mask re-anchors. A region is never cut by
the rough mask itself: the mask selects regions, the matte inside stays RVM's.

Fails when a person is fully hidden or leaves and comes back (no label to
carry), or when two people swap places inside one region faster than the
flow follows; the user then adds a mask frame after the event.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from rvmatte.errors import RvmatteError

SUPPORT = 1.0 / 512          # alpha above this belongs to a region
MIN_SHARE = 0.02             # a carried label on less of a region than this is flow bleed, not a person
ANCHOR_SHARE = 0.05          # a mask covering less of a region than this spilled over (unless its best region)
PHOTO_TOLERANCE = 24         # grey levels: a carried label whose pixel changed more than this is dropped
FLOW_TOLERANCE = 1.0         # pixels: forward and backward flow further apart than this are not trusted
BEYOND_MARGIN = 0.03         # of the frame's longest side: how far a rough mask may miss its person's edge
BEYOND_SHARE = 0.2           # ... and how much of a masked region may lie beyond that and still be theirs
ERODE = 3                    # carried seeds are eroded this many pixels before the watershed
NEW_PERSON_AREA = 0.002      # --people N: an unlabelled region this large (of the frame) is a person not seen yet


def _cv2():
    try:
        import cv2
    except ImportError:
        raise RvmatteError("rvmatte people needs OpenCV: pip install opencv-python-headless") from None
    return cv2


def regions(alpha: np.ndarray) -> Tuple[int, np.ndarray, np.ndarray]:
    """(count including background 0, component map int32, stats) of the matte's regions."""
    cv2 = _cv2()
    count, comp, stats, _ = cv2.connectedComponentsWithStats((alpha > SUPPORT).astype(np.uint8), connectivity=8)
    return count, comp, stats


def grey(rgb: np.ndarray, linear: bool) -> np.ndarray:
    """8-bit display-referred luminance for the flow (scene-linear plates get a plain 1/2.2 curve)."""
    values = np.clip(np.nan_to_num(rgb[:, :, :3], nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    if linear:
        values = values ** (1 / 2.2)
    lum = values @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    return (lum * 255 + 0.5).astype(np.uint8)


def colour8(rgb: np.ndarray, linear: bool) -> np.ndarray:
    values = np.clip(np.nan_to_num(rgb[:, :, :3], nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    if linear:
        values = values ** (1 / 2.2)
    return np.ascontiguousarray((values[:, :, ::-1] * 255 + 0.5).astype(np.uint8))


class Flow:
    """Carries a label map from one frame to the next (either direction) with DIS optical flow."""

    def __init__(self):
        cv2 = _cv2()
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._grid = None

    def carry(self, labels: np.ndarray, grey_from: np.ndarray, grey_to: np.ndarray) -> np.ndarray:
        cv2 = _cv2()
        flow = self._dis.calc(grey_to, grey_from, None)        # grey_to(p) ≈ grey_from(p + flow(p))
        height, width = labels.shape
        if self._grid is None or self._grid[0].shape != labels.shape:
            self._grid = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        map_x = self._grid[0] + flow[:, :, 0]
        map_y = self._grid[1] + flow[:, :, 1]
        carried = cv2.remap(labels, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        # Where the flow back and forth disagree (a part coming out from behind someone) or the
        # plate does not match what the flow brought, the carried label is a guess: the watershed decides.
        back = self._dis.calc(grey_from, grey_to, None)
        there = cv2.remap(back, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        mismatch = np.hypot(*(flow + there).transpose(2, 0, 1)) > FLOW_TOLERANCE
        seen = cv2.remap(grey_from, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        mismatch |= np.abs(seen.astype(np.int16) - grey_to.astype(np.int16)) > PHOTO_TOLERANCE
        carried[mismatch] = 0
        return carried


class Labeller:
    """Labels one frame's regions from carried labels and/or anchors.

    ``persons``: K named persons (labels 1..K); ``others``: whether label K+1
    stands for everyone not picked (targets) or every region goes to a person
    (``--people N``).
    """

    def __init__(self, persons: int, others: bool):
        self.persons = persons
        self.others = others
        self.top = persons + (1 if others else 0)

    def label(self, alpha: np.ndarray, plate8: np.ndarray, carried: Optional[np.ndarray],
              anchor: Optional[np.ndarray] = None, first: bool = False) -> np.ndarray:
        count, comp, stats = regions(alpha)
        seeds = np.zeros(alpha.shape, np.uint8) if carried is None else carried.copy()
        seeds[comp == 0] = 0
        anchored = np.zeros(count, bool)
        if anchor is not None and anchor.any():
            anchor = np.where(comp > 0, anchor, 0).astype(np.uint8)
            hist = self._histogram(comp, anchor, count)
            area = np.maximum(stats[:, 4], 1)[:, None]
            keep = hist >= ANCHOR_SHARE * area
            best = hist.argmax(axis=0)
            for label in range(1, self.top + 1):
                if hist[best[label], label] > 0:
                    keep[best[label], label] = True
            keep[0] = False
            anchored = keep[:, 1:].any(axis=1)
            seeds[np.isin(seeds, np.unique(anchor[anchor > 0]))] = 0
            in_anchored = anchored[comp]
            selected = np.where(keep[comp, anchor], anchor, 0)
            if self.others:
                selected = self._beyond_masks(selected, comp, stats, anchored, seeds)
            seeds[in_anchored] = selected[in_anchored]
        elif first and carried is None and not self.others:
            seeds = self._largest_regions(comp, stats, count)
        return self._assign(alpha, plate8, comp, stats, count, seeds, anchored)

    def _beyond_masks(self, selected, comp, stats, anchored, carried):
        """In a masked region, a large part far from every mask is someone else (carried, or
        everyone else): seeded so, the watershed splits the region between them."""
        cv2 = _cv2()
        far = cv2.distanceTransform((selected == 0).astype(np.uint8), cv2.DIST_L2, 3)
        margin = BEYOND_MARGIN * max(comp.shape)
        beyond = (far > margin) & anchored[comp]
        area = np.bincount(comp[beyond], minlength=len(stats))
        big = (area >= BEYOND_SHARE * np.maximum(stats[:, 4], 1)) & anchored
        beyond &= big[comp]
        others = np.where((carried > 0) & (carried <= self.persons), carried, self.top)
        return np.where(beyond, others, selected).astype(np.uint8)

    def _histogram(self, comp, labels, count):
        size = self.top + 1
        flat = comp.astype(np.int64).ravel() * size + labels.ravel()
        return np.bincount(flat, minlength=count * size).reshape(count, size)

    def _largest_regions(self, comp, stats, count):
        # A speck (a loose strand, a stray pixel above SUPPORT) is nobody: persons left over stay vacant
        # until a region as large as a person appears.
        big = stats[:, 4] >= NEW_PERSON_AREA * comp.size
        order = [c for c in np.argsort(-stats[:, 4]) if c != 0 and big[c]][: self.persons]
        order.sort(key=lambda c: stats[c, 0] + stats[c, 2] / 2)         # left to right
        lut = np.zeros(count, np.uint8)
        for label, c in enumerate(order, start=1):
            lut[c] = label
        return lut[comp]

    def _assign(self, alpha, plate8, comp, stats, count, seeds, anchored):
        hist = self._histogram(comp, seeds, count)
        hist[0] = 0
        hist[:, 0] = 0
        seeded = hist.sum(axis=1, keepdims=True)
        minimum = np.where(anchored[:, None], 1, np.maximum(MIN_SHARE * seeded, 1))
        hist = np.where(hist >= minimum, hist, 0)
        kinds = (hist > 0).sum(axis=1)
        lut = np.zeros(count, np.uint8)
        single = kinds == 1
        lut[single] = hist[single].argmax(axis=1)
        labels = lut[comp]
        for c in np.flatnonzero(kinds >= 2):
            self._split(labels, plate8, comp, stats[c], c, seeds, np.flatnonzero(hist[c]))
        unseeded = [c for c in np.flatnonzero(kinds == 0) if c != 0]
        if unseeded:
            self._unseeded(labels, comp, stats, unseeded)
        return labels

    def _split(self, labels, plate8, comp, stat, c, seeds, kept):
        """Watershed inside one region from its carried labels (eroded), on the plate's edges."""
        cv2 = _cv2()
        x, y, w, h = (int(v) for v in stat[:4])
        pad = 2
        y0, y1 = max(y - pad, 0), min(y + h + pad, comp.shape[0])
        x0, x1 = max(x - pad, 0), min(x + w + pad, comp.shape[1])
        inside = comp[y0:y1, x0:x1] == c
        crop_seeds = np.where(inside & np.isin(seeds[y0:y1, x0:x1], kept), seeds[y0:y1, x0:x1], 0)
        markers = np.zeros(inside.shape, np.int32)
        kernel = np.ones((3, 3), np.uint8)
        for label in kept:
            mask = (crop_seeds == label).astype(np.uint8)
            eroded = cv2.erode(mask, kernel, iterations=ERODE)
            markers[(eroded if eroded.any() else mask) > 0] = int(label)
        image = np.ascontiguousarray(plate8[y0:y1, x0:x1])
        cv2.watershed(image, markers)
        result = markers.copy()
        result[result < 0] = 0
        for _ in range(4):                                  # watershed lines: the neighbouring label
            if not (inside & (result == 0)).any():
                break
            grown = cv2.dilate(result.astype(np.uint8), kernel).astype(np.int32)
            result = np.where(result == 0, grown, result)
        result = np.where(result == 0, int(kept[0]), result)
        view = labels[y0:y1, x0:x1]
        view[inside] = result[inside].astype(np.uint8)

    def _unseeded(self, labels, comp, stats, unseeded):
        """Regions no label reached: a speck (a loose hair strand) goes to the nearest labelled pixel;
        a large one is everyone else (targets) or a person not seen yet (``--people N``)."""
        cv2 = _cv2()
        frame_area = comp.size
        large = [c for c in unseeded if stats[c, 4] >= NEW_PERSON_AREA * frame_area]
        small = [c for c in unseeded if stats[c, 4] < NEW_PERSON_AREA * frame_area]
        present = set(np.unique(labels).tolist()) - {0}
        for c in sorted(large, key=lambda c: -stats[c, 4]):
            if self.others:
                label = self.top
            else:
                vacant = [label for label in range(1, self.persons + 1) if label not in present]
                if not vacant:
                    small.append(c)
                    continue
                label = vacant[0]
            labels[comp == c] = label
            present.add(label)
        if small and present:
            unlabelled = (labels == 0).astype(np.uint8)
            _, index = cv2.distanceTransformWithLabels(unlabelled, cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
            lut = np.zeros(int(index.max()) + 1, np.uint8)
            labelled = unlabelled == 0
            lut[index[labelled]] = labels[labelled]
            where = np.isin(comp, small)
            labels[where] = lut[index[where]]


def point_anchor(alpha: np.ndarray, points, shape) -> np.ndarray:
    """An anchor map from clicked points: the region under each point (a disk of 6 px around
    each point where several persons were clicked in one region). Raises for a point on the background."""
    from rvmatte.people.targets import TargetError

    count, comp, _ = regions(alpha)
    anchor = np.zeros(shape, np.uint8)
    by_region: Dict[int, List] = {}
    for label, point in points:
        region = int(comp[point.y, point.x])
        if region == 0:
            raise TargetError(f"--target-point {point.text}: no person at {point.x},{point.y} "
                              f"on frame {point.frame}")
        by_region.setdefault(region, []).append((label, point))
    ys, xs = np.indices(shape)
    for region, picks in by_region.items():
        if len({label for label, _ in picks}) == 1:
            anchor[comp == region] = picks[0][0]
            continue
        for label, point in picks:
            anchor[((xs - point.x) ** 2 + (ys - point.y) ** 2 <= 36) & (comp == region)] = label
    return anchor
