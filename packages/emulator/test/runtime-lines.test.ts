/** The line splitter behind job logs: lines whole, in order, whatever the chunking of the pipe. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LineSplitter } from "../src/runtime/lines.js";

function split(chunks: Buffer[], maxLine?: number): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line), maxLine);
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return lines;
}

describe("LineSplitter", () => {
  test("lines split across chunks are delivered whole and in order", () => {
    assert.deepEqual(split([Buffer.from("fir"), Buffer.from("st\nsec"), Buffer.from("ond\nthird\n")]), [
      "first",
      "second",
      "third",
    ]);
  });

  test("a UTF-8 character cut between two chunks is not mangled", () => {
    const bytes = Buffer.from("précision 95 % — ok\n", "utf8");
    const cut = bytes.indexOf(0xa9); // the second byte of "é"
    assert.deepEqual(split([bytes.subarray(0, cut), bytes.subarray(cut)]), ["précision 95 % — ok"]);
  });

  test("Windows line ends lose their carriage return, empty lines are kept", () => {
    assert.deepEqual(split([Buffer.from("a\r\n\r\nb\n")]), ["a", "", "b"]);
  });

  test("a last line without newline is flushed at the end", () => {
    assert.deepEqual(split([Buffer.from("done\npartial")]), ["done", "partial"]);
    assert.deepEqual(split([Buffer.from("")]), []);
  });

  test("a line longer than the limit is delivered in pieces instead of buffered without bound", () => {
    assert.deepEqual(split([Buffer.from("abcdefghij"), Buffer.from("kl\nm")], 4), [
      "abcd",
      "efgh",
      "ijkl",
      "m",
    ]);
  });

  test("a long line is cut the same way when its newline comes in the same chunk", () => {
    assert.deepEqual(split([Buffer.from("abcdefghij\nxy\n")], 4), ["abcd", "efgh", "ij", "xy"]);
    assert.deepEqual(split([Buffer.from("abcdefghij")], 4), ["abcd", "efgh", "ij"]);
  });

  test("the default limit is 65,536 characters", () => {
    const lines = split([Buffer.from(`${"x".repeat(65_536 * 2 + 10)}\n`)]);
    assert.deepEqual(
      lines.map((line) => line.length),
      [65_536, 65_536, 10],
    );
  });
});
