#!/usr/bin/env node
/** The emulator's own entry: `node packages/emulator/dist/src/main.js [options]`, same flags as `ai-training emulator`. */
import { emulatorCommand } from "./commands.js";

emulatorCommand(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `ai-training emulator: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
