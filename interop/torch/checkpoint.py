"""Our checkpoint folder in Python (model/checkpoint.ts, model/safetensors.ts; DESIGN §5):

    model.safetensors      the parameters, nanoGPT state-dict names, F32; the tied lm_head.weight absent
    config.json            every key of GptConfig (model/config.ts)
    optimizer.safetensors  AdamW moments "m.<param>" and "v.<param>", metadata {"step": "<n>"} (optional)
    trainer_state.json     formatVersion, step, rng, data / valData cursors, options, bestValLoss, tokens,
                           valLosses, run

The checkpoint format version is model/trainer_state.ts's: a save writes ``"formatVersion": 1`` first in
``trainer_state.json``; a load reads a file without the key as format 1 (written before versions
existed) and refuses any other value by name, as ``loadCheckpoint`` does; the loaded ``trainer_state``
is the file's object without ``formatVersion``.

Safetensors is read and written here directly (8-byte little-endian header length, a JSON header padded
with spaces to a multiple of 8, then the raw little-endian data), with no dependency on the
``safetensors`` package. A save is atomic as in TypeScript: a fresh ``<dir>.tmp-<random>`` is written and
flushed, the old checkpoint renamed to ``<dir>.old-<random>``, the new one renamed into place, the old
one removed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import struct
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from model import GPT, GptConfig

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
OPTIMIZER_FILE = "optimizer.safetensors"
TRAINER_STATE_FILE = "trainer_state.json"
#: The checkpoint format this code writes and reads (model/trainer_state.ts CHECKPOINT_FORMAT_VERSION).
CHECKPOINT_FORMAT_VERSION = 1
#: The key of ``trainer_state.json`` that holds it (FORMAT_VERSION_KEY).
FORMAT_VERSION_KEY = "formatVersion"

_DTYPES = {"F32": ("<f4", 4), "F64": ("<f8", 8), "F16": ("<f2", 2), "BF16": (None, 2)}

StateDict = Dict[str, torch.Tensor]


def read_safetensors(path: str) -> Tuple[StateDict, Dict[str, str]]:
    """Tensors (as float32) and metadata of a safetensors file; every offset is checked against the file."""
    with open(path, "rb") as f:
        data = f.read()
    what = f'Cannot read safetensors "{path}"'
    if len(data) < 8:
        raise ValueError(f"{what}: the file is truncated")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{what}: the header of {n} bytes leaves the file")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    body = memoryview(data)[8 + n :]
    metadata = header.pop("__metadata__", None) or {}
    out: StateDict = {}
    for name, info in header.items():
        dtype, shape, (start, end) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in _DTYPES:
            raise ValueError(f"{what}: tensor {name!r} has dtype {dtype}, expected one of {list(_DTYPES)}")
        np_dtype, size = _DTYPES[dtype]
        count = int(np.prod(shape)) if shape else 1
        if not (0 <= start <= end <= len(body)) or end - start != count * size:
            raise ValueError(f"{what}: tensor {name!r} has offsets [{start}, {end}) that do not fit its shape or the file")
        raw = body[start:end]
        if dtype == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            array = bits.view(np.float32)
        else:
            array = np.frombuffer(raw, dtype=np_dtype).astype(np.float32)
        out[name] = torch.from_numpy(array.copy()).reshape(shape)
    return out, metadata


def encode_safetensors(tensors: StateDict, metadata: Optional[Dict[str, str]] = None) -> bytes:
    """The bytes of a safetensors file of float32 tensors, names sorted, as model/safetensors.ts writes it."""
    names = sorted(tensors)
    header: Dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = {k: str(metadata[k]) for k in sorted(metadata)}
    blobs = []
    offset = 0
    for name in names:
        array = tensors[name].detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4", copy=False)
        blob = array.tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def checkpoint_format_version(state: Dict[str, Any], source: str) -> int:
    """The format version of a parsed ``trainer_state.json`` (``checkpointFormatVersion``): its own
    ``formatVersion``, or 1 when absent; any other value (``true``, ``"1"``, ``2``) is refused by name."""
    if not isinstance(state, dict):
        raise ValueError(f"Cannot read {source}: expected a JSON object, got {type(state).__name__}")
    if FORMAT_VERSION_KEY not in state:
        return CHECKPOINT_FORMAT_VERSION
    version = state[FORMAT_VERSION_KEY]
    # JSON's 1 and 1.0 are the same number (as in JavaScript); a boolean is not a number here.
    if isinstance(version, bool) or not isinstance(version, (int, float)) or version != CHECKPOINT_FORMAT_VERSION:
        raise ValueError(
            f"Cannot read {source}: it has {FORMAT_VERSION_KEY} {json.dumps(version)[:200]}, but this version of "
            f"metatokens reads checkpoint format {CHECKPOINT_FORMAT_VERSION} only (written by a newer metatokens?)"
        )
    return CHECKPOINT_FORMAT_VERSION


@dataclass
class OptimizerState:
    """AdamW moments by parameter name and the step count (model/checkpoint.ts ``OptimizerState``)."""

    m: StateDict
    v: StateDict
    step: int


@dataclass
class Checkpoint:
    """Everything a run needs to resume (model/checkpoint.ts ``Checkpoint``)."""

    config: GptConfig
    model: StateDict
    optimizer: Optional[OptimizerState] = None
    trainer_state: Dict[str, Any] = field(default_factory=dict)


def load_checkpoint(directory: str) -> Checkpoint:
    """Reads a checkpoint folder written by TypeScript or by :func:`save_checkpoint`."""
    what = f'Cannot load checkpoint "{directory}"'
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{what}: no such directory")
    with open(os.path.join(directory, CONFIG_FILE), encoding="utf-8") as f:
        config = GptConfig.from_json(json.load(f))
    model, _ = read_safetensors(os.path.join(directory, MODEL_FILE))
    state_path = os.path.join(directory, TRAINER_STATE_FILE)
    with open(state_path, encoding="utf-8") as f:
        trainer_state = json.load(f)
    checkpoint_format_version(trainer_state, state_path)
    trainer_state.pop(FORMAT_VERSION_KEY, None)
    optimizer = None
    path = os.path.join(directory, OPTIMIZER_FILE)
    if os.path.exists(path):
        tensors, metadata = read_safetensors(path)
        m = {k[2:]: t for k, t in tensors.items() if k.startswith("m.")}
        v = {k[2:]: t for k, t in tensors.items() if k.startswith("v.")}
        if len(m) + len(v) != len(tensors) or set(m) != set(v) or not set(m) <= set(model):
            raise ValueError(f"{what}: {OPTIMIZER_FILE} must hold m.<param> and v.<param> of model tensors")
        optimizer = OptimizerState(m, v, int(metadata["step"]))
    return Checkpoint(config, model, optimizer, trainer_state)


def _write_synced(path: str, data: bytes) -> None:
    with open(path, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def save_checkpoint(directory: str, ckpt: Checkpoint) -> None:
    """Writes a checkpoint folder atomically (temp dir, then two renames), readable by ``loadCheckpoint``;
    ``trainer_state.json`` gets ``formatVersion`` 1 as its first key (whatever ``ckpt.trainer_state`` holds)."""
    directory = os.path.abspath(directory)
    trainer_state = {FORMAT_VERSION_KEY: CHECKPOINT_FORMAT_VERSION, **ckpt.trainer_state}
    trainer_state[FORMAT_VERSION_KEY] = CHECKPOINT_FORMAT_VERSION
    files = {
        MODEL_FILE: encode_safetensors(ckpt.model, {"format": "pt"}),
        CONFIG_FILE: (json.dumps(ckpt.config.to_json(), indent=2) + "\n").encode(),
        TRAINER_STATE_FILE: (json.dumps(trainer_state, indent=2, allow_nan=False) + "\n").encode(),
    }
    if ckpt.optimizer is not None:
        moments = {f"m.{k}": t for k, t in ckpt.optimizer.m.items()}
        moments.update({f"v.{k}": t for k, t in ckpt.optimizer.v.items()})
        files[OPTIMIZER_FILE] = encode_safetensors(moments, {"step": str(ckpt.optimizer.step)})
    os.makedirs(os.path.dirname(directory), exist_ok=True)
    temp = f"{directory}.tmp-{secrets.token_hex(6)}"
    os.mkdir(temp)
    try:
        for name, data in files.items():
            _write_synced(os.path.join(temp, name), data)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    old = None
    if os.path.exists(directory):
        old = f"{directory}.old-{secrets.token_hex(6)}"
        os.rename(directory, old)
    os.rename(temp, directory)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def model_state(model: torch.nn.Module) -> StateDict:
    """The state dict our checkpoints hold: nanoGPT names, the tied ``lm_head.weight`` dropped."""
    return {k: v for k, v in model.state_dict().items() if k != "lm_head.weight"}


def load_weights(model: GPT, state: StateDict) -> None:
    """Copies a checkpoint's tensors into ``model``: names and shapes must match exactly (``loadWeights``)."""
    own = model_state(model)
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        raise ValueError(f"Cannot load weights: missing {missing}, unexpected {extra} (a checkpoint of another config?)")
    for name, t in state.items():
        if tuple(t.shape) != tuple(own[name].shape):
            raise ValueError(f"Cannot load weights: {name!r} has shape {list(t.shape)}, the model expects {list(own[name].shape)}")
    result = model.load_state_dict(state, strict=False)
    assert list(result.missing_keys) == ["lm_head.weight"] and not result.unexpected_keys, result


def model_from_checkpoint(ckpt: Checkpoint) -> GPT:
    """A :class:`GPT` with the config and weights of a checkpoint (``modelFromCheckpoint``)."""
    model = GPT(ckpt.config)
    load_weights(model, ckpt.model)
    return model
