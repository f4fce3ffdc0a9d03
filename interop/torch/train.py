"""Pre-training with PyTorch, one process or many: ``torchrun --nproc_per_node N interop/torch/train.py``.

The optimisation is model/train.ts's, step for step (DESIGN §5, the paper's Table 4 defaults):

* AdamW ``torch.optim.AdamW`` (the rule of tensor/optim/adamw_rule.ts: bias-corrected moments,
  ε = 1e-8 outside the square root, decoupled decay θ −= lr·λ·θ), β = (0.9, 0.95), weight decay 0.1 on
  ≥ 2-D tensors only (model/train.ts ``decayGroups``), none on biases and LayerNorms;
* the schedule ``learningRate``: linear warmup ``lr·(step + 1)/(warmup + 1)``, cosine to ``minLr`` at
  ``decaySteps`` (default ``steps``), then ``minLr``;
* global gradient clipping to 1.0 (``min(1, clip/(‖g‖ + 1e-6))``); a non-finite loss or gradient norm
  stops the run before the weights are touched;
* ``gradAccum`` micro-batches per optimizer step **in total over all processes** (Table 4: 40): with N
  processes each runs gradAccum / N of them. Every process draws the step's micro-batches from one
  shared sampler (data.py) and takes its share, so the data cursor is the one a single TypeScript
  process would have after the same steps: a run moves TS → PyTorch → TS and continues the same stream.

Checkpoints are our folder (checkpoint.py): ``<out>/checkpoint`` and ``<out>/metrics.jsonl`` as
``deno task pretrain`` writes them, so ``deno task pretrain --resume``, ``finetune``, ``eval``,
``analyze`` and ``reproduce`` take them as they are. DDP by default; ``--fsdp`` shards with
FullyShardedDataParallel (full state dicts are gathered on rank 0 to save) on CUDA with torch ≥ 2.0 only,
and has never been run (no GPU here): it is refused before anything starts on a CPU, where torch's FSDP
stops at the first forward ("FSDP does not support CPU only execution", torch 1.13 and 2.x), and with
torch < 2.0 (no ``use_orig_params``/``optim_state_dict``; Debian's 1.13 under Python 3.11 cannot even
import ``torch.distributed.fsdp``). bf16 autocast on CUDA.

Dropout (``dropout`` > 0, off in the paper's runs and our presets) draws its masks from torch's generator,
not from our counter RNG: with dropout the two implementations train on different masks by construction.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch
import torch.distributed as dist

from checkpoint import Checkpoint, OptimizerState, load_checkpoint, load_weights, model_state, save_checkpoint
from data import TokenBatchSource, TokenCache, meta_count
from model import GPT, PRESETS, GptConfig

#: The validation sampler's seed (experiments/pretrain.ts VAL_SEED), the same for every run.
VAL_SEED = 12345


@dataclass
class TrainOptions:
    """model/train.ts ``TrainOptions``; defaults are ``PAPER_TRAIN_OPTIONS`` (the paper's Table 4)."""

    steps: int = 600_000
    gradAccum: int = 40
    lr: float = 6e-4
    minLr: float = 6e-5
    warmup: int = 2000
    weightDecay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    gradClip: float = 1.0
    evalEvery: int = 2000
    evalBatches: int = 200
    decaySteps: Optional[int] = None

    def to_json(self) -> Dict[str, Any]:
        """As ``trainer_state.json`` keeps it (``decaySteps`` only when set)."""
        out = asdict(self)
        if out["decaySteps"] is None:
            del out["decaySteps"]
        return out


#: The ``tiny`` preset's settings (model/train.ts TINY_TRAIN_OPTIONS).
TINY_TRAIN_OPTIONS = TrainOptions(steps=120, gradAccum=1, lr=1e-3, minLr=1e-4, warmup=10, evalEvery=40, evalBatches=4)


def learning_rate(step: int, o: TrainOptions) -> float:
    """nanoGPT's schedule, as model/train.ts ``learningRate`` (step counts from 0)."""
    decay = o.steps if o.decaySteps is None else o.decaySteps
    if step < o.warmup:
        return o.lr * (step + 1) / (o.warmup + 1)
    if step >= decay:
        return o.minLr
    ratio = (step - o.warmup) / max(1, decay - o.warmup)
    return o.minLr + 0.5 * (1 + math.cos(math.pi * ratio)) * (o.lr - o.minLr)


def decay_groups(model: torch.nn.Module) -> Tuple[List[Tuple[str, torch.nn.Parameter]], List[Tuple[str, torch.nn.Parameter]]]:
    """(name, parameter) pairs: ≥ 2-D tensors (weight decay), then the rest (model/train.ts ``decayGroups``)."""
    named = list(model.named_parameters())  # the tied head appears once, as transformer.wte.weight
    return [p for p in named if p[1].dim() >= 2], [p for p in named if p[1].dim() < 2]


def make_optimizer(model: torch.nn.Module, o: TrainOptions, decayed_names: Optional[set] = None) -> torch.optim.AdamW:
    """AdamW over the two groups, ε = 1e-8, no fused/foreach variants (one rule, as ours).

    ``decayed_names``: the ≥ 2-D parameters by name, taken from the unwrapped model (FSDP's sharded
    views do not keep their shapes); by default from ``model`` itself.
    """
    if decayed_names is None:
        decayed_names = {_clean(n) for n, _ in decay_groups(model)[0]}
    named = list(model.named_parameters())
    groups = [
        {"params": [p for n, p in named if _clean(n) in decayed_names], "weight_decay": o.weightDecay},
        {"params": [p for n, p in named if _clean(n) not in decayed_names], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=o.lr, betas=(o.beta1, o.beta2), eps=1e-8, foreach=False)


def _clean(name: str) -> str:
    """A parameter name without DDP/FSDP wrapper prefixes."""
    for prefix in ("module.", "_fsdp_wrapped_module.", "_forward_module.", "_checkpoint_wrapped_module."):
        name = name.replace(prefix, "")
    return name.replace("_flat_param", "")


def load_optimizer_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: OptimizerState) -> None:
    """Puts our AdamW moments (by name) and step into a torch AdamW over ``model``'s parameters."""
    for name, p in model.named_parameters():
        key = _clean(name)
        if key not in state.m:
            raise ValueError(f'Cannot resume: the optimizer state has no moment for "{key}"')
        optimizer.state[p] = {
            "step": torch.tensor(float(state.step)),
            "exp_avg": state.m[key].to(p.device, p.dtype).reshape(p.shape).clone(),
            "exp_avg_sq": state.v[key].to(p.device, p.dtype).reshape(p.shape).clone(),
        }


def optimizer_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer, step: int) -> OptimizerState:
    """Our AdamW state (moments by name; zeros before the first step) from a torch AdamW: copies, which
    later steps leave alone (``.cpu()`` of a CPU tensor would be the optimizer's own, updated in place)."""
    m, v = {}, {}
    for name, p in model.named_parameters():
        s = optimizer.state.get(p, {})
        m[_clean(name)] = s["exp_avg"].detach().cpu().clone() if "exp_avg" in s else torch.zeros(p.shape)
        v[_clean(name)] = s["exp_avg_sq"].detach().cpu().clone() if "exp_avg_sq" in s else torch.zeros(p.shape)
    return OptimizerState(m, v, step)


class NonFiniteLossError(RuntimeError):
    """The loss or gradient norm stopped being finite; nothing was updated with it (model/train.ts)."""


class Trainer:
    """Optimizer steps over a model (plain, DDP- or FSDP-wrapped), the state of model/train.ts ``Trainer``.

    ``rank``/``world`` split each step's ``gradAccum`` micro-batches: process r trains on micro-batches
    r, r + world, … of the step, all drawn from one shared ``train`` sampler.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        train: TokenBatchSource,
        val: Optional[TokenBatchSource],
        options: TrainOptions,
        device: torch.device,
        rank: int = 0,
        world: int = 1,
        autocast_dtype: Optional[torch.dtype] = None,
        seed: int = 1337,
        decayed_names: Optional[set] = None,
        fsdp: bool = False,
    ) -> None:
        if options.gradAccum % world != 0:
            raise ValueError(f"Cannot split gradAccum {options.gradAccum} micro-batches over {world} processes: use a multiple of {world}")
        self.model, self.train, self.val, self.options = model, train, val, options
        self.device, self.rank, self.world = device, rank, world
        self.autocast_dtype = autocast_dtype
        self.fsdp = fsdp
        self.optimizer = make_optimizer(model, options, decayed_names)
        self.step_count = 0
        self.tokens = 0
        self.best_val_loss: Optional[float] = None
        self.val_losses: List[List[float]] = []
        self.rng_state: Dict[str, int] = {"seed": seed, "counter": 0}

    def _autocast(self) -> Any:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def _all_reduce(self, value: torch.Tensor) -> torch.Tensor:
        if self.world > 1:
            dist.all_reduce(value)
        return value

    def step(self) -> Dict[str, float]:
        """One optimizer step; returns ``{step, loss, lr, gradNorm, tokens}`` (model/train.ts ``StepInfo``)."""
        o, model = self.options, self.model
        lr = learning_rate(self.step_count, o)
        batches = [self.train.next() for _ in range(o.gradAccum)]  # every process draws all: one cursor
        mine = batches[self.rank :: self.world]
        model.train()
        loss_sum = torch.zeros((), device=self.device, dtype=torch.float64)
        for i, (x, y) in enumerate(mine):
            sync = i == len(mine) - 1 or not hasattr(model, "no_sync")
            with (contextlib.nullcontext() if sync else model.no_sync()):
                with self._autocast():
                    _, loss = model(torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device))
                # Each micro-batch contributes 1/gradAccum of the step's mean loss (DDP averages over processes).
                (loss * (self.world / o.gradAccum)).backward()
            loss_sum += loss.detach().double() / o.gradAccum
        loss_value = float(self._all_reduce(loss_sum).item())
        params = [p for p in model.parameters() if p.grad is not None]
        if o.gradClip > 0:
            clip = getattr(model, "clip_grad_norm_", None)  # FSDP: the norm over every shard
            norm = clip(o.gradClip) if clip else torch.nn.utils.clip_grad_norm_(params, o.gradClip)
        else:
            norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in params))
        grad_norm = float(norm)
        if not math.isfinite(loss_value) or not math.isfinite(grad_norm):
            self.optimizer.zero_grad(set_to_none=True)
            what = "Loss" if not math.isfinite(loss_value) else "Gradient norm"
            raise NonFiniteLossError(f"{what} became {loss_value if what == 'Loss' else grad_norm} at step {self.step_count + 1}: training stopped before updating the weights")
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step_count += 1
        tokens = o.gradAccum * self.train.batch_size * self.train.block_size
        self.tokens += tokens
        return {"step": self.step_count, "loss": loss_value, "lr": lr, "gradNorm": grad_norm, "tokens": tokens}

    @torch.no_grad()
    def evaluate(self) -> float:
        """Mean loss over ``evalBatches`` validation batches, split over the processes."""
        assert self.val is not None
        # DDP's wrapper is skipped: no collective runs in evaluation, so processes may see different counts.
        net = self.model.module if isinstance(self.model, torch.nn.parallel.DistributedDataParallel) else self.model
        net.eval()
        total = torch.zeros((), device=self.device, dtype=torch.float64)
        for i in range(self.options.evalBatches):
            x, y = self.val.next()  # every process advances the cursor
            if i % self.world == self.rank:
                with self._autocast():
                    _, loss = net(torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device))
                total += loss.double()
        loss = float(self._all_reduce(total).item()) / self.options.evalBatches
        if self.best_val_loss is None or loss < self.best_val_loss:
            self.best_val_loss = loss
        self.val_losses.append([self.step_count, loss])
        return loss

    def trainer_state(self, extra: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """``trainer_state.json`` as model/train.ts ``Trainer.state`` writes it, plus ``extra``."""
        state = {
            "step": self.step_count,
            "rng": self.rng_state,
            "data": self.train.state(),
            "valData": self.val.state() if self.val is not None else None,
            "bestValLoss": self.best_val_loss,
            "tokens": self.tokens,
            "options": self.options.to_json(),
            "valLosses": self.val_losses,
        }
        return {**state, **(extra or {})}

    def restore(self, ckpt: Checkpoint) -> None:
        """Optimizer moments, counters and data cursors from a checkpoint (weights are loaded before wrapping)."""
        if ckpt.optimizer is not None and self.fsdp:
            load_fsdp_optimizer_state(self.model, self.optimizer, ckpt.optimizer)
        elif ckpt.optimizer is not None:
            load_optimizer_state(self.model, self.optimizer, ckpt.optimizer)
        s = ckpt.trainer_state
        self.step_count = int(s["step"])
        self.tokens = int(s.get("tokens", 0))
        self.best_val_loss = s.get("bestValLoss")
        self.val_losses = [list(v) for v in s.get("valLosses", [])]
        self.rng_state = dict(s.get("rng", self.rng_state))
        self.train.restore(s["data"])
        if self.val is not None and s.get("valData"):
            self.val.restore(s["valData"])


# ----------------------------------------------------------------------------------------------------
# The command line


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Flags named as ``deno task pretrain``'s (``--n-layer`` for nLayer, …)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cache", required=True, help="token cache folder (manifest.json + tokens.bin) written by our CLI")
    p.add_argument("--out", default="runs/pretrain-torch", help="run folder: checkpoint/ and metrics.jsonl")
    p.add_argument("--preset", default="meta-gpt2", choices=sorted(PRESETS))
    p.add_argument("--meta", choices=["true", "false"], help="meta-attention and meta-token injection (default: the preset's)")
    p.add_argument("--pos", choices=["ape", "rope", "none"])
    for key in ("n-layer", "n-head", "n-embd", "block-size", "vocab-size"):
        p.add_argument(f"--{key}", type=int)
    p.add_argument("--dropout", type=float)
    p.add_argument("--activation", choices=["gelu", "relu"])
    p.add_argument("--resume", action="store_true", help="continue <out>/checkpoint (written here or by TypeScript)")
    p.add_argument("--init-from", default="", help="start from the weights of one of our checkpoint folders")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--batch-size", type=int, default=12, help="sequences per micro-batch (per process)")
    p.add_argument("--checkpoint-every", type=int, default=2000)
    p.add_argument("--val-fraction", type=float, help="recorded for the CLI; the split is the cache's")
    integers = ("steps", "gradAccum", "warmup", "evalEvery", "evalBatches", "decaySteps")
    for key, default in asdict(TrainOptions()).items():
        flag = "--" + "".join("-" + ch.lower() if ch.isupper() else ch for ch in key)
        p.add_argument(flag, dest=key, type=int if key in integers else float, default=None, help=f"Table 4: {default}")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (cuda when available)")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16"], help="autocast dtype (auto: bf16 on CUDA)")
    p.add_argument("--fsdp", action="store_true", help="FullyShardedDataParallel instead of DDP")
    p.add_argument("--dense-meta", action="store_true", help="the dense reference meta-attention (slower)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads per process (0: torch's default)")
    return p.parse_args(argv)


def build_config(args: argparse.Namespace) -> GptConfig:
    """The preset with the flags applied (experiments/settings.ts ``pretrainConfig``, without YaRN)."""
    overrides: Dict[str, Any] = {}
    for flag, key in (("n_layer", "nLayer"), ("n_head", "nHead"), ("n_embd", "nEmbd"), ("block_size", "blockSize"), ("vocab_size", "vocabSize"), ("dropout", "dropout"), ("activation", "activation"), ("pos", "posEncoding")):
        if getattr(args, flag) is not None:
            overrides[key] = getattr(args, flag)
    if args.meta is not None:
        overrides["metaAttention"] = args.meta == "true"
    return replace(PRESETS[args.preset], **overrides)


def build_options(args: argparse.Namespace, base: TrainOptions) -> TrainOptions:
    """``base`` with every optimisation flag given applied."""
    given = {k: getattr(args, k) for k in asdict(base) if getattr(args, k, None) is not None}
    return replace(base, **given)


def main(argv: Optional[List[str]] = None) -> None:
    # Line-buffered, so that a log written to a file (torchrun --redirects) shows each line as it happens.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    distributed = "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1
    device_name = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    if args.fsdp:
        check_fsdp(device_name)  # before any process group, checkpoint or model
    if distributed:
        dist.init_process_group(backend="nccl" if device_name == "cuda" else "gloo")
        rank, world, local = dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0))
    else:
        rank, world, local = 0, 1, 0
    device = torch.device(f"cuda:{local}" if device_name == "cuda" else device_name)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    dtype = {"float32": None, "bfloat16": torch.bfloat16, "auto": torch.bfloat16 if device.type == "cuda" else None}[args.dtype]
    log = (lambda msg: print(msg, flush=True)) if rank == 0 else (lambda msg: None)
    ckpt_dir = os.path.join(args.out, "checkpoint")

    resume = load_checkpoint(ckpt_dir) if args.resume else None
    if resume is not None:
        config = resume.config
        run = resume.trainer_state.get("run", {})
        base = replace(TrainOptions(), **{k: v for k, v in resume.trainer_state.get("options", {}).items() if k in asdict(TrainOptions())})
        seed, batch_size = int(run.get("seed", args.seed)), int(run.get("batchSize", args.batch_size))
    else:
        config = build_config(args)
        base = TINY_TRAIN_OPTIONS if args.preset == "tiny" else TrainOptions()
        seed, batch_size = args.seed, args.batch_size
    options = build_options(args, base)
    cache = TokenCache(args.cache)
    meta = config.metaAttention
    train_src = TokenBatchSource(cache.split("train"), batch_size, config.blockSize, seed, meta)
    val_src = TokenBatchSource(cache.split("val"), batch_size, config.blockSize, VAL_SEED, meta)

    torch.manual_seed(seed)
    model = GPT(config)
    if resume is not None:
        load_weights(model, resume.model)
    elif args.init_from:
        load_weights(model, load_checkpoint(args.init_from).model)
        log(f"initialised from {args.init_from}")
    model.to(device)
    wrapped: torch.nn.Module = model
    decayed_names = {n for n, _ in decay_groups(model)[0]}
    if distributed and args.fsdp:
        wrapped = wrap_fsdp(model, device)
    elif distributed:
        # Without meta tokens in a window (k = round(0.1·T) = 0) meta-attention's c_attn gets no gradient.
        unused = config.metaAttention and meta_count(config.blockSize) == 0
        wrapped = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[local] if device.type == "cuda" else None, find_unused_parameters=unused
        )
    trainer = Trainer(wrapped, train_src, val_src, options, device, rank, world, dtype, seed, decayed_names, distributed and args.fsdp)
    if resume is not None:
        trainer.restore(resume)
        log(f"resumed from {ckpt_dir} at step {trainer.step_count}")
    run_settings = {
        "preset": args.preset if resume is None else resume.trainer_state.get("run", {}).get("preset", args.preset),
        "meta": config.metaAttention,
        "pos": config.posEncoding,
        "data": cache.data_setting(),
        "seed": seed,
        # Rows per micro-batch; gradAccum counts micro-batches over all processes, so a TypeScript resume with
        # the same batchSize and gradAccum continues the same data stream and schedule.
        "batchSize": batch_size,
        "checkpointEvery": args.checkpoint_every,
        "valFraction": cache.manifest.get("valFraction", 0.05) if args.val_fraction is None else args.val_fraction,
        "extendFrom": "",
        "yarnScale": config.yarn.scale if config.yarn else 1,
    }
    log(
        f"pretrain (torch {torch.__version__}, {world} × {device.type}{', FSDP' if args.fsdp else ''}{', bf16 autocast' if dtype else ''}): "
        f"{config.nLayer} layers, width {config.nEmbd}, {config.posEncoding}, meta {'on' if meta else 'off'}; "
        f"{model.parameter_count() / 1e6:.2f}M parameters; {options.steps} steps of {batch_size * options.gradAccum} × {config.blockSize} tokens"
    )
    metrics_path = os.path.join(args.out, "metrics.jsonl")
    if rank == 0:
        os.makedirs(args.out, exist_ok=True)

    def metric(row: Dict[str, Any]) -> None:
        if rank == 0:
            with open(metrics_path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **row}) + "\n")

    def evaluate() -> None:
        loss = trainer.evaluate()
        metric({"type": "eval", "step": trainer.step_count, "val_loss": loss})
        log(f"step {trainer.step_count} | val loss {loss:.4f}")

    def save() -> None:
        state = full_state(wrapped, args.fsdp and distributed)
        opt = full_optimizer_state(wrapped, trainer.optimizer, args.fsdp and distributed, trainer.step_count)
        if rank == 0:
            ckpt = Checkpoint(config, state, opt, trainer.trainer_state({"run": run_settings, "torch": {"world": world, "fsdp": bool(args.fsdp)}}))
            save_checkpoint(ckpt_dir, ckpt)
            metric({"type": "checkpoint", "step": trainer.step_count, "dir": ckpt_dir})
            log(f"saved {ckpt_dir} at step {trainer.step_count}")
        if distributed:
            dist.barrier()

    if trainer.step_count == 0 and options.evalEvery > 0:
        evaluate()
    started, start_step, tokens = time.time(), trainer.step_count, 0
    while trainer.step_count < options.steps:
        info = trainer.step()
        tokens += info["tokens"]
        seconds = time.time() - started
        # The keys of model/run.ts's metrics.jsonl rows: snake_case, grad_norm for StepInfo's gradNorm.
        metric({"type": "train", "step": info["step"], "loss": info["loss"], "lr": info["lr"], "grad_norm": info["gradNorm"], "tokens": info["tokens"], "tokens_per_s": tokens / seconds})
        log(f"step {info['step']}/{options.steps} | loss {info['loss']:.4f} | lr {info['lr']:.3g} | {tokens / seconds:,.0f} tok/s")
        last = trainer.step_count == options.steps
        if options.evalEvery > 0 and (info["step"] % options.evalEvery == 0 or last):
            evaluate()
        if last or (args.checkpoint_every > 0 and info["step"] % args.checkpoint_every == 0):
            save()
    if distributed:
        dist.destroy_process_group()


def check_fsdp(device_name: str) -> None:
    """Refuses ``--fsdp`` where it cannot run, with the reason and no stack trace (SystemExit):

    * on a CPU: torch's FullyShardedDataParallel raises "FSDP does not support CPU only execution" at its
      first forward (its ``_lazy_init``, in 1.13 and in 2.x releases), after the process group, the data and
      the model were set up;
    * with torch < 2.0, or a torch whose FSDP cannot be imported (:func:`_fsdp`).
    """
    if not device_name.startswith("cuda"):
        raise SystemExit(
            f"Cannot use --fsdp on {device_name}: torch's FullyShardedDataParallel runs on CUDA devices only "
            f'(torch {torch.__version__} stops with "FSDP does not support CPU only execution"); '
            "train on CPU with DDP, the default (leave out --fsdp)"
        )
    _fsdp()


def _fsdp() -> Any:
    """torch.distributed.fsdp, or a clear error: ``--fsdp`` needs torch ≥ 2.0 (``use_orig_params``,
    ``optim_state_dict``); Debian's torch 1.13 under Python 3.11 cannot even import it."""
    try:
        from torch.distributed import fsdp
    except Exception as e:  # noqa: BLE001 - any import failure means the same thing here
        raise SystemExit(f"Cannot use --fsdp with torch {torch.__version__}: {e}; use torch >= 2.0 or DDP (the default)")
    if not hasattr(fsdp.FullyShardedDataParallel, "optim_state_dict"):
        raise SystemExit(f"Cannot use --fsdp with torch {torch.__version__}: expected torch >= 2.0; use DDP (the default)")
    return fsdp


def wrap_fsdp(model: GPT, device: torch.device) -> torch.nn.Module:
    """FullyShardedDataParallel with one unit per Block (the tied wte/lm_head stay in the root unit)."""
    import functools

    from torch.distributed.fsdp.wrap import transformer_auto_wrap_policy

    from model import Block

    fsdp = _fsdp()
    policy = functools.partial(transformer_auto_wrap_policy, transformer_layer_cls={Block})
    return fsdp.FullyShardedDataParallel(
        model, auto_wrap_policy=policy, use_orig_params=True, device_id=device if device.type == "cuda" else None
    )


def _full_state_dict_type(model: torch.nn.Module) -> Any:
    fsdp = _fsdp()
    return fsdp.FullyShardedDataParallel.state_dict_type(
        model,
        fsdp.StateDictType.FULL_STATE_DICT,
        fsdp.FullStateDictConfig(offload_to_cpu=True, rank0_only=True),
        fsdp.FullOptimStateDictConfig(offload_to_cpu=True, rank0_only=True),
    )


def load_fsdp_optimizer_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: OptimizerState) -> None:
    """Our full (unsharded) moments into an FSDP model's sharded AdamW (torch ≥ 2.0)."""
    fsdp = _fsdp()
    names = [_clean(n) for n, _ in model.named_parameters()]
    full = {
        "state": {n: {"step": torch.tensor(float(state.step)), "exp_avg": state.m[n], "exp_avg_sq": state.v[n]} for n in names},
        "param_groups": [
            {**{k: v for k, v in g.items() if k != "params"}, "params": [_clean(n) for n, p in model.named_parameters() if any(p is q for q in g["params"])]}
            for g in optimizer.param_groups
        ],
    }
    with _full_state_dict_type(model):
        sharded = fsdp.FullyShardedDataParallel.optim_state_dict_to_load(model=model, optim=optimizer, optim_state_dict=full)
    optimizer.load_state_dict(sharded)


def full_state(model: torch.nn.Module, fsdp: bool) -> Dict[str, torch.Tensor]:
    """Our state dict (CPU, tied head dropped) of a plain, DDP or FSDP model (FSDP: gathered on rank 0)."""
    if fsdp:
        with _full_state_dict_type(model):
            state = model.state_dict()
    else:
        state = (model.module if hasattr(model, "module") else model).state_dict()
    return {_clean(k): v.detach().cpu().float() for k, v in state.items() if _clean(k) != "lm_head.weight"}


def full_optimizer_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer, fsdp: bool, step: int) -> OptimizerState:
    """Our AdamW moments by name (FSDP: gathered on rank 0, empty elsewhere)."""
    if not fsdp:
        return optimizer_state(model.module if hasattr(model, "module") else model, optimizer, step)
    with _full_state_dict_type(model):
        full = _fsdp().FullyShardedDataParallel.optim_state_dict(model, optimizer)
    m = {_clean(k): s["exp_avg"].cpu().float() for k, s in full.get("state", {}).items()}
    v = {_clean(k): s["exp_avg_sq"].cpu().float() for k, s in full.get("state", {}).items()}
    return OptimizerState(m, v, step)


if __name__ == "__main__":
    main()
