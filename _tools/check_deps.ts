/**
 * Enforces the package dependency DAG of docs/ARCHITECTURE.md §1: every import from one
 * package into another must be an allowed edge, no package may reach itself
 * through others, and nothing may import `jsr:` (unreachable here).
 *
 * @module
 */

import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Which packages each package may import (docs/ARCHITECTURE.md §1). */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  tensor: [],
  // data may import tensor's leaf modules `@metatokens/tensor/rng` (the one RNG),
  // `@metatokens/tensor/fs` (the one durable writer) and `@metatokens/tensor/quote` (bounded quoting of
  // untrusted input in errors); all three depend on nothing.
  data: ["tensor"],
  // attention imports only data's leaf module `@metatokens/data/meta-tokens` (the one meta-token scan).
  attention: ["tensor", "data"],
  // tasks imports only tensor's leaf modules `@metatokens/tensor/rng` (the one RNG) and `/fs` (the one writer).
  tasks: ["data", "tensor"],
  model: ["tensor", "attention"],
  analysis: ["tensor", "attention", "model", "data", "tasks"],
  // experiments orchestrates: the one package that reaches data, tasks, model and analysis together.
  experiments: ["tensor", "attention", "model", "data", "tasks", "analysis"],
  // cli parses arguments and prints; what it runs lives in experiments and below.
  cli: ["tensor", "attention", "model", "data", "tasks", "analysis", "experiments"],
  tests: ["tensor", "attention", "model", "data", "tasks", "analysis", "experiments", "cli"],
  _tools: ["tensor", "attention", "model", "data", "tasks", "analysis", "experiments", "cli"],
};

const IMPORT =
  /(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^\s*import\s+["']([^"']+)["']/gm;

function* walkTsFiles(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walkTsFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

/**
 * The repository's TypeScript files: in a git checkout, the tracked ones and the untracked ones git does not
 * ignore (so scratch scripts under the ignored `runs/` are not the repository's); elsewhere every `.ts` file
 * outside `node_modules` and dot-folders.
 */
function tsFiles(dir: string): string[] {
  try {
    const out = new Deno.Command("git", {
      args: ["ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", "*.ts"],
      cwd: dir,
      stderr: "null",
    }).outputSync();
    if (out.success) {
      return new TextDecoder().decode(out.stdout).split("\0").filter((f) =>
        f !== "" && !f.startsWith("node_modules/")
      )
        .map((f) => join(dir, f)).filter((f) => {
          try {
            return Deno.statSync(f).isFile; // a deleted file git still tracks is not read
          } catch {
            return false;
          }
        });
    }
  } catch {
    // no git: walk the folder
  }
  return [...walkTsFiles(dir)];
}

/** The package (top-level folder) a repository path belongs to, or null for root files. */
function packageOf(path: string): string | null {
  const rel = relative(ROOT, path).split(sep);
  return rel.length > 1 ? rel[0] : null;
}

/** Every violation found in the repository: a list of messages, empty when clean. */
export function findViolations(): string[] {
  const problems: string[] = [];
  const edges = new Map<string, Set<string>>();
  for (const file of tsFiles(ROOT)) {
    const from = packageOf(file);
    const text = Deno.readTextFileSync(file);
    for (const match of text.matchAll(IMPORT)) {
      const spec = match[1] ?? match[2] ?? match[3];
      const where = `${relative(ROOT, file)}: "${spec}"`;
      if (spec.startsWith("jsr:")) problems.push(`${where} imports from JSR, which is unreachable here`);
      let to: string | null = null;
      if (spec.startsWith("@metatokens/")) to = spec.slice("@metatokens/".length).split("/")[0];
      else if (spec.startsWith(".")) to = packageOf(resolve(dirname(file), spec));
      if (from === null || to === null || to === from) continue;
      if (!(from in ALLOWED)) {
        problems.push(`${where}: folder "${from}" is not a known package`);
        continue;
      }
      if (!ALLOWED[from].includes(to)) {
        problems.push(
          `${where}: package "${from}" may not import "${to}" (allowed: ${
            ALLOWED[from].join(", ") || "none"
          })`,
        );
      }
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(to);
    }
  }
  // Cycle check over the edges actually present.
  const state = new Map<string, "open" | "done">();
  const visit = (pkg: string, path: string[]): void => {
    if (state.get(pkg) === "done") return;
    if (state.get(pkg) === "open") {
      problems.push(`dependency cycle: ${[...path.slice(path.indexOf(pkg)), pkg].join(" -> ")}`);
      return;
    }
    state.set(pkg, "open");
    for (const next of edges.get(pkg) ?? []) visit(next, [...path, pkg]);
    state.set(pkg, "done");
  };
  for (const pkg of edges.keys()) visit(pkg, []);
  return problems;
}

if (import.meta.main) {
  const problems = findViolations();
  if (problems.length > 0) {
    for (const p of problems) console.error(p);
    Deno.exit(1);
  }
  console.log("package dependencies follow the DAG");
}
