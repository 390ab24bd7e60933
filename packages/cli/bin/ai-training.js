#!/usr/bin/env node
// npm links a package's bin when it installs, before `npm run build` has made dist/, and skips a bin whose
// file is missing then; this committed launcher exists from the first `npm ci`, so `npx ai-training` works
// once the workspace is built. The command line itself is dist/src/bin.js.
import("../dist/src/bin.js").catch((error) => {
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/src/bin.js")) {
    process.stderr.write(
      "error: ai-training is not built yet. Run `npm run build` at the repository root, then try again.\n",
    );
    process.exit(2);
  }
  throw error;
});
