/**
 * Bounded quoting of untrusted input for error messages. Every reader of a
 * file (safetensors headers, checkpoint configs, task JSONL, corpus lines)
 * quotes what it found through these two functions, so a message never
 * carries more than about `max` characters of the input, and building it
 * costs time in proportion to `max`, not to the input (a 100 MB string or a
 * value nested a million deep quotes as fast as a short one).
 *
 * It lives in `tensor`, the lowest package of the dependency DAG, so that
 * `data`, `tasks` and `model` share it; it imports nothing.
 *
 * @module
 */

/** The default number of characters of input an error message quotes. */
export const QUOTE_CHARS = 200;

/** `text` cut to at most `max` UTF-16 units, never inside a surrogate pair. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max);
  const last = text.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end);
}

/**
 * Quotes untrusted text for an error message: JSON string syntax (so control
 * characters and quotes are escaped), at most `max` characters of `text`, and
 * when it is cut, `…` and the full length.
 *
 * @param text The text to quote.
 * @param max How many characters of `text` to keep (default {@linkcode QUOTE_CHARS}).
 * @returns The quoted text.
 *
 * @example
 * ```ts
 * import { quote } from "@metatokens/tensor/quote";
 * console.log(quote('say "hi"')); // "say \"hi\""
 * console.log(quote("x".repeat(1000), 3)); // "xxx"… (1000 characters)
 * ```
 */
export function quote(text: string, max: number = QUOTE_CHARS): string {
  const kept = cut(text, max);
  const quoted = JSON.stringify(kept);
  return kept.length === text.length ? quoted : `${quoted}… (${text.length} characters)`;
}

/**
 * A JSON-like preview of an untrusted value (as `JSON.parse` returns) for an
 * error message, at most about `max` characters long. Unlike
 * `JSON.stringify`, it stops as soon as it has `max` characters, so its cost
 * does not depend on the size or depth of `value`; a cut preview ends in `…`.
 *
 * @param value Any value; numbers (`NaN`, `Infinity` too), `undefined`, functions and symbols
 *   print as their `String` form.
 * @param max The longest preview (default {@linkcode QUOTE_CHARS}).
 * @returns The preview.
 *
 * @example
 * ```ts
 * import { preview } from "@metatokens/tensor/quote";
 * console.log(preview({ a: [1, "b", null] })); // {"a":[1,"b",null]}
 * console.log(preview(JSON.parse("[".repeat(5000) + "]".repeat(5000)), 8)); // [[[[[[[[…
 * ```
 */
export function preview(value: unknown, max: number = QUOTE_CHARS): string {
  let out = "";
  const full = () => out.length >= max;
  const emit = (s: string): void => {
    if (!full()) out += s;
  };
  const walk = (v: unknown): void => {
    if (full()) return;
    if (typeof v === "string") emit(JSON.stringify(cut(v, max - out.length)));
    else if (v === null || typeof v === "number" || typeof v === "boolean") emit(String(v));
    else if (Array.isArray(v)) {
      emit("[");
      for (let i = 0; i < v.length && !full(); i++) {
        if (i > 0) emit(",");
        walk(v[i]);
      }
      emit("]");
    } else if (typeof v === "object") {
      emit("{");
      let first = true;
      for (const key in v) {
        if (full()) break;
        if (!Object.hasOwn(v, key)) continue;
        if (!first) emit(",");
        first = false;
        emit(JSON.stringify(cut(key, max - out.length)) + ":");
        walk((v as Record<string, unknown>)[key]);
      }
      emit("}");
    } else emit(String(v));
  };
  walk(value);
  return out.length >= max ? cut(out, max) + "…" : out;
}
