/**
 * The small part of better-sqlite3's API the store uses. Declared here instead of adding
 * `@types/better-sqlite3` as a dependency; it follows better-sqlite3 12's documented signatures.
 */
declare module "better-sqlite3" {
  interface RunResult {
    changes: number;
    lastInsertRowid: number | bigint;
  }

  interface Statement<Row = unknown> {
    run(...params: unknown[]): RunResult;
    get(...params: unknown[]): Row | undefined;
    all(...params: unknown[]): Row[];
    pluck(toggle?: boolean): Statement<Row>;
    raw(toggle?: boolean): Statement<Row>;
  }

  interface Database {
    prepare<Row = unknown>(source: string): Statement<Row>;
    exec(source: string): Database;
    pragma(source: string, options?: { simple?: boolean }): unknown;
    transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
    close(): Database;
    readonly open: boolean;
  }

  interface DatabaseConstructor {
    new (
      filename: string,
      options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number },
    ): Database;
  }

  const Database: DatabaseConstructor;
  export default Database;
  export type { Database, RunResult, Statement };
}
