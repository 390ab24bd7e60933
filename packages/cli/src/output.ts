/** Output helpers: aligned tables for people, JSON for scripts, and short times. */

/** Writes `rows` as an aligned table with a header; empty cells show as `-`. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((row) =>
    row.map((cell) => (cell === undefined || cell === null || cell === "" ? "-" : String(cell))),
  );
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...cells.map((row) => (row[i] ?? "").length)),
  );
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...cells.map(line)].join("\n");
}

/** Key/value lines, aligned on the keys. */
export function details(pairs: readonly (readonly [string, unknown])[]): string {
  const shown = pairs.filter(([, value]) => value !== undefined && value !== null && value !== "");
  const width = Math.max(...shown.map(([key]) => key.length)) + 2;
  return shown.map(([key, value]) => `${`${key}:`.padEnd(width)}${String(value)}`).join("\n");
}

/** Pretty JSON with a final newline. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** `12.3s`, `2m03s`, `1h02m`: elapsed time for progress lines. */
export function elapsed(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** The local time of day, `14:02:03`. */
export function clock(date: Date = new Date()): string {
  return date.toTimeString().slice(0, 8);
}
