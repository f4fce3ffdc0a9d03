import assert from "node:assert/strict";
import { StopRequests } from "./stop.ts";

Deno.test({
  name: "StopRequests: SIGTERM and SIGHUP ask once, later signals are absorbed, the exit status is 128 + n",
  ignore: Deno.build.os === "windows",
  async fn() {
    const reasons: string[] = [];
    {
      using stop = new StopRequests((r) => reasons.push(r));
      assert.equal(stop.requested, false);
      Deno.kill(Deno.pid, "SIGTERM");
      for (let i = 0; i < 100 && !stop.requested; i++) await new Promise((r) => setTimeout(r, 10));
      Deno.kill(Deno.pid, "SIGHUP"); // absorbed: the save is already coming
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual([stop.requested, stop.reason, stop.exitCode], [true, "SIGTERM", 143]);
    }
    assert.deepEqual(reasons, ["SIGTERM"]);
    using again = new StopRequests(() => {});
    // (SIGINT would also stop the test runner; SIGHUP stands in for a second signal.)
    Deno.kill(Deno.pid, "SIGHUP");
    for (let i = 0; i < 100 && !again.requested; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(again.exitCode, 129);
  },
});
