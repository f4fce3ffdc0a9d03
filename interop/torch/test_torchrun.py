"""End to end through the distributed path (issue 16), plain ``unittest``, CPU only:

1. ``deno task pretrain --data corpus.txt …`` prepares the token cache with our CLI;
2. ``torchrun --nproc_per_node 2 interop/torch/train.py`` (DDP over gloo) pre-trains a tiny meta + RoPE model
   for 4 steps from that cache and writes our checkpoint folder;
3. one process with the same settings reaches the same weights (DDP's split of the step's micro-batches
   is the single process's step, DESIGN §5 / model/train.ts);
4. ``deno task eval`` evaluates the PyTorch checkpoint, and ``deno task pretrain --resume`` continues it.

``--fsdp`` is not run here: on a CPU it is refused before anything starts (torch's FSDP needs CUDA; see
train.py ``check_fsdp``), which is tested.

Run: ``python3 interop/torch/test_torchrun.py`` from the repository root (needs ``npx deno`` or ``$DENO``).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest
from typing import List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from checkpoint import load_checkpoint  # noqa: E402

MODEL = ["--preset", "tiny", "--pos", "rope", "--n-layer", "1", "--n-embd", "32", "--n-head", "2", "--block-size", "64"]
TRAIN = ["--batch-size", "2", "--grad-accum", "2", "--steps", "4", "--warmup", "1", "--eval-every", "2", "--eval-batches", "2", "--checkpoint-every", "2"]


def deno() -> List[str]:
    """How to run Deno: ``$DENO`` (a command line) or ``npx deno``."""
    return shlex.split(os.environ.get("DENO", "npx deno"))


def torchrun() -> List[str]:
    """``torchrun`` of this interpreter, with ``--redirects 1 --tee 1``.

    Not a buffering problem (train.py flushes every line and is line-buffered): torch 1.13's torchrun
    cannot start workers under Python 3.11 with its defaults ``--redirects 0 --tee 0``. It maps each value
    to its ``Std`` IntFlag by iterating the enum (``Std.from_str`` → ``to_std``), and since Python 3.11
    iterating a Flag yields only its single-bit members (``[Std.OUT, Std.ERR]``), so "0" (``Std.NONE``) and
    "3" (``Std.ALL``) become ``None`` and ``to_map`` fails: ``AttributeError: 'NoneType' object has no
    attribute 'get'`` (elastic/multiprocessing/api.py). "1" (``Std.OUT``) survives: workers' stdout goes
    to a log file and is teed back to ours; their stderr is inherited as before. Newer torch releases parse
    these flags without iterating the enum, and take the flags as well.
    """
    return [sys.executable, "-m", "torch.distributed.run", "--redirects", "1", "--tee", "1"]


def run(cmd: List[str], **kw: object) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result.stdout + result.stderr


class FsdpRefused(unittest.TestCase):
    def test_fsdp_on_cpu_is_refused_before_it_starts(self) -> None:
        """FSDP cannot run on a CPU (torch 1.13 and 2.x stop at the first forward with "FSDP does not support
        CPU only execution"; Debian's 1.13 under Python 3.11 cannot import it at all): ``--fsdp --device cpu``
        ends at once with a one-line reason, before a process group, the cache or a model exists."""
        tmp = tempfile.mkdtemp(prefix="metatokens-fsdp-")
        self.addCleanup(shutil.rmtree, tmp, True)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        missing = os.path.join(tmp, "no-such-cache")
        result = subprocess.run(
            [sys.executable, "interop/torch/train.py", "--cache", missing, "--fsdp", "--device", "cpu", "--out", os.path.join(tmp, "fsdp")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("Cannot use --fsdp on cpu", result.stderr)
        self.assertIn("FSDP does not support CPU only execution", result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(tmp, "fsdp")))


class TorchrunEndToEnd(unittest.TestCase):
    tmp = ""
    cache = ""

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.mkdtemp(prefix="metatokens-torchrun-")
        corpus = os.path.join(cls.tmp, "corpus.txt")
        with open(corpus, "w", encoding="utf-8") as f:
            for name in ("README.md", "docs/ARCHITECTURE.md", "EXPERIMENTS.md"):
                with open(os.path.join(ROOT, name), encoding="utf-8") as src:
                    f.write(src.read() + "\n\n")
        # The CLI tokenizes into its token cache (a one-step run of a 1-layer model: the cheapest way in).
        log = run(deno() + ["task", "pretrain", "--data", corpus, *MODEL, "--steps", "1", "--eval-every", "0", "--batch-size", "1", "--threads", "1", "--out", os.path.join(cls.tmp, "prep")])
        found = re.search(r"cache (\S+)", log)
        assert found, log
        cls.cache = found.group(1)

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_ddp_gloo_matches_one_process_and_goes_back_to_deno(self) -> None:
        ddp = os.path.join(self.tmp, "ddp")
        log = run(torchrun() + ["--nproc_per_node", "2", "interop/torch/train.py", "--cache", self.cache, "--out", ddp, *MODEL, *TRAIN, "--device", "cpu", "--threads", "1"], timeout=300)
        self.assertIn("2 × cpu", log)
        self.assertIn("saved", log)
        one = os.path.join(self.tmp, "one")
        run([sys.executable, "interop/torch/train.py", "--cache", self.cache, "--out", one, *MODEL, *TRAIN, "--device", "cpu", "--threads", "1"], timeout=300)
        a, b = load_checkpoint(os.path.join(ddp, "checkpoint")), load_checkpoint(os.path.join(one, "checkpoint"))
        self.assertEqual(a.trainer_state["step"], 4)
        self.assertEqual(a.trainer_state["data"], b.trainer_state["data"])
        diff = max(float((a.model[k] - b.model[k]).abs().max()) for k in a.model)
        print(f"\n2-process DDP vs 1 process after 4 steps: max |Δweight| {diff:.3g}", file=sys.stderr)
        self.assertLessEqual(diff, 1e-5)
        for (s1, l1), (s2, l2) in zip(a.trainer_state["valLosses"], b.trainer_state["valLosses"]):
            self.assertEqual(s1, s2)
            self.assertAlmostEqual(l1, l2, delta=1e-4)

        # Back in Deno: evaluate the PyTorch checkpoint, then continue the run.
        ckpt = os.path.join(ddp, "checkpoint")
        out = run(deno() + ["task", "eval", "--checkpoint", ckpt, "--task", "parity", "--phases", "1", "--n", "4", "--threads", "1"])
        self.assertRegex(out, r"\| ≤128 \| \d+ \|")
        print(out[out.index("###"):].strip(), file=sys.stderr)
        out = run(deno() + ["task", "pretrain", "--resume", "--out", ddp, "--steps", "5", "--threads", "1"])
        self.assertIn("resumed from", out)
        self.assertEqual(load_checkpoint(ckpt).trainer_state["step"], 5)
        # One metrics.jsonl, written by both sides: the same row keys (model/run.ts's, snake_case).
        with open(os.path.join(ddp, "metrics.jsonl"), encoding="utf-8") as f:
            train_rows = [row for row in map(json.loads, f) if row["type"] == "train"]
        self.assertEqual([row["step"] for row in train_rows], [1, 2, 3, 4, 5])
        keys = {"time", "type", "step", "loss", "lr", "grad_norm", "tokens", "tokens_per_s"}
        for row in train_rows:
            self.assertEqual(set(row), keys, row)


if __name__ == "__main__":
    unittest.main(verbosity=2)
