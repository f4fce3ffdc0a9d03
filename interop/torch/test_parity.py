"""Parity of the PyTorch twin with our TypeScript code (issue 16), plain ``unittest``.

The fixtures come from ``_tools/torch_fixtures.ts write DIR`` (run here unless ``METATOKENS_FIXTURES``
names a folder that already holds them): a token cache, seeded batches, tiny checkpoints with their
logits and loss, one optimizer step. Checked, with the tolerances of the issue:

* batches from the same cache and seed are identical (data.py vs data/batches.ts, data/inject.ts);
* logits and loss equal ours to ≤ 1e-4, sparse and dense meta-attention, plain and ablated (DESIGN §4–5);
* the same first training step gives the same weights and AdamW moments to ≤ 1e-5 (model/train.ts);
* a PyTorch-written checkpoint resumes in TypeScript with the same next-step loss (≤ 1e-4) and weights.

Run: ``python3 interop/torch/test_parity.py`` from the repository root (needs ``npx deno`` or ``$DENO``).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest
from typing import Dict, List, Tuple

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from checkpoint import encode_safetensors, load_checkpoint, model_from_checkpoint, read_safetensors, save_checkpoint  # noqa: E402
from data import Rng, TokenBatchSource, TokenCache  # noqa: E402
from model import Ablation  # noqa: E402
from train import Trainer, TrainOptions  # noqa: E402

torch.set_num_threads(1)

LOGITS_TOL = 1e-4
WEIGHTS_TOL = 1e-5
FIXTURES = ""
#: Whether this run made the fixtures folder (then it is removed at the end).
MADE_FIXTURES = False
#: The measured maximum absolute differences, printed at the end.
MEASURED: Dict[str, float] = {}


def deno() -> List[str]:
    """How to run Deno: ``$DENO`` (a command line) or ``npx deno``."""
    return shlex.split(os.environ.get("DENO", "npx deno"))


def setUpModule() -> None:
    global FIXTURES, MADE_FIXTURES
    given = os.environ.get("METATOKENS_FIXTURES", "")
    if given and os.path.exists(os.path.join(given, "train", "step1.json")):
        FIXTURES = given
        return
    FIXTURES = given or tempfile.mkdtemp(prefix="metatokens-parity-")
    MADE_FIXTURES = not given
    subprocess.run(deno() + ["run", "-A", "_tools/torch_fixtures.ts", "write", FIXTURES], cwd=ROOT, check=True)


def tearDownModule() -> None:
    if MADE_FIXTURES:
        shutil.rmtree(FIXTURES, ignore_errors=True)
    if MEASURED:
        width = max(len(k) for k in MEASURED)
        print("\nmax |PyTorch − TypeScript|:", file=sys.stderr)
        for key, value in MEASURED.items():
            print(f"  {key:<{width}}  {value:.3g}", file=sys.stderr)


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).abs().max())


def fixture(*parts: str) -> str:
    return os.path.join(FIXTURES, *parts)


class DataParity(unittest.TestCase):
    """data.py against data/batches.ts and tensor/rng.ts."""

    def test_rng_known_values(self) -> None:
        rng = Rng(1337)
        self.assertEqual(rng.counter, 0)
        u = rng.uniforms(4)
        self.assertTrue(((u >= 0) & (u < 1)).all())
        self.assertEqual(Rng(1337).uniforms(4).tolist(), u.tolist())  # counter-based: repeatable

    def test_batches_equal(self) -> None:
        with open(fixture("batches.json"), encoding="utf-8") as f:
            expected = json.load(f)
        cache = TokenCache(fixture("cache"))
        for key, meta in (("meta", True), ("plain", False)):
            e = expected[key]
            source = TokenBatchSource(cache.split("train"), e["batchSize"], e["blockSize"], e["seed"], meta)
            for want in e["batches"]:
                x, y = source.next()
                self.assertEqual(x.reshape(-1).tolist(), want["x"], key)
                self.assertEqual(y.reshape(-1).tolist(), want["y"], key)
                meta_rows = [np.nonzero(row == 50257)[0].tolist() for row in x]
                self.assertEqual(meta_rows, want["meta"])
            self.assertEqual(source.state(), e["state"])


class ModelParity(unittest.TestCase):
    """model.py against model/gpt.ts on checkpoints written by TypeScript."""

    def check_variant(self, name: str) -> None:
        model = model_from_checkpoint(load_checkpoint(fixture(name, "checkpoint")))
        model.eval()
        expected, _ = read_safetensors(fixture(name, "logits.safetensors"))
        with open(fixture(name, "batch.json"), encoding="utf-8") as f:
            batch = json.load(f)
        shape = (batch["b"], batch["t"])
        x = torch.tensor(batch["x"]).view(shape)
        y = torch.tensor(batch["y"]).view(shape)
        with torch.no_grad():
            for dense in (False, True):
                impl = "dense" if dense else "sparse"
                logits, loss = model(x, y, dense_meta=dense)
                d = max_diff(logits, expected["logits"])
                MEASURED[f"{name} logits ({impl})"] = d
                self.assertLessEqual(d, LOGITS_TOL)
                d = abs(float(loss) - float(expected["loss"].reshape(-1)[0]))
                MEASURED[f"{name} loss ({impl})"] = d
                self.assertLessEqual(d, LOGITS_TOL)
            for key, ablation in (
                ("noPosAtMeta", Ablation(noPosAtMeta=True)),
                ("noEmbedAtMeta", Ablation(noEmbedAtMeta=True)),
                ("posNoise", Ablation(posNoise=0.5)),
            ):
                logits, _ = model(x, ablation=ablation, rng=Rng(batch["noiseSeed"]))
                d = max_diff(logits, expected[f"logits.{key}"])
                MEASURED[f"{name} logits ({key})"] = d
                self.assertLessEqual(d, LOGITS_TOL)

    def test_meta_ape(self) -> None:
        self.check_variant("meta-ape")

    def test_meta_rope_yarn(self) -> None:
        self.check_variant("meta-rope-yarn")

    def test_nope(self) -> None:
        self.check_variant("nope")

    def test_meta_attention_matters(self) -> None:
        """The meta branch is live: zeroing its output projection changes the logits."""
        ckpt = load_checkpoint(fixture("meta-ape", "checkpoint"))
        model = model_from_checkpoint(ckpt)
        x = torch.tensor([[1, 2, 50257, 3, 50257, 4]])
        with torch.no_grad():
            a, _ = model(x)
            for block in model.transformer.h:
                block.meta_attn.c_proj.weight.zero_()
            b, _ = model(x)
        self.assertGreater(max_diff(a[0, 2:], b[0, 2:]), 1e-6)
        self.assertEqual(max_diff(a[0, :2], b[0, :2]), 0.0)  # before the first meta token: only the bias


def trainer_from(directory: str) -> Tuple[Trainer, torch.nn.Module]:
    """A single-process Trainer restored from one of our checkpoints (as train.py --resume does)."""
    ckpt = load_checkpoint(directory)
    model = model_from_checkpoint(ckpt)
    options = TrainOptions(**ckpt.trainer_state["options"])
    run = ckpt.trainer_state["run"]
    cache = TokenCache(fixture("cache"))
    train = TokenBatchSource(cache.split("train"), run["batchSize"], ckpt.config.blockSize, run["seed"], ckpt.config.metaAttention)
    val = TokenBatchSource(cache.split("val"), run["batchSize"], ckpt.config.blockSize, 12345, ckpt.config.metaAttention)
    trainer = Trainer(model, train, val, options, torch.device("cpu"), seed=run["seed"])
    trainer.restore(ckpt)
    return trainer, model


class TrainParity(unittest.TestCase):
    """train.py's step against model/train.ts's ``Trainer.step``, and back into TypeScript."""

    def compare_weights(self, label: str, model_state: Dict[str, torch.Tensor], directory: str, ours_m: Dict[str, torch.Tensor], lr: float) -> None:
        """Weights after a step ≤ 1e-5 wherever AdamW's update is well conditioned, and within the
        update's sensitivity to the gradient everywhere.

        The update is lr·m̂/(√v̂ + ε): for |m̂| ≫ ε it is ±lr whatever the gradient's rounding, but for
        |m̂| ≲ ε (ε = 1e-8) it is about lr·m̂/ε, so a 1e-10 difference of an f32 gradient between two
        correct implementations moves the weight by 6e-6 at lr 6e-4. There, the bound is
        lr·|Δm̂|/ε + 1e-5 (the update's Lipschitz constant in m̂ is at most lr/ε).
        """
        ckpt = load_checkpoint(directory)
        step, beta1 = ckpt.optimizer.step, 0.9
        worst_conditioned, worst, ill, bound_excess = 0.0, 0.0, 0, 0.0
        for k, t in ckpt.model.items():
            d = (model_state[k].double() - t.double()).abs()
            mhat_ts = ckpt.optimizer.m[k].double() / (1 - beta1**step)
            mhat_py = ours_m[k].double() / (1 - beta1**step)
            conditioned = mhat_ts.abs() >= 1e-7  # ≥ 10 ε
            worst = max(worst, float(d.max()))
            if bool(conditioned.any()):
                worst_conditioned = max(worst_conditioned, float(d[conditioned].max()))
            ill += int((~conditioned).sum())
            bound = WEIGHTS_TOL + lr * (mhat_py - mhat_ts).abs() / 1e-8
            bound_excess = max(bound_excess, float((d - bound).max()))
        MEASURED[f"{label} weights (|m̂| ≥ 10ε)"] = worst_conditioned
        MEASURED[f"{label} weights (all; {ill} elements with |m̂| < 10ε)"] = worst
        self.assertLessEqual(worst_conditioned, WEIGHTS_TOL)
        self.assertLessEqual(bound_excess, 0.0, f"{label}: a weight differs by more than its gradient explains")

    def test_first_step_then_resume_in_typescript(self) -> None:
        trainer, model = trainer_from(fixture("train", "step0"))
        info = trainer.step()
        with open(fixture("train", "step1.json"), encoding="utf-8") as f:
            want = json.load(f)
        MEASURED["step 1 loss"] = abs(info["loss"] - want["loss"])
        self.assertLessEqual(MEASURED["step 1 loss"], LOGITS_TOL)
        self.assertAlmostEqual(info["lr"], want["lr"], places=12)
        self.assertAlmostEqual(info["gradNorm"], want["gradNorm"], delta=1e-4 * max(1.0, want["gradNorm"]))
        state = {k: v for k, v in model.state_dict().items() if k != "lm_head.weight"}
        ts = load_checkpoint(fixture("train", "step1"))
        from train import optimizer_state

        opt = optimizer_state(model, trainer.optimizer, trainer.step_count)
        self.compare_weights("step 1", state, fixture("train", "step1"), opt.m, info["lr"])
        self.assertEqual(opt.step, ts.optimizer.step)
        for which, ours, theirs in (("m", opt.m, ts.optimizer.m), ("v", opt.v, ts.optimizer.v)):
            scale = max(float(t.abs().max()) for t in theirs.values())
            MEASURED[f"step 1 AdamW {which} (relative to max |{which}|)"] = max(max_diff(ours[k], t) for k, t in theirs.items()) / scale
            self.assertLessEqual(MEASURED[f"step 1 AdamW {which} (relative to max |{which}|)"], 1e-4)
        self.assertEqual(trainer.train.state(), ts.trainer_state["data"])

        # PyTorch writes its checkpoint; TypeScript resumes it and takes step 2; so does PyTorch.
        from checkpoint import Checkpoint

        py_dir = fixture("train", "torch-step1")
        save_checkpoint(py_dir, Checkpoint(ts.config, state, opt, trainer.trainer_state({"run": ts.trainer_state["run"]})))
        out = fixture("train", "ts-step2")
        result = subprocess.run(
            deno() + ["run", "-A", "_tools/torch_fixtures.ts", "resume", py_dir, fixture("cache"), out],
            cwd=ROOT, check=True, capture_output=True, text=True,
        )
        ts_info = json.loads(result.stdout.strip().splitlines()[-1])
        info2 = trainer.step()
        self.assertEqual(ts_info["step"], 2)
        MEASURED["resume: step 2 loss"] = abs(info2["loss"] - ts_info["loss"])
        self.assertLessEqual(MEASURED["resume: step 2 loss"], LOGITS_TOL)
        state2 = {k: v for k, v in model.state_dict().items() if k != "lm_head.weight"}
        opt2 = optimizer_state(model, trainer.optimizer, trainer.step_count)
        self.compare_weights("resume: step 2", state2, out, opt2.m, info2["lr"])


class OptimizerRule(unittest.TestCase):
    """train.py's AdamW, groups, clipping and schedule against the rule of tensor/optim/adamw_rule.ts."""

    def test_adamw_matches_our_rule(self) -> None:
        from train import decay_groups, learning_rate, make_optimizer

        torch.manual_seed(0)
        module = torch.nn.Linear(3, 2)  # weight (2-D: decayed) and bias (1-D: not decayed)
        o = TrainOptions(lr=0.1, weightDecay=0.5)
        self.assertEqual([n for n, _ in decay_groups(module)[0]], ["weight"])
        optimizer = make_optimizer(module, o)
        theta = {n: p.detach().double().clone() for n, p in module.named_parameters()}
        m = {n: torch.zeros_like(t) for n, t in theta.items()}
        v = {n: torch.zeros_like(t) for n, t in theta.items()}
        for step in (1, 2, 3):
            grads = {n: torch.randn(p.shape) for n, p in module.named_parameters()}
            for n, p in module.named_parameters():
                p.grad = grads[n].clone()
            optimizer.step()
            for n in theta:  # m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; θ −= lr·(m̂/(√v̂ + ε) + λθ)
                g, wd = grads[n].double(), (o.weightDecay if n == "weight" else 0.0)
                m[n] = o.beta1 * m[n] + (1 - o.beta1) * g
                v[n] = o.beta2 * v[n] + (1 - o.beta2) * g * g
                mhat, vhat = m[n] / (1 - o.beta1**step), v[n] / (1 - o.beta2**step)
                theta[n] = theta[n] - o.lr * (mhat / (vhat.sqrt() + 1e-8) + wd * theta[n])
            for n, p in module.named_parameters():
                self.assertLessEqual(max_diff(p.detach(), theta[n]), 1e-6, f"{n} at step {step}")

    def test_schedule_and_clip(self) -> None:
        from train import learning_rate

        paper = TrainOptions()
        self.assertAlmostEqual(learning_rate(0, paper), 6e-4 / 2001)
        self.assertAlmostEqual(learning_rate(1999, paper), 6e-4 * 2000 / 2001)
        self.assertAlmostEqual(learning_rate(2000, paper), 6e-4)
        self.assertAlmostEqual(learning_rate(301_000, paper), 6e-5 + 0.5 * (6e-4 - 6e-5))
        self.assertEqual(learning_rate(600_000, paper), 6e-5)
        w = torch.nn.Parameter(torch.zeros(2))
        w.grad = torch.tensor([3.0, 4.0])
        torch.nn.utils.clip_grad_norm_([w], 1.0)  # scale min(1, 1/(‖g‖ + 1e-6)), as tensor/optim/clip.ts
        self.assertLessEqual(max_diff(w.grad, torch.tensor([3.0, 4.0]) / (5 + 1e-6)), 1e-7)


class CheckpointFormat(unittest.TestCase):
    """checkpoint.py's safetensors writer and reader."""

    def test_round_trip_and_layout(self) -> None:
        tensors = {"b": torch.arange(3, dtype=torch.float32), "a.w": torch.ones(2, 2)}
        data = encode_safetensors(tensors, {"step": "4"})
        n = int.from_bytes(data[:8], "little")
        self.assertEqual((8 + n) % 8, 0)
        header = json.loads(data[8 : 8 + n])
        self.assertEqual(list(header), ["__metadata__", "a.w", "b"])
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.safetensors")
            with open(path, "wb") as f:
                f.write(data)
            back, meta = read_safetensors(path)
        self.assertEqual(meta, {"step": "4"})
        self.assertTrue(torch.equal(back["b"], tensors["b"]) and torch.equal(back["a.w"], tensors["a.w"]))

    def test_format_version(self) -> None:
        """trainer_state.json's formatVersion as model/trainer_state.ts reads it: written as 1 (first key),
        absent read as 1, anything else refused by name; TypeScript's own checkpoints carry 1."""
        from checkpoint import Checkpoint, model_state
        from model import GPT, GptConfig

        config = GptConfig(vocabSize=8, blockSize=4, nLayer=1, nHead=1, nEmbd=4)
        ckpt = Checkpoint(config, model_state(GPT(config)), None, {"formatVersion": 7, "step": 3})
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ckpt")
            save_checkpoint(path, ckpt)
            state_file = os.path.join(path, "trainer_state.json")
            with open(state_file, encoding="utf-8") as f:
                written = json.load(f)
            self.assertEqual(list(written.items())[0], ("formatVersion", 1))
            self.assertEqual(load_checkpoint(path).trainer_state, {"step": 3})  # the key is not passed on
            for raw, ok in (({"step": 3}, True), ({"formatVersion": 1.0, "step": 3}, True),
                            ({"formatVersion": 2, "step": 3}, False), ({"formatVersion": "1", "step": 3}, False),
                            ({"formatVersion": True, "step": 3}, False), ({"formatVersion": None, "step": 3}, False)):
                with open(state_file, "w", encoding="utf-8") as f:
                    json.dump(raw, f)
                if ok:
                    self.assertEqual(load_checkpoint(path).trainer_state, {"step": 3})
                else:
                    with self.assertRaises(ValueError) as caught:
                        load_checkpoint(path)
                    message = str(caught.exception)
                    self.assertIn("formatVersion " + json.dumps(raw["formatVersion"]), message)
                    self.assertIn(state_file, message)
                    self.assertIn("checkpoint format 1 only", message)
        if FIXTURES:  # written by TypeScript's saveCheckpoint
            with open(fixture("train", "step0", "trainer_state.json"), encoding="utf-8") as f:
                self.assertEqual(json.load(f).get("formatVersion"), 1)

    def test_truncated_file_is_refused(self) -> None:
        data = encode_safetensors({"w": torch.ones(4)})
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.safetensors")
            with open(path, "wb") as f:
                f.write(data[:-1])
            with self.assertRaises(ValueError):
                read_safetensors(path)


if __name__ == "__main__":
    unittest.main(verbosity=2)
