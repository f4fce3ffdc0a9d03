import assert from "node:assert/strict";
import { ALLOWED, findViolations } from "./check_deps.ts";

Deno.test("the repository follows the package DAG and imports nothing from JSR", () => {
  assert.deepEqual(findViolations(), []);
});

Deno.test("the allowed edges are acyclic and tensor depends on nothing", () => {
  assert.deepEqual(ALLOWED.tensor, []);
  const order: string[] = [];
  const visit = (p: string, path: string[]): void => {
    assert.ok(!path.includes(p), `cycle ${[...path, p].join(" -> ")}`);
    for (const q of ALLOWED[p] ?? []) visit(q, [...path, p]);
    if (!order.includes(p)) order.push(p);
  };
  for (const p of Object.keys(ALLOWED)) visit(p, []);
});
