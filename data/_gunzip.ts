/**
 * A gzip decompressing `TransformStream` that reads what gzip itself writes and
 * `DecompressionStream("gzip")` refuses: several members back to back (`cat a.gz
 * b.gz`, parallel gzip tools) and zero padding after the last member (tape and
 * block-device tools). Built on `node:zlib`'s streaming gunzip; any other bytes
 * after a member, and a truncated member, are errors.
 *
 * @module
 */

import { createGunzip } from "node:zlib";

/**
 * A streaming gunzip for multi-member and zero-padded gzip files.
 *
 * @example
 * ```ts
 * import { gzipSync } from "node:zlib";
 * import { gunzipStream } from "./_gunzip.ts";
 * const bytes = new Uint8Array([...gzipSync("one "), ...gzipSync("two"), 0, 0, 0, 0]);
 * const text = await new Response(new Blob([bytes]).stream().pipeThrough(gunzipStream())).text();
 * console.log(text); // "one two"
 * ```
 */
export function gunzipStream(): TransformStream<Uint8Array, Uint8Array<ArrayBuffer>> {
  const gunzip = createGunzip();
  let failure: Error | null = null;
  let controller: TransformStreamDefaultController<Uint8Array<ArrayBuffer>> | null = null;
  const ended = new Promise<void>((resolve, reject) => {
    gunzip.on("end", resolve);
    gunzip.on("error", (e: Error) => {
      failure = e;
      reject(e);
    });
  });
  ended.catch(() => {}); // observed in transform and flush
  gunzip.on("data", (chunk: Uint8Array) => controller?.enqueue(new Uint8Array(chunk)));
  return new TransformStream<Uint8Array, Uint8Array<ArrayBuffer>>({
    start(c) {
      controller = c;
    },
    async transform(chunk) {
      if (failure !== null) throw failure;
      // Waiting for each write keeps memory bounded: one input chunk in flight.
      await new Promise<void>((resolve, reject) => {
        gunzip.write(chunk, (e) => (e ? reject(e) : resolve()));
      }).catch((e) => {
        throw failure ?? e;
      });
    },
    async flush() {
      gunzip.end();
      await ended;
    },
  });
}
