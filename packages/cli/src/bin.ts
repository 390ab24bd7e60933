#!/usr/bin/env node
/**
 * The `ai-training` entry point. It stays tiny on purpose: `--version` answers from here without loading
 * anything else, and every other command loads only the modules it needs (the emulator only for
 * `emulator` and `data`), so the command line starts fast. No top-level await: a module that awaits at
 * the top is evaluated asynchronously, which costs a few milliseconds on every start.
 */
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  process.stdout.write(`ai-training ${pkg.version}\n`);
} else {
  void import("./main.js").then(async ({ main }) => {
    const code = await main(args);
    if (code !== undefined) process.exitCode = code;
  });
}
