/**
 * Printing that survives a lost terminal: once the terminal of a run has
 * closed (its wrappers exited on Ctrl-C, the pseudo-terminal hung up) a
 * write fails with EIO or a broken pipe; the run must still save its
 * checkpoint, so such failures are swallowed and later output is dropped.
 *
 * @module
 */

const encoder = new TextEncoder();
let lost = false;

function write(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  if (lost) return;
  try {
    const bytes = encoder.encode(text);
    let done = 0;
    while (done < bytes.length) done += stream.writeSync(bytes.subarray(done));
  } catch {
    lost = true;
  }
}

/** Writes `text` to standard output as is (no newline). */
export function printRaw(text: string): void {
  write(Deno.stdout, text);
}

/** Writes a line to standard output. */
export function print(line = ""): void {
  write(Deno.stdout, `${line}\n`);
}

/** Writes a line to standard error. */
export function printError(line: string): void {
  write(Deno.stderr, `${line}\n`);
}

/** Whether standard output is a terminal (false once it has been lost). */
export function isTerminal(): boolean {
  try {
    return !lost && Deno.stdout.isTerminal();
  } catch {
    return false;
  }
}
