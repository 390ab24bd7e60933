import { StringDecoder } from "node:string_decoder";

/**
 * Cuts a byte stream into lines. UTF-8 characters split across chunks are kept whole, a trailing `\r`
 * is dropped (Windows line ends), and a line longer than `maxLine` characters (65,536 by default) is
 * delivered in pieces of `maxLine`, whether or not its newline came in the same chunk, so a program that
 * never writes a newline cannot make the emulator buffer without bound.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder("utf8");
  #pending = "";

  constructor(
    private readonly emit: (line: string) => void,
    private readonly maxLine = 64 * 1024,
  ) {}

  /** Feeds one chunk; every complete line in it is emitted at once. */
  push(chunk: Buffer): void {
    const text = this.#pending + this.#decoder.write(chunk);
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      this.#emitCut(withoutCarriageReturn(text.slice(start, nl)));
      start = nl + 1;
    }
    let rest = text.slice(start);
    while (rest.length > this.maxLine) {
      this.emit(rest.slice(0, this.maxLine));
      rest = rest.slice(this.maxLine);
    }
    this.#pending = rest;
  }

  /** Emits `line` in pieces of at most `maxLine`, so a long line is cut the same way however it arrived. */
  #emitCut(line: string): void {
    let rest = line;
    while (rest.length > this.maxLine) {
      this.emit(rest.slice(0, this.maxLine));
      rest = rest.slice(this.maxLine);
    }
    this.emit(rest);
  }

  /** Flushes a last line that had no newline (a program that ended mid-line). */
  end(): void {
    const rest = this.#pending + this.#decoder.end();
    this.#pending = "";
    if (rest.length > 0) this.#emitCut(withoutCarriageReturn(rest));
  }
}

function withoutCarriageReturn(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}
