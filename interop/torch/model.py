"""The GPT with meta-attention, as a PyTorch module: the twin of model/gpt.ts.

Everything here follows /work/shared/DESIGN.md (docs/ARCHITECTURE.md) §4–5 and the TypeScript model
(model/gpt.ts, attention/*.ts) line by line, under the same nanoGPT state-dict names:

    x += attn(ln_1(x)); if meta: x += meta_attn(ln_meta(x), metaPositions); x += mlp(ln_2(x))

then ``ln_f`` and the ``lm_head`` tied to ``wte`` (§5). Meta-attention (§4) has its own q/k/v/o weights;
only meta tokens attend, and only to earlier (or the same) meta tokens; every other position receives
only the ``c_proj`` bias (safe softmax: a row with no allowed key outputs zero, never a finite −1e9 fill).
Positional encodings: learned absolute (APE), RoPE in the rotate-half convention with optional YaRN,
or none (NoPE); the inference ablations of paper Tables 11–17.

Dropout (``dropout`` > 0; 0 in the paper's runs and in our presets) draws its masks from torch's own
generator, not from our counter RNG (tensor/rng.ts): with dropout on, this model and model/gpt.ts apply
different masks by construction, so parity is tested with dropout 0 (and in ``eval()``). Only the
position-noise ablation shares our RNG, draw for draw.

Works with torch 1.13 (Debian's ``python3-torch``); newer versions use ``scaled_dot_product_attention``
for the causal attention when present.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from data import Rng

#: The LayerNorm epsilon of tensor/ops/layernorm.ts.
LN_EPS = 1e-5


@dataclass
class YarnConfig:
    """YaRN context extension of a RoPE model (DESIGN §4, paper Appendix C)."""

    scale: float
    originalContext: int


@dataclass
class GptConfig:
    """The model's shape (DESIGN §5); field names are the keys of a checkpoint's ``config.json``."""

    vocabSize: int = 50304
    blockSize: int = 1024
    nLayer: int = 12
    nHead: int = 12
    nEmbd: int = 768
    dropout: float = 0.0
    bias: bool = True
    posEncoding: str = "ape"
    ropeTheta: float = 10000.0
    yarn: Optional[YarnConfig] = None
    metaAttention: bool = False
    activation: str = "gelu"
    metaTokenId: int = 50257

    def __post_init__(self) -> None:
        if isinstance(self.yarn, dict):
            self.yarn = YarnConfig(**self.yarn)
        if self.posEncoding not in ("ape", "rope", "none"):
            raise ValueError(f'Cannot use posEncoding = {self.posEncoding!r}: expected "ape", "rope" or "none"')
        if self.activation not in ("gelu", "relu"):
            raise ValueError(f'Cannot use activation = {self.activation!r}: expected "gelu" or "relu"')
        if self.nEmbd % self.nHead != 0:
            raise ValueError(f"Cannot split nEmbd {self.nEmbd} into nHead {self.nHead} heads")
        if self.posEncoding == "rope" and (self.nEmbd // self.nHead) % 2 != 0:
            raise ValueError(f"Cannot use RoPE with head size {self.nEmbd // self.nHead}: expected even")
        if self.yarn is not None and self.posEncoding != "rope":
            raise ValueError("Cannot use yarn without posEncoding 'rope'")

    @staticmethod
    def from_json(raw: Dict[str, Any]) -> "GptConfig":
        """A config from a checkpoint's ``config.json``: every key required, no unknown key (model/config.ts)."""
        names = [f.name for f in fields(GptConfig)]
        unknown = [k for k in raw if k not in names]
        missing = [k for k in names if k not in raw]
        if unknown or missing:
            raise ValueError(f"Cannot read model config: unknown keys {unknown}, missing keys {missing}")
        return GptConfig(**raw)

    def to_json(self) -> Dict[str, Any]:
        """The ``config.json`` object, keys in the TypeScript order; integral floats stay numbers."""
        out = asdict(self)
        for key in ("ropeTheta", "dropout"):
            if float(out[key]).is_integer():
                out[key] = int(out[key])
        if out["yarn"] is not None and float(out["yarn"]["scale"]).is_integer():
            out["yarn"]["scale"] = int(out["yarn"]["scale"])
        return out


#: Named configurations (model/config.ts PRESETS).
PRESETS: Dict[str, GptConfig] = {
    "tiny": GptConfig(nLayer=4, nHead=4, nEmbd=256, blockSize=256, metaAttention=True),
    "gpt2": GptConfig(),
    "meta-gpt2": GptConfig(metaAttention=True),
    "meta-gpt2-rope": GptConfig(metaAttention=True, posEncoding="rope"),
}


@dataclass
class Ablation:
    """The inference-time ablations of paper Tables 11–17 (DESIGN §4; model/gpt.ts ``Ablation``)."""

    noPosAtMeta: bool = False
    noEmbedAtMeta: bool = False
    posNoise: float = 0.0


# ----------------------------------------------------------------------------------------------------
# RoPE and YaRN (DESIGN §4; attention/rope.ts, attention/yarn.ts)


def yarn_range(head_size: int, base: float, yarn: YarnConfig, beta_fast: float = 32, beta_slow: float = 1) -> Tuple[int, int]:
    """YaRN's ramp bounds ``low = max(floor(r(β_fast)), 0)``, ``high = min(ceil(r(β_slow)), d − 1)`` (§4)."""

    def r(beta: float) -> float:
        return head_size * math.log(yarn.originalContext / (2 * math.pi * beta)) / (2 * math.log(base))

    return max(math.floor(r(beta_fast)), 0), min(math.ceil(r(beta_slow)), head_size - 1)


def yarn_mscale(scale: float, attn_factor: float = 1.0) -> float:
    """``mscale = (0.1·ln s + 1)·attn_factor`` on cos and sin; ``attn_factor`` for s ≤ 1 (§4)."""
    return attn_factor if scale <= 1 else (0.1 * math.log(scale) + 1) * attn_factor


def rope_frequencies(head_size: int, base: float, yarn: Optional[YarnConfig] = None) -> List[float]:
    """Per-pair frequencies θ′_i (HS/2), YaRN-adjusted (§4): ``θ′ = (θ/s)(1 − mask) + θ·mask``, in float64."""
    half = head_size // 2
    theta = [base ** (-2 * i / head_size) for i in range(half)]
    if yarn is None:
        return theta
    low, high = yarn_range(head_size, base, yarn)
    span = 0.001 if high == low else high - low
    out = []
    for i in range(half):
        ramp = min(max((i - low) / span, 0.0), 1.0)
        mask = 1 - ramp  # · extrapolation_factor 1
        out.append((theta[i] / yarn.scale) * (1 - mask) + theta[i] * mask)
    return out


def rope_tables(positions: torch.Tensor, config: GptConfig) -> Tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables (N, HS/2) for float64 positions (N), mscale folded in, as float32 (attention/rope.ts)."""
    head_size = config.nEmbd // config.nHead
    freq = torch.tensor(rope_frequencies(head_size, config.ropeTheta, config.yarn), dtype=torch.float64)
    m = yarn_mscale(config.yarn.scale) if config.yarn is not None else 1.0
    angle = positions.to(torch.float64, copy=False)[:, None] * freq.to(positions.device)[None, :]
    return (m * torch.cos(angle)).float(), (m * torch.sin(angle)).float()


def apply_rope(qkv: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, n_head: int) -> torch.Tensor:
    """Rotates the q and k blocks of qkv (…, 3C) per token (rotate-half: pair i is dims i and i + HS/2)."""
    c = qkv.shape[-1] // 3
    hs = c // n_head
    half = hs // 2
    lead = qkv.shape[:-1]
    qk = qkv[..., : 2 * c].reshape(*lead, 2, n_head, hs)
    x1, x2 = qk[..., :half], qk[..., half:]
    cs = cos.reshape(*lead, 1, 1, half).to(qkv.dtype)
    sn = sin.reshape(*lead, 1, 1, half).to(qkv.dtype)
    rotated = torch.cat([x1 * cs - x2 * sn, x2 * cs + x1 * sn], dim=-1)  # out1 = x1·c − x2·s, out2 = x2·c + x1·s
    return torch.cat([rotated.reshape(*lead, 2 * c), qkv[..., 2 * c :]], dim=-1)


# ----------------------------------------------------------------------------------------------------
# Attention (DESIGN §4; attention/causal_attention.ts, attention/meta_attention.ts)


def _at_least_f32(t: torch.Tensor) -> torch.Tensor:
    """``t`` in float32 when it is bf16/fp16 (softmax and loss under autocast), unchanged in float32/64."""
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def _split_heads(t: torch.Tensor, n_head: int) -> torch.Tensor:
    """(…, L, C) → (…, NH, L, HS)."""
    *lead, length, c = t.shape
    return t.reshape(*lead, length, n_head, c // n_head).transpose(-3, -2)


def _merge_heads(t: torch.Tensor) -> torch.Tensor:
    """(…, NH, L, HS) → (…, L, C)."""
    t = t.transpose(-3, -2)
    return t.reshape(*t.shape[:-2], t.shape[-2] * t.shape[-1])


def masked_attention(qkv: torch.Tensor, allowed: torch.Tensor, n_head: int) -> torch.Tensor:
    """softmax(q·kᵀ/√HS)·v over the allowed keys, qkv (B, L, 3C) → (B, L, C); ``allowed`` (B, L, L).

    The safe-softmax rule of §4: a query with no allowed key outputs zero (and passes no gradient);
    the −∞ fill is never replaced by a finite one that would let it attend to the future.
    """
    c = qkv.shape[-1] // 3
    q, k, v = (_split_heads(t, n_head) for t in qkv.split(c, dim=-1))
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(c // n_head))  # (B, NH, L, L)
    allowed = allowed[:, None, :, :]
    has_key = allowed.any(dim=-1, keepdim=True)  # (B, 1, L, 1)
    # Rows without a key get a harmless all-zero score row (no NaN), then a zero output.
    scores = scores.masked_fill(~allowed & has_key, float("-inf")).masked_fill(~has_key, 0.0)
    att = torch.softmax(_at_least_f32(scores), dim=-1).to(v.dtype) * has_key.to(v.dtype)
    return _merge_heads(att @ v)


def causal_attention(qkv: torch.Tensor, n_head: int) -> torch.Tensor:
    """Causal multi-head attention, qkv (B, T, 3C) → (B, T, C), scale 1/√HS."""
    c = qkv.shape[-1] // 3
    if hasattr(F, "scaled_dot_product_attention"):  # torch ≥ 2.0: flash / memory-efficient kernels
        q, k, v = (_split_heads(t, n_head) for t in qkv.split(c, dim=-1))
        return _merge_heads(F.scaled_dot_product_attention(q, k, v, is_causal=True))
    t = qkv.shape[1]
    causal = torch.ones(t, t, dtype=torch.bool, device=qkv.device).tril()
    return masked_attention(qkv, causal[None].expand(qkv.shape[0], t, t), n_head)


class CausalSelfAttention(nn.Module):
    """``attn``: c_attn (3C, C) → RoPE → causal attention → c_proj (C, C)."""

    def __init__(self, config: GptConfig) -> None:
        super().__init__()
        self.n_head = config.nHead
        self.c_attn = nn.Linear(config.nEmbd, 3 * config.nEmbd, bias=config.bias)
        self.c_proj = nn.Linear(config.nEmbd, config.nEmbd, bias=config.bias)

    def forward(self, x: torch.Tensor, rope: Optional[Tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        qkv = self.c_attn(x)
        if rope is not None:
            qkv = apply_rope(qkv, rope[0], rope[1], self.n_head)
        return self.c_proj(causal_attention(qkv, self.n_head))


class MetaAttention(nn.Module):
    """``meta_attn`` (§4): attention among meta tokens only, with its own c_attn/c_proj.

    Mask ``P[b,i,j] = 0`` iff i and j are both meta tokens (−∞ otherwise) plus the causal mask. Two
    implementations that agree up to rounding, as in attention/meta_attention.ts:

    * sparse (default): gather each row's meta positions, project only those through ``c_attn``, rotate
      them by their original positions, attend among them causally, project with ``c_proj`` (no bias),
      scatter back; every position then receives the ``c_proj`` bias;
    * dense (the reference): project every position and run the masked (T × T) attention.
    """

    def __init__(self, config: GptConfig) -> None:
        super().__init__()
        self.n_head = config.nHead
        self.c_attn = nn.Linear(config.nEmbd, 3 * config.nEmbd, bias=config.bias)
        self.c_proj = nn.Linear(config.nEmbd, config.nEmbd, bias=config.bias)

    def forward(
        self,
        x: torch.Tensor,
        is_meta: torch.Tensor,
        rope: Optional[Tuple[torch.Tensor, torch.Tensor]],
        dense: bool = False,
    ) -> torch.Tensor:
        return self.dense(x, is_meta, rope) if dense else self.sparse(x, is_meta, rope)

    def dense(self, x: torch.Tensor, is_meta: torch.Tensor, rope: Optional[Tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """The reference: (B, T, C) → (B, T, C) over the full masked pattern."""
        b, t, _ = x.shape
        qkv = self.c_attn(x)
        if rope is not None:
            qkv = apply_rope(qkv, rope[0].view(b, t, -1), rope[1].view(b, t, -1), self.n_head)
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        allowed = causal[None] & is_meta[:, :, None] & is_meta[:, None, :]
        return self.c_proj(masked_attention(qkv, allowed, self.n_head))

    def sparse(self, x: torch.Tensor, is_meta: torch.Tensor, rope: Optional[Tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """Cost proportional to the meta tokens: rows padded to the largest count K of the batch."""
        b, t, c = x.shape
        flat = x.reshape(b * t, c)
        out = torch.zeros_like(flat)
        counts = is_meta.sum(dim=1)  # (B)
        k = int(counts.max().item()) if b > 0 else 0
        if k > 0:
            # (B, K) flat indices of each row's meta tokens in position order; padding slots point at row 0.
            order = torch.argsort((~is_meta).to(torch.int8), dim=1, stable=True)[:, :k]
            valid = torch.arange(k, device=x.device)[None, :] < counts[:, None]  # (B, K)
            index = order + torch.arange(b, device=x.device)[:, None] * t
            index = torch.where(valid, index, torch.zeros_like(index))
            qkv = F.linear(flat[index], self.c_attn.weight, self.c_attn.bias)  # (B, K, 3C)
            if rope is not None:
                cos, sin = rope[0].reshape(b * t, -1), rope[1].reshape(b * t, -1)
                qkv = apply_rope(qkv, cos[index], sin[index], self.n_head)
            causal = torch.ones(k, k, dtype=torch.bool, device=x.device).tril()
            allowed = causal[None] & valid[:, :, None] & valid[:, None, :]
            y = F.linear(masked_attention(qkv, allowed, self.n_head), self.c_proj.weight)  # no bias yet
            out = out.index_add(0, index[valid], y[valid].to(out.dtype))
        if self.c_proj.bias is not None:
            out = out + self.c_proj.bias.to(out.dtype)  # every position, as in the dense form
        return out.view(b, t, c)


class MLP(nn.Module):
    """``mlp``: c_proj(act(c_fc(x))), act the erf GELU or ReLU."""

    def __init__(self, config: GptConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.nEmbd, 4 * config.nEmbd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.nEmbd, config.nEmbd, bias=config.bias)
        self.relu = config.activation == "relu"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c_fc(x)
        return self.c_proj(F.relu(h) if self.relu else F.gelu(h))


class Block(nn.Module):
    """One transformer block (§5), with ``ln_meta`` and ``meta_attn`` when the config has meta-attention."""

    def __init__(self, config: GptConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.nEmbd, eps=LN_EPS, elementwise_affine=True)
        self.attn = CausalSelfAttention(config)
        if config.metaAttention:
            self.ln_meta = nn.LayerNorm(config.nEmbd, eps=LN_EPS)
            self.meta_attn = MetaAttention(config)
        self.ln_2 = nn.LayerNorm(config.nEmbd, eps=LN_EPS)
        self.mlp = MLP(config)
        self.drop = nn.Dropout(config.dropout)
        self.meta = config.metaAttention
        if not config.bias:  # LayerNorm without a bias parameter (torch 1.13 has no bias=False)
            for ln in [self.ln_1, self.ln_2] + ([self.ln_meta] if self.meta else []):
                ln.register_parameter("bias", None)

    def forward(
        self,
        x: torch.Tensor,
        is_meta: torch.Tensor,
        rope: Optional[Tuple[torch.Tensor, torch.Tensor]],
        dense_meta: bool = False,
    ) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln_1(x), rope))
        if self.meta:
            x = x + self.meta_attn(self.ln_meta(x), is_meta, rope, dense_meta)
        return x + self.drop(self.mlp(self.ln_2(x)))


class GPT(nn.Module):
    """The GPT (§5) under nanoGPT's state-dict names, ``lm_head`` tied to ``transformer.wte``.

    ``state_dict()`` holds ``lm_head.weight`` too (the same tensor as ``transformer.wte.weight``); the
    checkpoint writer drops it, as our checkpoints (and nanoGPT's tied export) do.
    """

    def __init__(self, config: GptConfig) -> None:
        super().__init__()
        self.config = config
        c = config.nEmbd
        modules: Dict[str, nn.Module] = {"wte": nn.Embedding(config.vocabSize, c)}
        if config.posEncoding == "ape":
            modules["wpe"] = nn.Embedding(config.blockSize, c)
        modules["drop"] = nn.Dropout(config.dropout)
        modules["h"] = nn.ModuleList([Block(config) for _ in range(config.nLayer)])
        modules["ln_f"] = nn.LayerNorm(c, eps=LN_EPS)
        if not config.bias:
            modules["ln_f"].register_parameter("bias", None)
        self.transformer = nn.ModuleDict(modules)
        self.lm_head = nn.Linear(c, config.vocabSize, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied
        self._rope_cache: Dict[Tuple[int, str], Tuple[torch.Tensor, torch.Tensor]] = {}
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.nLayer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        """nanoGPT's initialisation (§5): N(0, 0.02) weights and embeddings, zero biases, unit LayerNorms."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def parameter_count(self) -> int:
        """Parameters, the tied head counted once."""
        return sum(p.numel() for p in self.parameters())

    def positions(self, b: int, t: int, is_meta: torch.Tensor, ablation: Ablation, rng: Optional[Rng]) -> torch.Tensor:
        """RoPE positions (B·T) in float64 with the ablations applied (attention/rope.ts ``tokenPositions``)."""
        pos = torch.arange(t, dtype=torch.float64).repeat(b)
        if ablation.posNoise:
            if rng is None:
                raise ValueError("Cannot add position noise without an rng")
            pos = pos + ablation.posNoise * torch.tensor(rng.normals(b * t), dtype=torch.float64)
        if ablation.noPosAtMeta:
            pos = torch.where(is_meta.reshape(-1).cpu(), torch.zeros_like(pos), pos)
        return pos

    def hidden(
        self,
        idx: torch.Tensor,
        ablation: Optional[Ablation] = None,
        rng: Optional[Rng] = None,
        dense_meta: bool = False,
    ) -> torch.Tensor:
        """The final hidden states (B, T, C) after ``ln_f`` (model/gpt.ts ``Gpt.hidden``)."""
        cfg = self.config
        ablation = ablation or Ablation()
        b, t = idx.shape
        if cfg.posEncoding == "ape" and t > cfg.blockSize:
            raise ValueError(f"Cannot run {t} tokens through an APE model with block size {cfg.blockSize}")
        is_meta = idx == cfg.metaTokenId  # (B, T)
        tr = self.transformer
        x = tr.wte(idx)
        if ablation.noEmbedAtMeta:
            x = x * (~is_meta)[..., None].to(x.dtype)
        rope = None
        if cfg.posEncoding == "ape":
            pe = tr.wpe(torch.arange(t, device=idx.device))[None].expand(b, t, cfg.nEmbd)
            if ablation.posNoise:
                if rng is None:
                    raise ValueError("Cannot add position noise without an rng")
                # Float32Array(σ·N(0, 1)) as apeEncoding fills it: the product in float64, rounded once.
                noise = (ablation.posNoise * torch.tensor(rng.normals(b * t * cfg.nEmbd), dtype=torch.float64)).float()
                pe = pe + noise.to(pe.device).view(b, t, cfg.nEmbd)
            if ablation.noPosAtMeta:
                pe = pe * (~is_meta)[..., None].to(pe.dtype)
            x = x + pe
        elif cfg.posEncoding == "rope":
            if ablation.posNoise or ablation.noPosAtMeta:
                cos, sin = rope_tables(self.positions(b, t, is_meta, ablation, rng), cfg)
                rope = (cos.to(idx.device).view(b, t, -1), sin.to(idx.device).view(b, t, -1))
            else:  # positions 0 … T−1 in every row: one (T, HS/2) table, kept per length and device
                key = (t, str(idx.device))
                if key not in self._rope_cache:
                    cos, sin = rope_tables(torch.arange(t, dtype=torch.float64), cfg)
                    self._rope_cache[key] = (cos.to(idx.device), sin.to(idx.device))
                cos, sin = self._rope_cache[key]
                rope = (cos[None].expand(b, t, -1), sin[None].expand(b, t, -1))
        x = tr.drop(x)
        for block in tr.h:
            x = block(x, is_meta, rope, dense_meta)
        return tr.ln_f(x)

    def forward(
        self,
        idx: torch.Tensor,
        targets: Optional[torch.Tensor] = None,
        ablation: Optional[Ablation] = None,
        rng: Optional[Rng] = None,
        dense_meta: bool = False,
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Logits (B, T, V) and, with targets (B, T; −1 ignored), the mean cross-entropy over kept targets."""
        logits = self.lm_head(self.hidden(idx, ablation, rng, dense_meta))
        if targets is None:
            return logits, None
        flat = targets.reshape(-1)
        if not bool((flat != -1).any()):
            return logits, logits.sum() * 0.0
        loss = F.cross_entropy(_at_least_f32(logits.reshape(-1, logits.shape[-1])), flat, ignore_index=-1)
        return logits, loss
