import assert from "node:assert/strict";
import type { Analysis } from "./analyze.ts";
import { dirname } from "node:path";
import { writeAnalysis } from "./write.ts";
import { textOutside, textOverlaps } from "./_svg_text.ts";

/** The analysis of the committed tiny report's APE meta model (mean logit boost −0.710). */
async function committedAnalysis(): Promise<Analysis> {
  const url = new URL("../docs/reproduce-tiny/analysis/meta-ape/analysis.json", import.meta.url);
  return JSON.parse(await Deno.readTextFile(url));
}

Deno.test("writeAnalysis states the sign convention of the logit boost and entropy drop in figure and caption", async () => {
  const a = await committedAnalysis();
  const dir = `${await Deno.makeTempDir()}/analysis`;
  const files = await writeAnalysis(a, dir);
  const boost = await Deno.readTextFile(`${dir}/logit_boost.svg`);
  assert.ok(boost.includes(">positive: the meta token raises the top logit; negative: it lowers it</text>"));
  assert.ok(boost.includes(">mean = −0.71</text>"), "a negative mean with a minus sign");
  const drop = await Deno.readTextFile(`${dir}/entropy_drop.svg`);
  assert.ok(drop.includes(">positive: the meta token sharpens the output (lowers its entropy)</text>"));
  for (const name of ["logit_boost.svg", "entropy_drop.svg"]) {
    assert.match(files.find((f) => f.name === name)!.caption, /positive: the meta token/);
  }
  for (const f of files.filter((f) => f.name.endsWith(".svg"))) {
    const svg = await Deno.readTextFile(`${dir}/${f.name}`);
    assert.deepEqual(textOutside(svg), [], f.name);
    assert.deepEqual(textOverlaps(svg), [], f.name);
  }
  await Deno.remove(dirname(dir), { recursive: true });
});
