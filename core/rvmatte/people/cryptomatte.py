"""Cryptomatte ids, manifest and layers of the per-person EXR.

Follows the Cryptomatte specification (Psyop, v1.2): an object's id is the
MurmurHash3_32 (x86, seed 0) of its UTF-8 name whose float32 exponent is kept
away from 0 and 255 (no denormals, inf or NaN), stored as the float with those
bits (``uint32_to_float32``). Each pixel holds (id, coverage) pairs ranked by
coverage, two pairs per RGBA layer ``<name>00``, ``<name>01``…; an unused rank
is id 0, coverage 0. The header names the layer, the hash, the conversion and a
manifest ``{"name": "<8 hex>"}`` under ``cryptomatte/<7 hex of mmh3(layer)>/``.
Cryptomatte layers are always 32-bit float and lossless: a half or a lossy
codec would change the ids' bits.
"""
from __future__ import annotations

import json
import struct
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np

from rvmatte.io.writing import write_frame

LAYER = "CryptoPerson"
HASH = "MurmurHash3_32"
CONVERSION = "uint32_to_float32"


def murmurhash3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3_x86_32 (Austin Appleby's public-domain reference), unsigned."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    length = len(data)
    whole = length - length % 4
    for (k,) in struct.iter_unpack("<I", data[:whole]):
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[whole:]
    if tail:
        k = int.from_bytes(tail, "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
    h ^= length
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h


def name_hash(name: str) -> int:
    """The id bits of ``name``: its MurmurHash3_32 with the exponent clamp of the spec."""
    h = murmurhash3_32(name.encode("utf-8"))
    exponent = (h >> 23) & 0xFF
    if exponent in (0, 255):
        h ^= 1 << 23
    return h


def name_id(name: str) -> float:
    """The id of ``name`` as stored in the EXR (its hash's bits read as a float32)."""
    return float(np.array([name_hash(name)], dtype=np.uint32).view(np.float32)[0])


def manifest(names: Sequence[str]) -> Dict[str, str]:
    return {name: f"{name_hash(name):08x}" for name in names}


def layer_key(layer: str = LAYER) -> str:
    """``cryptomatte/<first 7 hex of mmh3(layer)>``: the header prefix of a layer's keys."""
    return f"cryptomatte/{murmurhash3_32(layer.encode('utf-8')):08x}"[:len("cryptomatte/") + 7]


def header_attributes(names: Sequence[str], layer: str = LAYER) -> Dict[str, str]:
    key = layer_key(layer)
    return {f"{key}/name": layer, f"{key}/hash": HASH, f"{key}/conversion": CONVERSION,
            f"{key}/manifest": json.dumps(manifest(names), separators=(",", ":"))}


def rank_layers(mattes: Sequence[np.ndarray], names: Sequence[str]) -> np.ndarray:
    """(H, W, 4 × layers) float32: per pixel the (id, coverage) pairs ranked by coverage.

    Enough layers for every person (at least two, as the common readers expect),
    so the coverages of a pixel add up to the sum of the mattes there.
    """
    count = len(names)
    height, width = mattes[0].shape
    ranks = max(4, count + count % 2)
    coverage = np.zeros((ranks, height, width), np.float32)
    ids = np.zeros((ranks, height, width), np.float32)
    if count:
        stack = np.stack([np.asarray(m, np.float32) for m in mattes])
        order = np.argsort(-stack, axis=0, kind="stable")
        ranked = np.take_along_axis(stack, order, axis=0)
        person_ids = np.array([name_id(n) for n in names], np.float32)
        coverage[:count] = ranked
        ids[:count] = np.where(ranked > 0, person_ids[order], np.float32(0))
    pairs = np.empty((ranks * 2, height, width), np.float32)
    pairs[0::2], pairs[1::2] = ids, coverage
    return np.ascontiguousarray(np.moveaxis(pairs, 0, -1))


def rank_channels(count: int, layer: str = LAYER) -> List[str]:
    layers = max(2, (count + 1) // 2)
    return [f"{layer}{i:02d}.{c}" for i in range(layers) for c in "RGBA"]


def person_channels(names: Sequence[str]) -> List[str]:
    return [f"{name}.A" for name in names]


def write_people_frame(path: str, mattes: Sequence[np.ndarray], names: Sequence[str],
                       header: Mapping | None = None, attributes: Mapping | None = None) -> None:
    """One multi-layer EXR: ``<name>.A`` per person and the ``CryptoPerson`` rank layers,
    32-bit float, zip (lossless) whatever the run's depth and compression."""
    pixels = [np.asarray(m, np.float32)[:, :, None] for m in mattes]
    pixels.append(rank_layers(mattes, names))
    channels = person_channels(names) + rank_channels(len(names))
    header = dict(header or {})
    header.pop("data_window", None)              # every channel over the display window
    attrs = dict(attributes or {})
    attrs.update(header_attributes(names))
    write_frame(path, np.concatenate(pixels, axis=2), channels, header=header, bit_depth="float",
                compression="zip", attributes=attrs)


def decode(pixels: np.ndarray, channels: Sequence[str], manifest_json: str,
           layer: str = LAYER) -> Dict[str, np.ndarray]:
    """Each manifest name's matte from the rank layers (what a Cryptomatte keyer computes)."""
    names = json.loads(manifest_json)
    index = {c: i for i, c in enumerate(channels)}
    out = {name: np.zeros(pixels.shape[:2], np.float32) for name in names}
    rank = 0
    while f"{layer}{rank:02d}.R" in index:
        for id_channel, cov_channel in (("R", "G"), ("B", "A")):
            ids = np.ascontiguousarray(pixels[:, :, index[f"{layer}{rank:02d}.{id_channel}"]], np.float32)
            bits = ids.view(np.uint32)
            cov = pixels[:, :, index[f"{layer}{rank:02d}.{cov_channel}"]]
            for name, hex_id in names.items():
                out[name] += np.where(bits == int(hex_id, 16), cov, 0)
        rank += 1
    return out
