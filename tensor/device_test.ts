import assert from "node:assert/strict";
import { createBackend } from "./device.ts";
import { webgpuAdapter } from "./backends/webgpu/backend.ts";

Deno.test("--device cpu is the wasm backend with the threads asked for; a bad device names the choices", async () => {
  const { backend, description } = await createBackend("cpu", { threads: 2 });
  assert.equal(backend.name, "wasm");
  assert.equal(description, "wasm, 2 threads");
  backend.dispose();
  await assert.rejects(
    () => createBackend("gpu"),
    /Cannot use --device "gpu": expected one of cpu, webgpu, auto/,
  );
});

Deno.test("--device auto takes a hardware adapter only; --device webgpu takes any, and fails clearly with none", async () => {
  const probe = await webgpuAdapter();
  const auto = await createBackend("auto", { threads: 1 });
  assert.equal(auto.backend.name, probe.adapter && !probe.fallback ? "webgpu" : "wasm", auto.description);
  auto.backend.dispose();
  if (probe.adapter) {
    const gpu = await createBackend("webgpu");
    assert.equal(gpu.backend.name, "webgpu");
    assert.match(gpu.description, probe.fallback ? /a software adapter/ : /^webgpu on /);
    gpu.backend.dispose();
  }
  // No adapter at all: simulate it by hiding navigator.gpu.
  const original = navigator.gpu;
  Object.defineProperty(navigator, "gpu", { value: undefined, configurable: true });
  try {
    await assert.rejects(
      () => createBackend("webgpu"),
      /Cannot use --device webgpu: navigator\.gpu is not available/,
    );
    const fallback = await createBackend("auto", { threads: 1 });
    assert.equal(fallback.backend.name, "wasm");
    fallback.backend.dispose();
  } finally {
    delete (navigator as unknown as Record<string, unknown>).gpu; // the prototype's getter again
    assert.equal(navigator.gpu, original);
  }
});
