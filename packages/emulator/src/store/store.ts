/**
 * The emulator's store: jobs, their labels and their log lines in one SQLite file under the data
 * directory, so they survive a restart. Each job is kept as its JSON answer (ready to send as is) beside
 * the columns that listing filters and sorts on, each indexed, so no request loads every job.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Job } from "@ai-training/client";
import { isFinalState } from "@ai-training/client";
import Database from "better-sqlite3";

/** The fields `GET /v1/job` may sort on, as the contract names them. */
export type SortField = "createdAt" | "updatedAt" | "name" | "state";

/** A listing request after validation. */
export interface ListQuery {
  page: number;
  size: number;
  order: "asc" | "desc";
  sort: SortField;
  states?: string[];
  userName?: string;
  /** ISO-8601, normalised by the caller. */
  updatedAfter?: string;
  updatedBefore?: string;
  /** Every pair must match; a null value asks only that the key exists. */
  labels?: Array<{ key: string; value: string | null }>;
}

/** One page of the listing: the jobs' stored JSON texts and the total that matched. */
export interface ListPage {
  docs: string[];
  total: number;
}

/** One stored log line. */
export interface LogLine {
  stream: "stdout" | "stderr";
  line: string;
}

const SORT_COLUMNS: Record<SortField, string> = {
  // `seq` grows with creation time and is the primary key, so this order needs no extra index.
  createdAt: "seq",
  updatedAt: "updated_at",
  name: "name",
  state: "state",
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  final INTEGER NOT NULL,
  user_name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_updated_at ON jobs(updated_at);
CREATE INDEX IF NOT EXISTS jobs_name ON jobs(name);
DROP INDEX IF EXISTS jobs_state;
DROP INDEX IF EXISTS jobs_user;
-- With id in the index, a state or user filter combined with a label filter never reads the job rows.
CREATE INDEX IF NOT EXISTS jobs_state_id ON jobs(state, seq, id);
CREATE INDEX IF NOT EXISTS jobs_user_id ON jobs(user_name, seq, id);
CREATE INDEX IF NOT EXISTS jobs_final ON jobs(final);
CREATE TABLE IF NOT EXISTS labels (
  job_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (job_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS labels_key_value ON labels(key, value);
CREATE TABLE IF NOT EXISTS logs (
  job_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  stream TEXT NOT NULL,
  line TEXT NOT NULL,
  PRIMARY KEY (job_id, n)
) WITHOUT ROWID;
`;

/** Jobs, labels and logs in `DATA_DIR/emulator.sqlite`. Every method is synchronous (better-sqlite3). */
export class JobStore {
  private readonly db: Database;
  private readonly insertJob;
  private readonly updateJob;
  private readonly selectDoc;
  private readonly deleteJobRow;
  private readonly deleteLabels;
  private readonly deleteLogs;
  private readonly insertLabel;
  private readonly insertLog;
  private readonly maxLog;
  private readonly selectLogRange;
  private readonly selectNotFinal;
  private readonly insertLogs: (lines: Array<[string, number, string, string]>) => void;
  private pendingLogs: Array<[string, number, string, string]> = [];
  /** Next log line number per job that wrote in this process's lifetime. */
  private readonly nextLogNumber = new Map<string, number>();

  constructor(readonly dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(path.join(dataDir, "emulator.sqlite"));
    // WAL and NORMAL sync: a crash may lose the last transaction but never corrupts the file, and each
    // write costs microseconds instead of an fsync, which keeps log lines and transitions cheap.
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(SCHEMA);
    this.insertJob = this.db.prepare(
      "INSERT INTO jobs (id, name, state, final, user_name, created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.updateJob = this.db.prepare(
      "UPDATE jobs SET name = ?, state = ?, final = ?, updated_at = ?, doc = ? WHERE id = ?",
    );
    this.selectDoc = this.db.prepare<string>("SELECT doc FROM jobs WHERE id = ?").pluck();
    this.deleteJobRow = this.db.prepare("DELETE FROM jobs WHERE id = ?");
    this.deleteLabels = this.db.prepare("DELETE FROM labels WHERE job_id = ?");
    this.deleteLogs = this.db.prepare("DELETE FROM logs WHERE job_id = ?");
    this.insertLabel = this.db.prepare("INSERT INTO labels (job_id, key, value) VALUES (?, ?, ?)");
    this.insertLog = this.db.prepare("INSERT INTO logs (job_id, n, stream, line) VALUES (?, ?, ?, ?)");
    this.maxLog = this.db.prepare<number | null>("SELECT MAX(n) FROM logs WHERE job_id = ?").pluck();
    // A range of line numbers, not OFFSET: the primary key finds the first line at once.
    this.selectLogRange = this.db.prepare<LogLine>(
      "SELECT stream, line FROM logs WHERE job_id = ? AND n >= ? AND n < ? ORDER BY n",
    );
    this.insertLogs = this.db.transaction((lines: Array<[string, number, string, string]>) => {
      for (const entry of lines) this.insertLog.run(...entry);
    });
    this.selectNotFinal = this.db
      .prepare<string>("SELECT doc FROM jobs WHERE final = 0 ORDER BY seq")
      .pluck();
  }

  /** Stores a new job. */
  insert(job: Job): void {
    this.db.transaction(() => {
      this.insertJob.run(
        job.id,
        job.spec.name ?? "",
        job.status.state,
        isFinalState(job.status.state) ? 1 : 0,
        job.user ?? "",
        job.createdAt,
        job.updatedAt,
        JSON.stringify(job),
      );
      this.writeLabels(job);
    })();
  }

  /** Stores many jobs in one transaction (used to seed benchmarks quickly). */
  insertMany(jobs: Iterable<Job>): void {
    this.db.transaction(() => {
      for (const job of jobs) this.insert(job);
    })();
  }

  /** Replaces a job's stored answer after a change of state, status or labels. */
  update(job: Job, labelsChanged = false): void {
    const write = () => {
      this.updateJob.run(
        job.spec.name ?? "",
        job.status.state,
        isFinalState(job.status.state) ? 1 : 0,
        job.updatedAt,
        JSON.stringify(job),
        job.id,
      );
      if (labelsChanged) {
        this.deleteLabels.run(job.id);
        this.writeLabels(job);
      }
    };
    if (labelsChanged) this.db.transaction(write)();
    else write();
  }

  /** The job's stored JSON answer, or undefined when no such job exists. */
  getDoc(id: string): string | undefined {
    return this.selectDoc.get(id);
  }

  /** The job, parsed, or undefined when no such job exists. */
  get(id: string): Job | undefined {
    const doc = this.getDoc(id);
    return doc === undefined ? undefined : (JSON.parse(doc) as Job);
  }

  /** Removes a job with its labels and logs. Returns false when it did not exist. */
  delete(id: string): boolean {
    this.flushLogs();
    let removed = false;
    this.db.transaction(() => {
      removed = this.deleteJobRow.run(id).changes > 0;
      this.deleteLabels.run(id);
      this.deleteLogs.run(id);
    })();
    this.nextLogNumber.delete(id);
    return removed;
  }

  /** Jobs not in a final state, oldest first (on start, those the previous process left behind). */
  listNotFinal(): Job[] {
    return this.selectNotFinal.all().map((doc) => JSON.parse(doc) as Job);
  }

  /** One page of jobs matching the query, and how many matched in all. */
  list(query: ListQuery): ListPage {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.states && query.states.length > 0) {
      where.push(`state IN (${query.states.map(() => "?").join(", ")})`);
      params.push(...query.states);
    }
    if (query.userName !== undefined) {
      where.push("user_name = ?");
      params.push(query.userName);
    }
    if (query.updatedAfter !== undefined) {
      where.push("updated_at > ?");
      params.push(query.updatedAfter);
    }
    if (query.updatedBefore !== undefined) {
      where.push("updated_at < ?");
      params.push(query.updatedBefore);
    }
    for (const label of query.labels ?? []) {
      if (label.value === null) {
        where.push("id IN (SELECT job_id FROM labels WHERE key = ?)");
        params.push(label.key);
      } else {
        where.push("id IN (SELECT job_id FROM labels WHERE key = ? AND value = ?)");
        params.push(label.key, label.value);
      }
    }
    const whereSql = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    const direction = query.order === "asc" ? "ASC" : "DESC";
    const column = SORT_COLUMNS[query.sort];
    const orderSql = column === "seq" ? `seq ${direction}` : `${column} ${direction}, seq ${direction}`;
    const total =
      this.db
        .prepare<number>(`SELECT COUNT(*) FROM jobs ${whereSql}`)
        .pluck()
        .get(...params) ?? 0;
    const docs = this.db
      .prepare<string>(`SELECT doc FROM jobs ${whereSql} ORDER BY ${orderSql} LIMIT ? OFFSET ?`)
      .pluck()
      .all(...params, query.size, (query.page - 1) * query.size);
    return { docs, total };
  }

  /** Appends one output line of a job; returns its number (from 0). */
  appendLog(jobId: string, stream: "stdout" | "stderr", line: string): number {
    let n = this.nextLogNumber.get(jobId);
    if (n === undefined) n = (this.maxLog.get(jobId) ?? -1) + 1;
    // Lines are written in one transaction per event-loop turn: a job printing fast costs one commit
    // per burst, not one per line. Every read flushes first, so readers never miss a line.
    this.pendingLogs.push([jobId, n, stream, line]);
    if (this.pendingLogs.length === 1) setImmediate(() => this.flushLogs());
    this.nextLogNumber.set(jobId, n + 1);
    return n;
  }

  /** Writes the buffered log lines. */
  flushLogs(): void {
    if (this.pendingLogs.length === 0 || !this.db.open) return;
    const lines = this.pendingLogs;
    this.pendingLogs = [];
    this.insertLogs(lines);
  }

  /** How many log lines the job has (line numbers have no gaps, so the last one tells). */
  logCount(jobId: string): number {
    this.flushLogs();
    return (this.maxLog.get(jobId) ?? -1) + 1;
  }

  /** Log lines `[offset, offset + limit)` in the order they were written. */
  logRange(jobId: string, offset: number, limit: number): LogLine[] {
    this.flushLogs();
    return this.selectLogRange.all(jobId, offset, offset + limit);
  }

  /** Closes the database; later calls fail. */
  close(): void {
    this.flushLogs();
    if (this.db.open) this.db.close();
  }

  private writeLabels(job: Job): void {
    for (const [key, value] of Object.entries(job.spec.labels ?? {}))
      this.insertLabel.run(job.id, key, value);
  }
}
