import assert from "node:assert/strict";
import { FUZZ_CASES_ENV } from "../tensor/_testing/fuzz.ts";

Deno.test("deno task fuzz runs every suite at the case count it is given and prints their counts", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "fuzz"],
    cwd: new URL("..", import.meta.url),
    env: { [FUZZ_CASES_ENV]: "100", NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text.slice(-3000));
  assert.match(text, /ok \| \d+ passed \| 0 failed/);
  // The safetensors suite skips draws that cannot be made invalid, so it counts a few fewer.
  for (const name of ["safetensors", "config.json", "checkpoint", "task JSONL", "corpus", "manifest"]) {
    assert.match(text, new RegExp(`fuzz ${name}: (9\\d|100) cases, .* resident memory at most \\d+ MiB`));
  }
});
