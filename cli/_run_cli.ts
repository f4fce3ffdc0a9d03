// Test helper: runs the CLI in a subprocess, as a user would.
import { fileURLToPath } from "node:url";

/** The CLI entry point. */
export const MAIN: string = fileURLToPath(new URL("./main.ts", import.meta.url));

/** Runs `deno run -A cli/main.ts …args` and returns its exit code and output. */
export async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { NO_COLOR: "1", METATOKENS_THREADS: "2" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
