/**
 * `deno task fuzz`: every fuzz suite of the readers of untrusted files
 * (issue 14) at `METATOKENS_FUZZ_CASES` cases each, 100,000 when unset; each
 * suite prints its counts, slowest case and memory growth.
 *
 * The default lives here rather than in deno.json because `deno task`'s shell
 * does not expand `${VAR:-default}`: the suites would read the literal text.
 *
 * @module
 */

import { FUZZ_CASES_ENV } from "../tensor/_testing/fuzz.ts";

/** The fuzz suites, one per reader. */
export const FUZZ_SUITES: readonly string[] = [
  "model/safetensors_fuzz_test.ts",
  "model/config_fuzz_test.ts",
  "model/checkpoint_fuzz_test.ts",
  "tasks/jsonl_fuzz_test.ts",
  "data/corpus_fuzz_test.ts",
];

/** The case count of a `deno task fuzz` run. */
export const DEFAULT_FUZZ_CASES = 100_000;

if (import.meta.main) {
  const cases = Deno.env.get(FUZZ_CASES_ENV) || String(DEFAULT_FUZZ_CASES);
  const root = new URL("..", import.meta.url);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", ...FUZZ_SUITES],
    cwd: root,
    env: { [FUZZ_CASES_ENV]: cases },
  }).spawn().status;
  Deno.exit(code);
}
