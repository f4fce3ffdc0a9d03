/**
 * Generated WebAssembly modules (see `_tools/build_wasm.ts`): decoding, and
 * picking the relaxed or portable variant.
 *
 * @module
 */

import type { WasmModules } from "../../backend.ts";

/** Bytes of base64 text. */
export function decodeBase64(base64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

/** The bytes of every module, relaxed where asked and available. */
export function moduleBytes(modules: WasmModules, relaxed: boolean): Uint8Array<ArrayBuffer>[] {
  return Object.values(modules).map((m) => decodeBase64(relaxed ? m.relaxed ?? m.portable : m.portable));
}

/** Whether each variant of every module validates on this engine. */
export function validateModules(modules: WasmModules): { portable: boolean; relaxed: boolean } {
  return {
    portable: moduleBytes(modules, false).every((b) => WebAssembly.validate(b)),
    relaxed: moduleBytes(modules, true).every((b) => WebAssembly.validate(b)),
  };
}
