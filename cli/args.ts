/**
 * The one argument layer of every subcommand: a typed option table (name,
 * type, default, range, one line of doc) from which the command line and a
 * YAML `--config` file are parsed and validated, and from which `--help` is
 * written — so help cannot drift from what is accepted.
 *
 * Flags are kebab-case (`--max-length 128`, `--max-length=128`); the
 * camelCase spelling (`--maxLength`) is accepted as an alias, and so are the
 * keys of a config file in either spelling. A boolean is `--flag`,
 * `--flag=false`, `--flag false` or `--no-flag`. Every value is checked
 * before a command does any work; an unknown name suggests the nearest one.
 *
 * @module
 */

import { parse as parseYaml } from "yaml";
import { errorReason } from "@metatokens/tensor/fs";
import { preview, quote as quoteText } from "@metatokens/tensor/quote";

/** A value of a parsed option. */
export type OptionValue = string | number | boolean | null | Record<string, unknown> | number[] | string[];

/** One option of a command. */
export interface OptionSpec {
  /**
   * `integer`, `number`, `string`, `boolean`; `json` (null or an object: JSON on the command line,
   * YAML in a file); `integers` (a comma-separated list, `1,2,3`); `numbers` likewise.
   */
  type: "integer" | "number" | "string" | "boolean" | "json" | "integers" | "numbers";
  /** One line of documentation. */
  doc: string;
  /** The value when the option is not given; `undefined`: absent (or, with `required`, an error). */
  default?: OptionValue;
  /** The command cannot run without it. */
  required?: boolean;
  /** The smallest value allowed (each element of a list). */
  min?: number;
  /** The largest value allowed (each element of a list). */
  max?: number;
  /** Values must be strictly greater than this. */
  above?: number;
  /** Values must be strictly less than this. */
  below?: number;
  /** The only strings allowed (after `normalize`). */
  choices?: readonly string[];
  /** Maps a string before it is checked against `choices` (e.g. `list_recall` → `list-recall`). */
  normalize?: (value: string) => string;
  /** A string option may be given more than once; its value is then the list of strings. */
  multiple?: boolean;
  /** The value's name in help (`DIR`, `FILE`, `N`). */
  placeholder?: string;
  /** Shown in help after the default (e.g. "0: only at the end"). */
  note?: string;
}

/** A command's options by camelCase name (the flag is its kebab-case spelling). */
export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** A subcommand as help describes it. */
export interface CommandSpec {
  /** The name after `deno task` (`pretrain`, `tasks:generate`). */
  name: string;
  /** One line: what the command does. */
  summary: string;
  /** Its options. */
  options: OptionTable;
  /** Whether `--config FILE.yaml` may supply the options. */
  config?: boolean;
  /** Extra lines printed after the options (examples, notes). */
  epilog?: string;
}

/** What {@linkcode parseOptions} returns. */
export interface ParsedOptions {
  /** Every option: the given value, else the default (absent when neither). */
  values: Record<string, OptionValue>;
  /** The names given on the command line or in the config file. */
  given: Set<string>;
  /** `--help` or `-h` was given: print {@linkcode helpText} instead of running. */
  help: boolean;
  /** The `--config` file read, if any. */
  configFile?: string;
}

/** `maxNewTokens` → `max-new-tokens`. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `max-new-tokens` → `maxNewTokens`. */
export function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * At most about `n` characters of an untrusted value, quoted: a string as it
 * is, anything else (a YAML value, however deep) by its bounded preview.
 */
function quote(value: unknown, n = 60): string {
  return quoteText(typeof value === "string" ? value : preview(value, n), n);
}

/** Edit distance between two short strings. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/**
 * The candidate nearest to `word` when it is a plausible misspelling
 * (edit distance at most a third of its length, at least 2), else undefined.
 *
 * @example
 * ```ts
 * import { nearest } from "@metatokens/cli/args";
 * console.log(nearest("stpes", ["steps", "seed"])); // "steps"
 * ```
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined, bestD = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(word) && word.length >= 3 ? 0.5 : distance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** The table's own key for a flag or config key in either spelling, or undefined. */
function ownKey(table: OptionTable, name: string): string | undefined {
  const key = camel(name);
  return Object.hasOwn(table, key) ? key : undefined;
}

function unknownOption(table: OptionTable, name: string, source: string, config: boolean): never {
  const flags = [...Object.keys(table).map(kebab), "help", ...(config ? ["config"] : [])];
  const guess = nearest(kebab(camel(name)), flags);
  throw new TypeError(
    `Cannot use unknown option ${quote(`--${name}`, 40)} from ${source}` +
      (guess ? `: did you mean --${guess}?` : "") + " (--help lists every option)",
  );
}

function describeRange(spec: OptionSpec): string {
  const parts: string[] = [];
  if (spec.min !== undefined && spec.max !== undefined) parts.push(`${spec.min}…${spec.max}`);
  else if (spec.min !== undefined) parts.push(`≥ ${spec.min}`);
  else if (spec.max !== undefined) parts.push(`≤ ${spec.max}`);
  if (spec.above !== undefined) parts.push(`> ${spec.above}`);
  if (spec.below !== undefined) parts.push(`< ${spec.below}`);
  return parts.join(" and ");
}

/** What a valid value looks like, for errors and help. */
function expected(spec: OptionSpec): string {
  if (spec.choices) {
    return spec.choices.length === 2 ? spec.choices.join(" or ") : `one of ${spec.choices.join(", ")}`;
  }
  const range = describeRange(spec);
  const what = {
    integer: "an integer",
    number: "a number",
    string: "a string",
    boolean: "true or false",
    json: "JSON: null or an object",
    integers: "integers separated by commas, like 1,2,3",
    numbers: "numbers separated by commas, like 0.1,0.5",
  }[spec.type];
  return range ? `${what}${spec.type.endsWith("s") ? ", each" : ""} ${range}` : what;
}

function checkNumber(spec: OptionSpec, n: number): boolean {
  if (!Number.isFinite(n)) return false;
  if ((spec.type === "integer" || spec.type === "integers") && !Number.isInteger(n)) return false;
  if (spec.min !== undefined && n < spec.min) return false;
  if (spec.max !== undefined && n > spec.max) return false;
  if (spec.above !== undefined && !(n > spec.above)) return false;
  if (spec.below !== undefined && !(n < spec.below)) return false;
  return true;
}

/**
 * Parses and checks one value of option `name` (a command-line string, or a
 * YAML value from a config file) against its spec.
 *
 * @example
 * ```ts
 * import { parseValue } from "@metatokens/cli/args";
 * console.log(parseValue("phases", { type: "integers", doc: "", min: 1, max: 5 }, "1,2")); // [1, 2]
 * ```
 */
export function parseValue(name: string, spec: OptionSpec, raw: unknown): OptionValue {
  const bad = (): never => {
    throw new RangeError(`Cannot use --${kebab(name)} ${quote(raw)}: expected ${expected(spec)}`);
  };
  const toNumber = (x: unknown): number =>
    typeof x === "number" ? x : typeof x === "string" && x.trim() !== "" ? Number(x) : NaN;
  switch (spec.type) {
    case "integer":
    case "number": {
      const n = toNumber(raw);
      return checkNumber(spec, n) ? n : bad();
    }
    case "integers":
    case "numbers": {
      const items = Array.isArray(raw) ? raw : typeof raw === "number" ? [raw] : String(raw).split(",");
      const list = items.map(toNumber);
      return list.length > 0 && list.every((n) => checkNumber(spec, n)) ? list : bad();
    }
    case "boolean":
      if (raw === true || raw === "true") return true;
      if (raw === false || raw === "false") return false;
      return bad();
    case "json": {
      if (raw === null || (typeof raw === "object" && !Array.isArray(raw))) return raw as OptionValue;
      if (typeof raw !== "string") return bad();
      try {
        const value = JSON.parse(raw);
        return value === null || (typeof value === "object" && !Array.isArray(value)) ? value : bad();
      } catch {
        return bad();
      }
    }
    case "string": {
      if (spec.multiple && Array.isArray(raw)) {
        return raw.map((r) => parseValue(name, { ...spec, multiple: false }, r) as string);
      }
      if (typeof raw !== "string" && typeof raw !== "number") return bad();
      const text = spec.normalize ? spec.normalize(String(raw)) : String(raw);
      if (spec.choices && !spec.choices.includes(text)) return bad();
      return spec.multiple ? [text] : text;
    }
  }
}

/** Splits the command line into options (`--key value`, `--key=value`, flags) in order. */
function tokens(
  table: OptionTable,
  args: readonly string[],
  config: boolean,
): { name: string; key: string; raw: string | true }[] {
  const out: { name: string; key: string; raw: string | true }[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-h" || a === "--help") {
      out.push({ name: "help", key: "help", raw: true });
      continue;
    }
    if (!a.startsWith("--") || a === "--") {
      throw new TypeError(
        `Cannot use argument ${quote(a, 40)}: options start with -- (--help lists every option)`,
      );
    }
    const eq = a.indexOf("=");
    let name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    let raw: string | true | undefined = eq > 0 ? a.slice(eq + 1) : undefined;
    if (config && name === "config") {
      if (raw === undefined) raw = i + 1 < args.length ? args[++i] : undefined;
      if (raw === undefined) throw new TypeError("Cannot use --config without a FILE.yaml");
      out.push({ name, key: "config", raw });
      continue;
    }
    let key = ownKey(table, name);
    if (key === undefined && raw === undefined && name.startsWith("no-")) {
      const positive = ownKey(table, name.slice(3));
      if (positive !== undefined && table[positive].type === "boolean") {
        [key, name, raw] = [positive, name.slice(3), "false"];
      }
    }
    if (key === undefined) unknownOption(table, name, "the command line", config);
    const spec = table[key];
    if (raw === undefined) {
      const next = args[i + 1];
      if (spec.type === "boolean") {
        raw = next === "true" || next === "false" ? args[++i] : true;
      } else if (next !== undefined && !(next.startsWith("--") || next === "-h")) {
        raw = args[++i];
      } else {
        throw new TypeError(`Cannot use --${kebab(key)} without a value: expected ${expected(spec)}`);
      }
    }
    out.push({ name, key, raw });
  }
  return out;
}

/** Reads a YAML config file: a mapping of option names (either spelling) to values. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`Cannot read config file ${quote(path)}: ${errorReason(e)}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (e) {
    const first = (e as Error).message.split("\n")[0];
    throw new SyntaxError(`Cannot parse config file ${quote(path)} as YAML: ${first}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(
      `Cannot use config file ${quote(path)}: expected a mapping of option names to values`,
    );
  }
  return value as Record<string, unknown>;
}

/**
 * Parses a command's arguments against its table: an optional `--config`
 * file first, the command line over it, then the defaults; every value is
 * type- and range-checked and every required option must be present (unless
 * `--help` was asked for).
 *
 * @example
 * ```ts
 * import { parseOptions } from "@metatokens/cli/args";
 * const command = {
 *   name: "demo",
 *   summary: "a demo",
 *   options: { steps: { type: "integer", default: 10, min: 1, doc: "steps" } },
 * } as const;
 * const { values } = await parseOptions(command, ["--steps", "3"]);
 * console.log(values); // { steps: 3 }
 * ```
 */
export async function parseOptions(command: CommandSpec, args: readonly string[]): Promise<ParsedOptions> {
  const table = command.options;
  const list = tokens(table, args, command.config === true);
  const help = list.some((t) => t.key === "help");
  const values: Record<string, OptionValue> = {};
  const given = new Set<string>();
  const configs = list.filter((t) => t.key === "config");
  if (configs.length > 1) throw new TypeError("Cannot use --config more than once");
  const configFile = configs[0]?.raw as string | undefined;
  if (configFile !== undefined && !help) {
    const source = `config file ${quote(configFile)}`;
    for (const [name, raw] of Object.entries(await readConfigFile(configFile))) {
      const key = ownKey(table, name) ?? unknownOption(table, name, source, false);
      try {
        values[key] = parseValue(key, table[key], raw);
      } catch (e) {
        throw new RangeError(`${(e as Error).message} (in ${source})`);
      }
      given.add(key);
    }
  }
  const fromLine = new Set<string>();
  for (const t of list) {
    if (t.key === "help" || t.key === "config") continue;
    const spec = table[t.key];
    if (fromLine.has(t.key) && !spec.multiple) {
      throw new TypeError(`Cannot use --${kebab(t.key)} twice: give it once`);
    }
    const value = parseValue(t.key, spec, t.raw);
    values[t.key] = spec.multiple && fromLine.has(t.key)
      ? [...values[t.key] as string[], ...value as string[]]
      : value;
    fromLine.add(t.key);
    given.add(t.key);
  }
  for (const [key, spec] of Object.entries(table)) {
    if (Object.hasOwn(values, key)) continue;
    if (spec.required && !help) {
      throw new TypeError(
        `Cannot run ${command.name} without --${kebab(key)}${
          spec.placeholder ? ` ${spec.placeholder}` : ""
        }: ${spec.doc} (--help lists every option)`,
      );
    }
    if (spec.default !== undefined) values[key] = spec.default;
  }
  return { values, given, help, configFile };
}

function formatDefault(value: OptionValue | undefined): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value === "" ? '""' : value;
  if (Array.isArray(value)) return value.join(",");
  return JSON.stringify(value);
}

/** The placeholder of an option's value in help. */
function placeholder(spec: OptionSpec): string {
  if (spec.placeholder) return spec.placeholder;
  if (spec.choices) return spec.choices.join("|");
  return {
    integer: "INT",
    number: "NUM",
    string: "TEXT",
    boolean: "",
    json: "JSON",
    integers: "INT,…",
    numbers: "NUM,…",
  }[spec.type];
}

/**
 * `--help` of a command: usage, summary, then every option with its type or
 * choices, default, range and one line of doc.
 *
 * @example
 * ```ts
 * import { helpText } from "@metatokens/cli/args";
 * const text = helpText({ name: "demo", summary: "a demo", options: { steps: { type: "integer", default: 10, min: 1, doc: "optimizer steps" } } });
 * console.log(text.includes("--steps INT")); // true
 * ```
 */
export function helpText(command: CommandSpec): string {
  const rows: [string, string][] = Object.entries(command.options).map(([key, spec]) => {
    const value = placeholder(spec);
    const flag = spec.type === "boolean"
      ? `--${kebab(key)}, --no-${kebab(key)}`
      : `--${kebab(key)}${value ? ` ${value}` : ""}`;
    const facts = [
      spec.required ? "required" : spec.default !== undefined ? `default ${formatDefault(spec.default)}` : "",
      spec.choices ? "" : describeRange(spec),
      spec.multiple ? "repeatable" : "",
      spec.note ?? "",
    ].filter((f) => f !== "");
    return [flag, `${spec.doc}${facts.length ? ` (${facts.join("; ")})` : ""}`];
  });
  if (command.config) {
    rows.push(["--config FILE.yaml", "read options from a YAML mapping; flags override it"]);
  }
  rows.push(["-h, --help", "print this help and exit"]);
  const width = Math.min(34, Math.max(...rows.map(([f]) => f.length)) + 2);
  const lines = rows.map(([flag, doc]) =>
    flag.length + 2 > width ? `  ${flag}\n  ${" ".repeat(width)}${doc}` : `  ${flag.padEnd(width)}${doc}`
  );
  return [
    `usage: deno task ${command.name} [options]`,
    "",
    command.summary,
    "",
    "options:",
    ...lines,
    ...(command.epilog ? ["", command.epilog] : []),
  ].join("\n");
}
