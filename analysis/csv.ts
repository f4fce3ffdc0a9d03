/**
 * Tables as CSV text (RFC 4180), for the numbers written next to each figure.
 *
 * @module
 */

/** One CSV cell: a string, a number, a boolean, or `null` (an empty cell). */
export type CsvCell = string | number | boolean | null;

/** One CSV row: cells by column name. */
export type CsvRow = Record<string, CsvCell>;

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

function cellText(value: unknown, row: number, column: string): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Object.is(value, -0)) return "-0";
    return String(value);
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "string") {
    return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
  }
  const kind = Array.isArray(value) ? "array" : typeof value;
  const shown = `${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind}`;
  throw new TypeError(
    `CSV cells must be strings, numbers, booleans or null, got ${shown} in row ${row}, column ${
      JSON.stringify(column)
    }`,
  );
}

/**
 * Writes rows as CSV text: a header row, then one line per row, every line
 * ended by CRLF (RFC 4180).
 *
 * Fields that contain a comma, a double quote, a line break, or leading or
 * trailing white space are quoted, with inner quotes doubled. Numbers are
 * written with full precision (the shortest text that reads back to the same
 * double, `String(x)`), `NaN` and `±Infinity` as `NaN`, `Infinity` and
 * `-Infinity`; booleans as `true`/`false`; `null` and missing keys as empty
 * cells.
 *
 * @param rows The rows, cells by column name.
 * @param columns The columns in order (others are left out); by default every
 * key of every row, in the order first seen.
 * @returns The CSV text.
 * @throws {RangeError} With neither rows nor columns, or a column named twice.
 * @throws {TypeError} For a cell that is not a string, number, boolean or null.
 *
 * @example
 * ```ts
 * import { toCsv } from "@metatokens/analysis/csv";
 * import assert from "node:assert/strict";
 *
 * const csv = toCsv([{ task: "parity, hard", accuracy: 0.1 + 0.2 }, { task: 'say "hi"', accuracy: null }]);
 * assert.equal(csv, 'task,accuracy\r\n"parity, hard",0.30000000000000004\r\n"say ""hi""",\r\n');
 * ```
 */
export function toCsv(rows: CsvRow[], columns?: string[]): string {
  let names: string[];
  if (columns !== undefined) {
    const seen = new Set<string>();
    for (const name of columns) {
      if (seen.has(name)) throw new RangeError(`Column ${JSON.stringify(name)} is named twice`);
      seen.add(name);
    }
    names = columns;
  } else {
    const seen = new Set<string>();
    for (const row of rows) for (const key of Object.keys(row)) seen.add(key);
    names = [...seen];
  }
  if (names.length === 0) {
    throw new RangeError(
      rows.length === 0
        ? "Cannot write a CSV table with no rows and no columns"
        : "Cannot write a CSV table with no columns: the rows have no keys",
    );
  }
  const lines = [names.map((name) => cellText(name, 0, name)).join(",")];
  rows.forEach((row, i) => {
    lines.push(names.map((name) => cellText(Object.hasOwn(row, name) ? row[name] : null, i, name)).join(","));
  });
  return lines.join("\r\n") + "\r\n";
}
