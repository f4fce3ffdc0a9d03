/**
 * Independent parsers for the tests: read a prompt's text back into its
 * parts and recompute the answer, using only regular expressions and the
 * layout of Appendix H — never the generators' own formatting code.
 *
 * @module
 */

const P = "_PAUSE_";

/** A list read back from a prompt: header, items, and where pauses stood (item counts before each). */
export interface ParsedList {
  category: string;
  items: string[];
  pauses: number[];
}

/** Splits the list part of a prompt (`Cat: a b _PAUSE_ c Cat2: …`) into lists. */
export function parseLists(body: string): ParsedList[] {
  const lists: ParsedList[] = [];
  for (const word of body.split(" ")) {
    if (/^[A-Z][a-z]+:$/.test(word)) lists.push({ category: word.slice(0, -1), items: [], pauses: [] });
    else if (lists.length === 0) throw new Error(`prompt does not start with a header: "${word}"`);
    else if (word === P) lists[lists.length - 1].pauses.push(lists[lists.length - 1].items.length);
    else if (/^[A-Za-z]+$/.test(word)) lists[lists.length - 1].items.push(word);
    else throw new Error(`unexpected word "${word}" in the lists`);
  }
  return lists;
}

/** List Recall: the target list (the one with the pause), j, and the recomputed answer. */
export function parseListRecall(
  prompt: string,
): { lists: ParsedList[]; target: number; j: number; answer: string } {
  const m = prompt.match(/^(.+) Q: What is item (\d+) of ([A-Z][a-z]+)\? _PAUSE_$/);
  if (m === null) throw new Error(`not a List Recall prompt: "${prompt.slice(-80)}"`);
  const lists = parseLists(m[1]);
  const marked = lists.map((l, i) => [l, i] as const).filter(([l]) => l.pauses.length > 0);
  if (marked.length !== 1 || marked[0][0].pauses.length !== 1) {
    throw new Error("expected exactly one marked list");
  }
  const [list, target] = marked[0];
  const j = Number(m[2]);
  if (list.category !== m[3]) {
    throw new Error(`question asks about ${m[3]}, the pause is in ${list.category}`);
  }
  if (list.pauses[0] !== j) {
    throw new Error(`pause after item ${list.pauses[0]}, question asks for item ${j}`);
  }
  return { lists, target, j, answer: list.items[j - 1] };
}

/** Segment Counting: the wrapped list, the queried item and the recomputed count. */
export function parseSegmentCounting(
  prompt: string,
): { lists: ParsedList[]; target: number; item: string; answer: string } {
  const m = prompt.match(
    /^(.+) Q: How many times does ([A-Za-z]+) appear between the pauses around ([A-Z][a-z]+)\? _PAUSE_$/,
  );
  if (m === null) throw new Error(`not a Segment Counting prompt: "${prompt.slice(-100)}"`);
  const lists = parseLists(m[1]);
  const marked = lists.map((l, i) => [l, i] as const).filter(([l]) => l.pauses.length > 0);
  if (marked.length !== 1) throw new Error("expected exactly one wrapped list");
  const [list, target] = marked[0];
  if (list.pauses.length !== 2 || list.pauses[0] !== 0 || list.pauses[1] !== list.items.length) {
    throw new Error(`pauses at ${list.pauses}: expected around the whole list`);
  }
  if (list.category !== m[3]) {
    throw new Error(`question asks about ${m[3]}, the pauses are around ${list.category}`);
  }
  return { lists, target, item: m[2], answer: String(list.items.filter((w) => w === m[2]).length) };
}

/** Parity: all bits, L, and the recomputed XOR. */
export function parseParity(prompt: string): { bits: number[]; prefixLength: number; answer: string } {
  const m = prompt.match(
    /^Bits: ([01](?: [01])*) _PAUSE_((?: [01])*) Q: What is the XOR of all bits before this pause\? _PAUSE_$/,
  );
  if (m === null) throw new Error(`not a Parity prompt: "${prompt.slice(0, 80)}"`);
  const before = m[1].split(" ").map(Number);
  const after = m[2].trim() === "" ? [] : m[2].trim().split(" ").map(Number);
  let xor = 0;
  for (const b of before) xor ^= b;
  return { bits: [...before, ...after], prefixLength: before.length, answer: String(xor) };
}

/** Copying: the three parts of the passage; the answer is the bracketed span. */
export function parseCopying(prompt: string): { before: string; answer: string; after: string } {
  if (prompt.split(P).length !== 4) throw new Error("expected exactly three pauses");
  const m = prompt.match(/^(.*) _PAUSE_ (.+) _PAUSE_ (.*) Q: Copy the bracketed text\. _PAUSE_$/s);
  if (m === null) throw new Error(`not a Copying prompt: "${prompt.slice(-80)}"`);
  return { before: m[1], answer: m[2], after: m[3] };
}
