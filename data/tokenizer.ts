/**
 * GPT-2 byte-pair encoding (the `r50k_base` vocabulary, through the npm
 * `gpt-tokenizer` package, fully offline) extended by one meta token.
 *
 * The literal text `_PAUSE_` is split out in our own code before BPE, so it
 * always becomes the single id {@linkcode META_ID} (50257) and never the BPE
 * pieces of the string; {@linkcode decode} maps that id back to `_PAUSE_`.
 * Other special-token strings such as `<|endoftext|>` are encoded as ordinary
 * text (as tiktoken's `encode_ordinary`), so corpus text can never inject an
 * end-of-text id by accident.
 *
 * BPE merges within one pre-token (GPT-2's pre-tokenizer splits text into
 * words, number runs, punctuation runs and whitespace runs), and its cost grows
 * with the square of the pre-token's length: a run of 80,000 letters without
 * a space took 2 s, a few megabytes hung. So a pre-token longer than
 * {@linkcode MAX_PRETOKEN_CHARS} is split into pieces of that many characters,
 * each encoded on its own: tokenizing is linear in the input. Pre-tokens of
 * ordinary text are far shorter, so their tokens are exactly GPT-2's; only such
 * long runs encode differently (the same text, possibly in more tokens than
 * unbounded BPE would find). Splitting depends only on the pre-token itself, so
 * a document cut where the pre-tokenizer splits anyway still encodes like the
 * whole.
 *
 * @module
 */

import { decode as bpeDecode, encode as bpeEncode } from "gpt-tokenizer/encoding/r50k_base";

/** GPT-2's `<|endoftext|>` id, appended after every document of a corpus. */
export const EOT_ID = 50256;
/** The meta token's id: the first id after GPT-2's vocabulary. */
export const META_ID = 50257;
/** The text that stands for the meta token in prompts and data. */
export const META_TOKEN = "_PAUSE_";
/** Number of GPT-2 ids (0 … 50256). */
export const GPT2_VOCAB = 50257;
/** The model's vocabulary size: 50257 + the meta token, padded to a multiple of 64. */
export const PADDED_VOCAB = 50304;

const ORDINARY = { disallowedSpecial: new Set<string>() };

/**
 * The longest GPT-2 pre-token encoded whole, in characters (code points); longer
 * ones are encoded in pieces of this many, so tokenizing is linear in the input.
 */
export const MAX_PRETOKEN_CHARS = 256;

/** GPT-2's pre-tokenizer (`r50k_base`), as `gpt-tokenizer` applies it. */
const PRETOKEN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Finds a run that could make a pre-token longer than {@linkcode MAX_PRETOKEN_CHARS}. */
const LONG_RUN = new RegExp(
  ["\\p{L}", "\\p{N}", "[^\\s\\p{L}\\p{N}]", "\\s"].map((c) => `${c}{${MAX_PRETOKEN_CHARS}}`).join("|"),
  "u",
);

/** Pieces of at most {@linkcode MAX_PRETOKEN_CHARS} code points. */
const PIECE = new RegExp(`[^]{1,${MAX_PRETOKEN_CHARS}}`, "gu");

/** BPE of text without `_PAUSE_`, pushed onto `out`, with long pre-tokens split. */
function encodeOrdinary(text: string, out: number[]): void {
  if (!LONG_RUN.test(text)) {
    for (const id of bpeEncode(text, ORDINARY)) out.push(id);
    return;
  }
  // Rare: encode pre-token by pre-token (each re-tokenizes to itself), long ones in pieces.
  for (const [pretoken] of text.matchAll(PRETOKEN)) {
    const pieces = pretoken.length > MAX_PRETOKEN_CHARS ? pretoken.match(PIECE)! : [pretoken];
    for (const piece of pieces) for (const id of bpeEncode(piece, ORDINARY)) out.push(id);
  }
}

/**
 * Encodes text as GPT-2 ids, each `_PAUSE_` as the single id {@linkcode META_ID}.
 * Linear in the length of `text`: pre-tokens longer than
 * {@linkcode MAX_PRETOKEN_CHARS} are encoded in pieces (see the module doc).
 *
 * @example
 * ```ts
 * import { encode } from "@metatokens/data/tokenizer";
 * console.log(encode("Hello world")); // Int32Array [15496, 995]
 * console.log(encode("a _PAUSE_ b")); // Int32Array [64, 220, 50257, 275]
 * ```
 */
export function encode(text: string): Int32Array {
  if (typeof text !== "string") {
    throw new TypeError(`Cannot encode ${String(text)} (a ${typeof text}): expected a string`);
  }
  const out: number[] = [];
  text.split(META_TOKEN).forEach((part, i) => {
    if (i > 0) out.push(META_ID);
    if (part.length > 0) encodeOrdinary(part, out);
  });
  return Int32Array.from(out);
}

/**
 * Decodes ids back to text; {@linkcode META_ID} becomes `_PAUSE_`.
 * Ids outside [0, 50257] are an error.
 *
 * @example
 * ```ts
 * import { decode, encode } from "@metatokens/data/tokenizer";
 * console.log(decode(encode("_PAUSE_ Hello _PAUSE__PAUSE_"))); // "_PAUSE_ Hello _PAUSE__PAUSE_"
 * ```
 */
export function decode(ids: ArrayLike<number>): string {
  let text = "";
  let run: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id > META_ID) {
      throw new RangeError(
        `Cannot decode token id ${id} at index ${i}: expected an integer in [0, ${META_ID}] (GPT-2 ids and the meta token ${META_ID})`,
      );
    }
    if (id === META_ID) {
      if (run.length > 0) text += bpeDecode(run);
      run = [];
      text += META_TOKEN;
    } else {
      run.push(id);
    }
  }
  if (run.length > 0) text += bpeDecode(run);
  return text;
}
