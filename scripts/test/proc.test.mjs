/** installCleanup: a script stopped by a signal exits as a shell reports that signal, 128 + its number. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";

const PROC = new URL("../lib/proc.mjs", import.meta.url).href;

/** Starts a script that installs the cleanup handlers, waits until it is ready, sends `signal`. */
async function exitCodeAfter(signal) {
  const script = `import { installCleanup } from ${JSON.stringify(PROC)};
installCleanup();
setInterval(() => {}, 1000);
console.log("ready");`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  child.stdout.setEncoding("utf8");
  let out = "";
  while (!out.includes("ready")) {
    const [chunk] = await once(child.stdout, "data");
    out += chunk;
  }
  const exited = once(child, "exit");
  child.kill(signal);
  const [code] = await exited;
  return code;
}

test("SIGTERM exits 143", async () => {
  assert.equal(await exitCodeAfter("SIGTERM"), 143);
});

test("SIGINT exits 130", async () => {
  assert.equal(await exitCodeAfter("SIGINT"), 130);
});
