/** The check that the user's document's code blocks are examples: skipped without the document, strict with it. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { checkSeedBlocks } from "../lib/examples.mjs";

const work = mkdtempSync(join(tmpdir(), "ai-training-seed-test-"));
after(() => rmSync(work, { recursive: true, force: true }));

function seed(name, code) {
  const file = join(work, name);
  writeFileSync(file, `# Doc\n\n## A block\n\n\`\`\`python\n${code}\n\`\`\`\n`);
  return file;
}

test("without the document, one skipped check says where it looked and how to point at it", () => {
  const missing = join(work, "nowhere", "ai-training.md");
  const fallback = join(work, "shared", "seed", "ai-training.md");
  const results = checkSeedBlocks({ AI_TRAINING_SEED: missing }, fallback);
  assert.equal(results.length, 1);
  assert.equal(results[0].skipped, true);
  assert.match(results[0].detail, new RegExp(`${missing}.*${fallback}`));
  assert.match(results[0].detail, /AI_TRAINING_SEED=/);
});

test("AI_TRAINING_SEED is read first, and a block missing from the examples fails", () => {
  const file = seed("strange.md", "this_line_is_in_no_example = OVHCloudAITrainingNothing()");
  const results = checkSeedBlocks({ AI_TRAINING_SEED: file }, join(work, "absent.md"));
  assert.equal(results.length, 1);
  assert.equal(results[0].ok, false);
  assert.equal(results[0].skipped, undefined);
});

test("a block held verbatim by an example passes, read from the fallback when AI_TRAINING_SEED is unset", () => {
  const fallback = seed("fallback.md", "from airflow import DAG");
  const results = checkSeedBlocks({}, fallback);
  assert.deepEqual(
    results.map((r) => [r.ok, r.skipped]),
    [[true, undefined]],
  );
});
