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

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("a command run by a script that is SIGKILLed is ended with its group", async () => {
  const script = `import { run } from ${JSON.stringify(PROC)};
await run("bash", ["-c", "echo pid $$; exec sleep 300"], { onLine: (line) => console.log(line) });`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  child.stdout.setEncoding("utf8");
  let out = "";
  while (!/pid \d+/.test(out)) {
    const [chunk] = await once(child.stdout, "data");
    out += chunk;
  }
  const pid = Number(/pid (\d+)/.exec(out)[1]);
  assert.ok(alive(pid));
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
  // The guard notices its stdin closing and ends the group; give it up to 20 s on a loaded machine.
  for (let i = 0; i < 200 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  const survived = alive(pid);
  if (survived) process.kill(pid, "SIGKILL");
  assert.equal(survived, false, `sleep ${pid} outlived the script that started it`);
});

test("a run that ends normally passes on its exit code and lets the script exit", async () => {
  const script = `import { run } from ${JSON.stringify(PROC)};
const result = await run("bash", ["-c", "echo hi; exit 3"]);
console.log(JSON.stringify({ code: result.code, stdout: result.stdout }));`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  child.stdout.setEncoding("utf8");
  let out = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
  });
  const [code] = await once(child, "exit");
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(out), { code: 3, stdout: "hi\n" });
});
