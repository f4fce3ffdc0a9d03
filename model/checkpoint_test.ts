import assert from "node:assert/strict";
import { join } from "node:path";
import { type Checkpoint, loadCheckpoint, recoverCheckpointDir, saveCheckpoint } from "./checkpoint.ts";
import { PRESETS } from "./config.ts";
import { encodeSafetensors } from "./safetensors.ts";

function sample(seed: number): Checkpoint {
  const arr = (shape: number[], k: number) => ({
    shape,
    data: Float32Array.from(
      { length: shape.reduce((a, b) => a * b, 1) },
      (_, i) => Math.sin(seed + k + i) / 3,
    ),
  });
  return {
    config: { ...PRESETS.tiny, nLayer: 2, nEmbd: 4, nHead: 2, posEncoding: "ape", yarn: null },
    model: { "transformer.wte.weight": arr([3, 4], 0), "transformer.ln_f.bias": arr([4], 1) },
    optimizer: {
      m: { "transformer.wte.weight": arr([3, 4], 2), "transformer.ln_f.bias": arr([4], 3) },
      v: { "transformer.wte.weight": arr([3, 4], 4), "transformer.ln_f.bias": arr([4], 5) },
      step: 100 + seed,
    },
    trainerState: {
      step: 100 + seed,
      rng: { seed: 7, counter: 123456789 },
      bestValLoss: 1 / 3,
      cursor: [1, 2],
    },
  };
}

async function withDir(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function names(dir: string): string[] {
  return Array.from(Deno.readDirSync(dir), (e) => e.name).sort();
}

Deno.test("round trip restores every value bit for bit", async () => {
  await withDir(async (root) => {
    const dir = join(root, "ckpt");
    const ckpt = sample(1);
    await saveCheckpoint(dir, ckpt);
    assert.deepEqual(names(root), ["ckpt"]);
    assert.deepEqual(names(dir), [
      "config.json",
      "model.safetensors",
      "optimizer.safetensors",
      "trainer_state.json",
    ]);
    const back = await loadCheckpoint(dir);
    assert.deepEqual(back, ckpt);
    assert.equal(back.trainerState.bestValLoss, 1 / 3);
  });
});

Deno.test("weights-only checkpoint has no optimizer file and loads with optimizer null", async () => {
  await withDir(async (root) => {
    const dir = join(root, "nested", "w");
    await saveCheckpoint(dir, { ...sample(2), optimizer: null });
    assert.deepEqual(names(dir), ["config.json", "model.safetensors", "trainer_state.json"]);
    assert.equal((await loadCheckpoint(dir)).optimizer, null);
  });
});

Deno.test("overwrite keeps only the new checkpoint, without leftovers", async () => {
  await withDir(async (root) => {
    const dir = join(root, "ckpt");
    await saveCheckpoint(dir, sample(1));
    await saveCheckpoint(dir, { ...sample(2), optimizer: null });
    assert.deepEqual(names(root), ["ckpt"]);
    assert.deepEqual(names(dir), ["config.json", "model.safetensors", "trainer_state.json"]);
    assert.deepEqual(await loadCheckpoint(dir), { ...sample(2), optimizer: null });
  });
});

Deno.test("a kill while writing the temp dir leaves the last good checkpoint; the next save cleans up", async () => {
  await withDir(async (root) => {
    const dir = join(root, "ckpt");
    await saveCheckpoint(dir, sample(1));
    // Simulate a process killed half way through writing: a partial temp dir beside the checkpoint.
    await Deno.mkdir(`${dir}.tmp-dead01`);
    await Deno.writeFile(`${dir}.tmp-dead01/model.safetensors`, new Uint8Array([1, 2, 3]));
    assert.deepEqual(await loadCheckpoint(dir), sample(1));
    await saveCheckpoint(dir, sample(3));
    assert.deepEqual(names(root), ["ckpt"]);
    assert.deepEqual(await loadCheckpoint(dir), sample(3));
  });
});

Deno.test("a kill between the two renames is reported with the directory to recover", async () => {
  await withDir(async (root) => {
    const dir = join(root, "ckpt");
    await saveCheckpoint(dir, sample(1));
    // Killed after `dir` → `dir.old-*` and before `tmp` → `dir`.
    await Deno.rename(dir, `${dir}.old-abc123`);
    await Deno.mkdir(`${dir}.tmp-def456`);
    await assert.rejects(() => loadCheckpoint(dir), {
      message: `Cannot load checkpoint "${dir}": it does not exist, but "${dir}.old-abc123" does: ` +
        `a save was interrupted between its two renames. Rename "${dir}.old-abc123" to "${dir}" ` +
        `to recover the last complete checkpoint`,
    });
    // Following the advice recovers the last good checkpoint intact.
    await Deno.rename(`${dir}.old-abc123`, dir);
    assert.deepEqual(await loadCheckpoint(dir), sample(1));
    // A new save after such a kill also succeeds and removes the leftovers.
    await Deno.rename(dir, `${dir}.old-abc123`);
    await saveCheckpoint(dir, sample(4));
    assert.deepEqual(names(root), ["ckpt"]);
    assert.deepEqual(await loadCheckpoint(dir), sample(4));
  });
});

Deno.test("missing directory, files and corrupt JSON are named", async () => {
  await withDir(async (root) => {
    const dir = join(root, "ckpt");
    await assert.rejects(() => loadCheckpoint(dir), {
      message: `Cannot load checkpoint "${dir}": no such directory`,
    });
    await Deno.mkdir(`${dir}.tmp-x`);
    await assert.rejects(
      () => loadCheckpoint(dir),
      /"[^"]*ckpt\.tmp-x" is the unfinished output of an interrupted save/,
    );
    await Deno.remove(`${dir}.tmp-x`);
    await saveCheckpoint(dir, sample(1));
    await Deno.writeTextFile(join(dir, "config.json"), '{"nLayer": ');
    await assert.rejects(
      () => loadCheckpoint(dir),
      /^Error: Cannot load checkpoint "[^"]*ckpt": config\.json is not valid JSON \(/,
    );
    await Deno.writeTextFile(join(dir, "config.json"), "[1]");
    await assert.rejects(() => loadCheckpoint(dir), /config\.json holds \[1\], expected a JSON object/);
    await Deno.remove(join(dir, "config.json"));
    await assert.rejects(() => loadCheckpoint(dir), {
      message: `Cannot load checkpoint "${dir}": config.json is missing`,
    });
    await saveCheckpoint(dir, sample(1));
    await Deno.remove(join(dir, "trainer_state.json"));
    await assert.rejects(() => loadCheckpoint(dir), /trainer_state\.json is missing/);
    await saveCheckpoint(dir, sample(1));
    await Deno.remove(join(dir, "model.safetensors"));
    await assert.rejects(() => loadCheckpoint(dir), /model\.safetensors is missing/);
  });
});

Deno.test("a truncated model.safetensors gives a clear error naming the file", async () => {
  await withDir(async (root) => {
    const dir = join(root, "ckpt");
    await saveCheckpoint(dir, sample(1));
    const path = join(dir, "model.safetensors");
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 10));
    await assert.rejects(() => loadCheckpoint(dir), {
      message: new RegExp(
        `^Cannot read safetensors "${path}": the file is truncated: it has ${bytes.length - 10} bytes, ` +
          `but its header describes ${bytes.length} `,
      ),
    });
    await Deno.writeFile(path, bytes.subarray(0, 20));
    await assert.rejects(() => loadCheckpoint(dir), /header length \d+ exceeds the file size 20/);
  });
});

Deno.test("inconsistent optimizer state is rejected on save and on load", async () => {
  await withDir(async (root) => {
    const dir = join(root, "ckpt");
    const bad = sample(1);
    bad.optimizer!.m["transformer.wte.weight"] = { shape: [4, 3], data: new Float32Array(12) };
    await assert.rejects(() => saveCheckpoint(dir, bad), {
      message:
        `Cannot save checkpoint "${dir}": optimizer tensor "m.transformer.wte.weight" has shape [4, 3], ` +
        `but model tensor "transformer.wte.weight" has [3, 4]`,
    });
    assert.deepEqual(names(root), []);
    const orphan = sample(1);
    orphan.optimizer!.v["transformer.gone"] = { shape: [1], data: new Float32Array(1) };
    await assert.rejects(() => saveCheckpoint(dir, orphan), /"v\.transformer\.gone" has no model tensor/);
    const unpaired = sample(1);
    delete unpaired.optimizer!.v["transformer.ln_f.bias"];
    await assert.rejects(
      () => saveCheckpoint(dir, unpaired),
      /"m\.transformer\.ln_f\.bias" has no matching "v\.transformer\.ln_f\.bias"/,
    );

    await saveCheckpoint(dir, sample(1));
    const optPath = join(dir, "optimizer.safetensors");
    const one = { shape: [1], data: new Float32Array(1) };
    await Deno.writeFile(optPath, encodeSafetensors({ "x.y": one }, { step: "1" }));
    await assert.rejects(() => loadCheckpoint(dir), /optimizer\.safetensors holds "x\.y", expected only/);
    await Deno.writeFile(optPath, encodeSafetensors({}, { step: "-1" }));
    await assert.rejects(() => loadCheckpoint(dir), /step metadata "-1", expected a non-negative integer/);
    await Deno.writeFile(
      optPath,
      encodeSafetensors({ "m.transformer.ln_f.bias": one, "v.transformer.ln_f.bias": one }, {
        step: "1",
      }),
    );
    await assert.rejects(
      () => loadCheckpoint(dir),
      /has shape \[1\], but model tensor "transformer\.ln_f\.bias" has \[4\]/,
    );
  });
});

Deno.test("refuses to replace a directory that is not a checkpoint, or a file", async () => {
  await withDir(async (root) => {
    const dir = join(root, "precious");
    await Deno.mkdir(dir);
    await Deno.writeTextFile(join(dir, "notes.txt"), "keep me");
    await assert.rejects(
      () => saveCheckpoint(dir, sample(1)),
      /is not empty and holds no model\.safetensors/,
    );
    assert.equal(await Deno.readTextFile(join(dir, "notes.txt")), "keep me");
    await Deno.writeTextFile(join(root, "file"), "x");
    await assert.rejects(
      () => saveCheckpoint(join(root, "file"), sample(1)),
      /exists and is not a directory/,
    );
    const empty = join(root, "empty");
    await Deno.mkdir(empty);
    await saveCheckpoint(empty, sample(1));
    assert.deepEqual(await loadCheckpoint(empty), sample(1));
  });
});

Deno.test("a process killed at random moments while saving never loses the last complete checkpoint", async () => {
  await withDir(async (root) => {
    const dir = join(root, "ckpt");
    const module = new URL("./checkpoint.ts", import.meta.url).href;
    // The child saves checkpoint k = 1, 2, 3, ... in a loop: every value of checkpoint k is k.
    const child = `
      import { saveCheckpoint } from ${JSON.stringify(module)};
      import { PRESETS } from ${JSON.stringify(new URL("./config.ts", import.meta.url).href)};
      const dir = ${JSON.stringify(dir)};
      for (let k = 1; ; k++) {
        const t = () => ({ shape: [250, 1000], data: new Float32Array(250000).fill(k) });
        await saveCheckpoint(dir, { config: { ...PRESETS.tiny, ropeTheta: 1000 + k }, model: { w: t() }, optimizer: { m: { w: t() }, v: { w: t() }, step: k },
          trainerState: { k } });
      }`;
    let lastSeen = 0;
    for (let round = 0; round < 6; round++) {
      const proc = new Deno.Command(Deno.execPath(), {
        args: ["eval", "--no-check", child],
        stdout: "null",
        stderr: "null",
      }).spawn();
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 500));
      proc.kill("SIGKILL");
      await proc.status;
      let ckpt: Checkpoint;
      try {
        ckpt = await loadCheckpoint(dir);
      } catch (e) {
        const match = /but "([^"]+)" does: a save was interrupted/.exec((e as Error).message);
        if (match === null) {
          if (lastSeen === 0 && /no such directory|unfinished output/.test((e as Error).message)) continue;
          throw e;
        }
        await Deno.rename(match[1], dir);
        ckpt = await loadCheckpoint(dir);
      }
      const k = ckpt.trainerState.k as number;
      assert.ok(k >= 1);
      assert.deepEqual(ckpt.config, { ...PRESETS.tiny, ropeTheta: 1000 + k });
      assert.equal(ckpt.optimizer?.step, k);
      for (const t of [ckpt.model.w, ckpt.optimizer!.m.w, ckpt.optimizer!.v.w]) {
        assert.ok(t.data.every((x) => x === k), `checkpoint ${k} holds other values`);
      }
      lastSeen = k;
    }
    assert.ok(lastSeen >= 1, "the child never completed a save");
  });
});

Deno.test("issue 14: a checkpoint's config.json is validated on load, before any model is built", async () => {
  await withDir(async (root) => {
    const dir = join(root, "ckpt");
    await saveCheckpoint(dir, sample(1));
    const config = join(dir, "config.json");
    const write = (value: unknown) => Deno.writeTextFile(config, JSON.stringify(value));
    await write({ ...sample(1).config, nLayer: 1_000_000_000 });
    await assert.rejects(() => loadCheckpoint(dir), {
      name: "TypeError",
      message: `Cannot use nLayer = 1000000000 in model config "${config}": expected an integer in [1, 1024]`,
    });
    await Deno.writeTextFile(config, JSON.stringify({ ...sample(1).config }).replace("10000", "1e999"));
    await assert.rejects(() => loadCheckpoint(dir), /ropeTheta = Infinity .*expected a finite number > 1/);
    const { nHead: _, ...noHeads } = sample(1).config;
    await write(noHeads);
    await assert.rejects(() => loadCheckpoint(dir), /model config "[^"]*config\.json": it has no "nHead"/);
    await write({ ...sample(1).config, toString: 1 });
    await assert.rejects(() => loadCheckpoint(dir), /unknown model config key "toString"/);
  });
});

Deno.test("issue 14: saving refuses an incomplete config, so every saved checkpoint loads", async () => {
  await withDir(async (root) => {
    const dir = join(root, "ckpt");
    await assert.rejects(
      () => saveCheckpoint(dir, { ...sample(1), config: { nLayer: 2 } }),
      /it has no "vocabSize"/,
    );
    assert.deepEqual(names(root), []);
  });
});

Deno.test("optimizer tensors named after Object.prototype keys are refused by name, not by an engine error", async () => {
  await withDir(async (root) => {
    const dir = join(root, "ckpt");
    await saveCheckpoint(dir, sample(1));
    const t = { shape: [1], data: new Float32Array(1) };
    for (const name of ["toString", "constructor", "__proto__"]) {
      const tensors = {};
      for (const key of [`m.${name}`, `v.${name}`]) {
        Object.defineProperty(tensors, key, { value: t, enumerable: true });
      }
      await Deno.writeFile(join(dir, "optimizer.safetensors"), encodeSafetensors(tensors, { step: "1" }));
      await assert.rejects(() => loadCheckpoint(dir), {
        name: "Error",
        message: new RegExp(`optimizer tensor "m\\.${name}" has no model tensor "${name}"`),
      });
    }
  });
});

Deno.test("issue 14: trainer_state.json carries formatVersion 1; absent reads as 1, another is refused by name", async () => {
  await withDir(async (root) => {
    const dir = join(root, "ckpt");
    await saveCheckpoint(dir, sample(1));
    const path = join(dir, "trainer_state.json");
    const written = JSON.parse(await Deno.readTextFile(path));
    assert.equal(written.formatVersion, 1);
    assert.deepEqual(await loadCheckpoint(dir), sample(1)); // the version is not part of trainerState
    // A checkpoint written before versions existed has none: it loads as format 1.
    delete written.formatVersion;
    await Deno.writeTextFile(path, JSON.stringify(written));
    assert.deepEqual(await loadCheckpoint(dir), sample(1));
    for (const version of [2, "1", null, 0]) {
      await Deno.writeTextFile(path, JSON.stringify({ ...written, formatVersion: version }));
      await assert.rejects(() => loadCheckpoint(dir), {
        name: "RangeError",
        message: new RegExp(
          `^Cannot read .*trainer_state\\.json: it has formatVersion ${
            JSON.stringify(version)
          }, but this version of metatokens reads checkpoint format 1 only`,
        ),
      });
    }
  });
});

Deno.test("issue 14 (6): a non-finite weight or moment is never written over a good checkpoint", async () => {
  await withDir(async (root) => {
    const dir = join(root, "ckpt");
    await saveCheckpoint(dir, sample(1));
    const bad = sample(2);
    bad.optimizer!.v["transformer.ln_f.bias"].data[2] = NaN;
    await assert.rejects(() => saveCheckpoint(dir, bad), {
      name: "RangeError",
      message: `Cannot save checkpoint "${dir}": optimizer.safetensors tensor "v.transformer.ln_f.bias" ` +
        `holds NaN at index 2 (training diverged); nothing was written, and the last checkpoint "${dir}" is intact`,
    });
    assert.deepEqual(names(root), ["ckpt"]);
    assert.deepEqual(await loadCheckpoint(dir), sample(1));
    // Without an earlier checkpoint the message does not claim one.
    const fresh = join(root, "fresh");
    bad.model["transformer.wte.weight"].data[0] = -Infinity;
    await assert.rejects(() => saveCheckpoint(fresh, bad), {
      message: `Cannot save checkpoint "${fresh}": model.safetensors tensor "transformer.wte.weight" ` +
        `holds -Infinity at index 0 (training diverged); nothing was written`,
    });
    assert.deepEqual(names(root), ["ckpt"]);
  });
});

Deno.test("issue 14 (6): a checkpoint whose weights or moments are not finite is refused on load", async () => {
  await withDir(async (root) => {
    const dir = join(root, "ckpt");
    const ckpt = sample(1);
    await saveCheckpoint(dir, ckpt);
    const weights = {
      ...ckpt.model,
      "transformer.ln_f.bias": { shape: [4], data: new Float32Array([0, 1, NaN, 3]) },
    };
    await Deno.writeFile(join(dir, "model.safetensors"), encodeSafetensors(weights));
    await assert.rejects(() => loadCheckpoint(dir), {
      name: "RangeError",
      message: new RegExp(
        `^Cannot load checkpoint ".*ckpt": model\\.safetensors tensor "transformer\\.ln_f\\.bias" holds NaN ` +
          `at index 2: the checkpoint holds a diverged state`,
      ),
    });
    await saveCheckpoint(dir, ckpt);
    const moments = {
      "m.transformer.wte.weight": ckpt.optimizer!.m["transformer.wte.weight"],
      "m.transformer.ln_f.bias": ckpt.optimizer!.m["transformer.ln_f.bias"],
      "v.transformer.wte.weight": { shape: [3, 4], data: new Float32Array(12).fill(Infinity) },
      "v.transformer.ln_f.bias": ckpt.optimizer!.v["transformer.ln_f.bias"],
    };
    await Deno.writeFile(join(dir, "optimizer.safetensors"), encodeSafetensors(moments, { step: "101" }));
    await assert.rejects(
      () => loadCheckpoint(dir),
      /"v\.transformer\.wte\.weight" holds Infinity at index 0/,
    );
  });
});

Deno.test("issue 14 (10): recoverCheckpointDir renames a half-renamed checkpoint back and removes stale folders", async () => {
  await withDir(async (root) => {
    const dir = join(root, "checkpoint");
    await saveCheckpoint(dir, sample(1));
    // Killed between the two renames, after two earlier kills mid-write.
    await Deno.rename(dir, `${dir}.old-aaaaaaaaaaaa`);
    for (const name of ["checkpoint.tmp-bbbbbbbbbbbb", "checkpoint.tmp-cccccccccccc"]) {
      await Deno.mkdir(join(root, name));
      await Deno.writeFile(join(root, name, "model.safetensors"), new Uint8Array(100));
    }
    await Deno.mkdir(join(root, "checkpoint-other")); // not a leftover: kept
    const notes = await recoverCheckpointDir(dir);
    assert.equal(notes.length, 3);
    assert.match(
      notes[0],
      /recovered checkpoint ".*checkpoint": .* renamed ".*checkpoint\.old-aaaaaaaaaaaa"/,
    );
    assert.deepEqual(names(root), ["checkpoint", "checkpoint-other"]);
    assert.deepEqual(await loadCheckpoint(dir), sample(1));
    // A live checkpoint and stale old folders: the old ones go, the live one stays.
    await Deno.mkdir(`${dir}.old-dddddddddddd`);
    assert.deepEqual(await recoverCheckpointDir(dir), [
      `removed "${dir}.old-dddddddddddd", left by an interrupted save`,
    ]);
    assert.deepEqual(names(root), ["checkpoint", "checkpoint-other"]);
    assert.deepEqual(await recoverCheckpointDir(dir), []);
    // Nothing at all: nothing to do.
    assert.deepEqual(await recoverCheckpointDir(join(root, "none")), []);
  });
});
