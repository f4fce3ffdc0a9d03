/**
 * Instantiates every generated kernel module on a shared memory.
 *
 * @module
 */

import { MODULES } from "./_modules.ts";

const compiled = new Map<string, WebAssembly.Module>();

function decode(base64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

/** Whether each variant of every module validates on this engine. */
export function validateModules(): { portable: boolean; relaxed: boolean } {
  const all = Object.values(MODULES);
  return {
    portable: all.every((m) => WebAssembly.validate(decode(m.portable))),
    relaxed: all.every((m) => WebAssembly.validate(decode(m.relaxed ?? m.portable))),
  };
}

/** All exports of all modules, instantiated on `memory`, by export name. */
export function instantiate(
  memory: WebAssembly.Memory,
  relaxed: boolean,
): Record<string, WebAssembly.ExportValue> {
  const exports: Record<string, WebAssembly.ExportValue> = {};
  for (const [name, variants] of Object.entries(MODULES)) {
    const key = `${name}:${relaxed && variants.relaxed ? "relaxed" : "portable"}`;
    let module = compiled.get(key);
    if (!module) {
      module = new WebAssembly.Module(
        decode(relaxed ? variants.relaxed ?? variants.portable : variants.portable),
      );
      compiled.set(key, module);
    }
    Object.assign(exports, new WebAssembly.Instance(module, { env: { memory } }).exports);
  }
  return exports;
}
