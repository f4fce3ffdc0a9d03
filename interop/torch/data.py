"""Our token cache and meta-token injection in Python: the same seed gives the same batches.

* The counter RNG of tensor/rng.ts (DESIGN §3 "one seeded RNG"): draw ``i`` of seed ``s`` is
  ``lowbias32(lowbias32(i) ^ lowbias32(s))``; a uniform is its top 24 bits · 2⁻²⁴; a normal is Box–Muller
  on two uniforms. Vectorised with NumPy: a draw depends only on its index.
* The token cache of data/cache.ts (DESIGN §6): ``tokens.bin`` (GPT-2 ids, uint16 little-endian) beside
  ``manifest.json`` whose ``split`` gives the train and validation ranges.
* Injection of data/inject.ts (DESIGN §6, paper §3): per window of n positions, k = round(0.1·n) meta
  tokens at a uniformly random k-subset of slots (partial Fisher–Yates), the window trimmed back to n,
  targets that are the meta token set to −1.
* Sampling of data/batches.ts: per row one uniform picks the window's offset, then k uniforms its slots;
  the cursor ``{seed, counter, batches}`` is the ``data`` / ``valData`` of ``trainer_state.json``.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, List, Tuple

import numpy as np

#: ``_PAUSE_``: GPT-2's vocabulary (50257 ids) plus one (data/tokenizer.ts META_ID).
META_ID = 50257
#: GPT-2's ``<|endoftext|>``.
EOT_ID = 50256

_M1 = np.uint32(0x7FEB352D)
_M2 = np.uint32(0x846CA68B)


def lowbias32(x: np.ndarray) -> np.ndarray:
    """Chris Wellons' ``lowbias32`` hash on uint32 arrays (wrapping multiplies, as ``Math.imul``)."""
    x = np.asarray(x, dtype=np.uint32)
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint32(16))
        x = x * _M1
        x = x ^ (x >> np.uint32(15))
        x = x * _M2
        x = x ^ (x >> np.uint32(16))
    return x


def _js_round(x: float) -> int:
    """``Math.round``: halves round up (toward +∞), unlike Python's banker's rounding."""
    return math.floor(x + 0.5)


class Rng:
    """tensor/rng.ts ``Rng``: seed and counter are the whole state (``{"seed", "counter"}``)."""

    def __init__(self, seed: int, counter: int = 0) -> None:
        if not (isinstance(seed, int) and 0 <= seed < 2**32):
            raise ValueError(f"Cannot seed the RNG with {seed!r}: expected an integer in [0, 2^32)")
        self.seed = seed
        self.key = lowbias32(np.array([seed], dtype=np.uint32))[0]
        self.counter = counter

    def u32s(self, n: int) -> np.ndarray:
        """The next n draws as uint32."""
        i = (np.arange(self.counter, self.counter + n, dtype=np.uint64) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        self.counter += n
        return lowbias32(lowbias32(i) ^ self.key)

    def uniforms(self, n: int) -> np.ndarray:
        """The next n draws as float64 in [0, 1) with 24 random bits."""
        return (self.u32s(n) >> np.uint32(8)).astype(np.float64) * 2.0**-24

    def uniform(self) -> float:
        """The next draw in [0, 1)."""
        return float(self.uniforms(1)[0])

    def normals(self, n: int) -> List[float]:
        """n standard normals (Box–Muller, two draws each: ``√(−2 ln(1 − u1))·cos(2π u2)``)."""
        u = self.uniforms(2 * n)
        return [math.sqrt(-2 * math.log(1 - u[2 * i])) * math.cos(2 * math.pi * u[2 * i + 1]) for i in range(n)]

    def state(self) -> Dict[str, int]:
        """``{"seed", "counter"}`` as tensor/rng.ts saves it."""
        return {"seed": self.seed, "counter": self.counter}


def meta_count(n: int, fraction: float = 0.1) -> int:
    """k = round(fraction·n) meta tokens per window (data/inject.ts ``metaCount``)."""
    return _js_round(fraction * n)


def random_subset(n: int, k: int, draws: np.ndarray) -> List[int]:
    """A sorted uniformly random k-subset of [0, n) by a sparse partial Fisher–Yates over k draws."""
    swapped: Dict[int, int] = {}
    out = []
    for i in range(k):
        j = i + math.floor(float(draws[i]) * (n - i))
        vi, vj = swapped.get(i, i), swapped.get(j, j)
        out.append(vj)
        swapped[j] = vi
    return sorted(out)


def inject_window(raw: np.ndarray, n: int, slots: List[int]) -> Tuple[np.ndarray, np.ndarray]:
    """x, y (n each) of data/inject.ts ``injectWindow``: META_ID at ``slots``, raw tokens elsewhere."""
    s = np.empty(n + 1, dtype=np.int64)
    is_slot = np.zeros(n + 1, dtype=bool)
    is_slot[slots] = True
    s[is_slot] = META_ID
    s[~is_slot] = raw[: n + 1 - len(slots)]
    x, y = s[:n].copy(), s[1:].copy()
    y[y == META_ID] = -1
    return x, y


class TokenCache:
    """An opened token cache directory (``manifest.json`` + ``tokens.bin``), memory-mapped."""

    def __init__(self, directory: str) -> None:
        self.dir = directory
        with open(os.path.join(directory, "manifest.json"), encoding="utf-8") as f:
            self.manifest: Dict[str, Any] = json.load(f)
        m = self.manifest
        if m.get("dtype") != "uint16le" or m.get("tokenizer") != "gpt2":
            raise ValueError(f'Cannot read token cache "{directory}": expected a gpt2 uint16le cache')
        path = os.path.join(directory, "tokens.bin")
        size = os.path.getsize(path)
        if size != 2 * m["tokens"]:
            raise ValueError(f'Cannot read token cache "{directory}": tokens.bin has {size} bytes, manifest says {m["tokens"]} tokens')
        self.tokens = np.memmap(path, dtype="<u2", mode="r")

    def split(self, name: str) -> np.ndarray:
        """The tokens of ``"train"`` or ``"val"``."""
        start, end = self.manifest["split"][name]
        return self.tokens[start:end]

    def data_setting(self) -> str:
        """The corpus as the CLI's ``--data`` names it: the source files, comma-joined ("" = embedded Brown)."""
        paths = [s["path"] for s in self.manifest.get("sources", [])]
        return "" if any(p.startswith("npm:") for p in paths) else ",".join(paths)


class TokenBatchSource:
    """data/batches.ts ``TokenBatchSource``: seeded random windows of a split, meta tokens injected."""

    def __init__(self, tokens: np.ndarray, batch_size: int, block_size: int, seed: int, meta: bool = True, meta_fraction: float = 0.1) -> None:
        if len(tokens) < block_size + 1:
            raise ValueError(f"Cannot draw windows of {block_size} from {len(tokens)} tokens: expected at least {block_size + 1}")
        self.tokens = tokens
        self.batch_size = batch_size
        self.block_size = block_size
        self.meta = meta
        self.k = meta_count(block_size, meta_fraction) if meta else 0
        self.rng = Rng(seed)
        self.batches = 0

    def next(self) -> Tuple[np.ndarray, np.ndarray]:
        """The next batch: x, y as int64 (B, T); −1 targets are ignored."""
        b, t, k = self.batch_size, self.block_size, self.k
        x = np.empty((b, t), dtype=np.int64)
        y = np.empty((b, t), dtype=np.int64)
        draws = self.rng.uniforms(b * (1 + k))  # per row: the offset, then k slots
        starts = len(self.tokens) - t
        for r in range(b):
            d = draws[r * (1 + k) : (r + 1) * (1 + k)]
            start = math.floor(float(d[0]) * starts)
            raw = np.asarray(self.tokens[start : start + t + 1], dtype=np.int64)
            if self.meta:
                x[r], y[r] = inject_window(raw, t, random_subset(t, k, d[1:]))
            else:
                x[r], y[r] = raw[:t], np.where(raw[1:] == META_ID, -1, raw[1:])
        self.batches += 1
        return x, y

    def state(self) -> Dict[str, int]:
        """``{seed, counter, batches}``: the data cursor of ``trainer_state.json``."""
        return {**self.rng.state(), "batches": self.batches}

    def restore(self, state: Dict[str, int]) -> None:
        """Continues exactly where ``state`` was saved."""
        self.rng = Rng(int(state["seed"]), int(state["counter"]))
        self.batches = int(state["batches"])
