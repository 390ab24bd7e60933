/** The committed types are what the contract generates: a contract change without `npm run gen` fails here. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

/** Formatting aside (the committed file went through Biome): whitespace, trailing commas, leading `|`. */
function normalise(source: string): string {
  return source
    .replace(/\s+/g, "")
    .replace(/,([}\])])/g, "$1")
    .replace(/([:=(<])\|/g, "$1");
}

test("src/generated/contract.ts matches contract/openapi.json (run `npm run gen -w @ai-training/client` if not)", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "contract-gen-"));
  try {
    const out = path.join(dir, "contract.ts");
    const cli = path.join(ROOT, "node_modules", "openapi-typescript", "bin", "cli.js");
    const result = spawnSync(
      process.execPath,
      [cli, path.join(ROOT, "contract", "openapi.json"), "-o", out],
      {
        encoding: "utf8",
      },
    );
    assert.equal(result.status, 0, result.stderr);
    const committed = readFileSync(
      path.join(ROOT, "packages", "client", "src", "generated", "contract.ts"),
      "utf8",
    );
    assert.equal(normalise(committed), normalise(readFileSync(out, "utf8")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
