/**
 * Command-line parsing: `--key=value` / `--key value` / `--flag`, a YAML
 * config file, and type-checked overrides — a key must already exist in the
 * defaults, and its value must parse to the default's type (nanoGPT's
 * configurator, with errors instead of surprises).
 *
 * @module
 */

import { parse as parseYaml } from "yaml";

/** A flat configuration: every key has a default whose type the overrides must match. */
export type Settings = Record<string, string | number | boolean | null | Record<string, unknown>>;

/**
 * Splits `args` into `--key value` pairs (a bare `--flag` is `true`, `--no-flag`
 * is `false`) and positionals.
 *
 * @example
 * ```ts
 * import { splitArgs } from "@metatokens/cli/args";
 * console.log(splitArgs(["--steps=5", "--meta", "false", "--json"]));
 * // { options: { steps: "5", meta: "false", json: true }, positionals: [] }
 * ```
 */
export function splitArgs(
  args: readonly string[],
): { options: Record<string, string | true>; positionals: string[] } {
  const options: Record<string, string | true> = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    if (eq > 0) options[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < args.length && !args[i + 1].startsWith("--")) options[a.slice(2)] = args[++i];
    else if (a.startsWith("--no-")) options[a.slice(5)] = "false";
    else options[a.slice(2)] = true;
  }
  return { options, positionals };
}

/** camelCase of a kebab-case flag name (`max-new-tokens` → `maxNewTokens`). */
export function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Parses `raw` to the type of `current` (the default), naming the key on failure. */
export function coerce(key: string, raw: unknown, current: unknown): Settings[string] {
  const bad = (expected: string): never => {
    throw new TypeError(`Cannot set ${key} to ${JSON.stringify(raw)}: expected ${expected}`);
  };
  if (typeof current === "number") {
    const n = typeof raw === "number"
      ? raw
      : typeof raw === "string" && raw.trim() !== ""
      ? Number(raw)
      : NaN;
    return Number.isFinite(n) ? n : bad("a number");
  }
  if (typeof current === "boolean") {
    if (typeof raw === "boolean") return raw;
    if (raw === true || raw === "true") return true;
    if (raw === "false") return false;
    return bad("true or false");
  }
  if (typeof current === "string") return typeof raw === "string" ? raw : bad("a string");
  // null or an object (e.g. yarn): JSON on the command line, an object in YAML.
  if (raw === null || typeof raw === "object") return raw as Settings[string];
  if (raw === "null") return null;
  try {
    return JSON.parse(String(raw));
  } catch {
    return bad("JSON (null or an object)");
  }
}

/**
 * `defaults` with `overrides` (from the command line, a YAML file or a
 * checkpoint) applied; every key must exist in `defaults`, and each value is
 * parsed to the type of its default.
 *
 * @example
 * ```ts
 * import { applyOverrides } from "@metatokens/cli/args";
 * console.log(applyOverrides({ steps: 10, meta: true }, { steps: "20" })); // { steps: 20, meta: true }
 * ```
 */
export function applyOverrides<T extends object>(
  defaults: T,
  overrides: Record<string, unknown>,
  source = "the command line",
): T {
  const base = defaults as unknown as Settings;
  const out: Settings = { ...base };
  for (const [rawKey, value] of Object.entries(overrides)) {
    const key = camel(rawKey);
    if (!(key in base)) {
      throw new TypeError(
        `Cannot use unknown option "${rawKey}" from ${source}: expected one of ${
          Object.keys(base).join(", ")
        }`,
      );
    }
    out[key] = coerce(key, value, base[key]);
  }
  return out as unknown as T;
}

/** Reads a YAML config file of flat keys. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`Cannot read config file "${path}": ${(e as Error).message}`);
  }
  const value = parseYaml(text);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`Cannot use config file "${path}": expected a mapping of keys to values`);
  }
  return value as Record<string, unknown>;
}
