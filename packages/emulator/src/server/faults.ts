/**
 * Fault injection for clients' retry tests: a seeded share of 429 and 503 answers, added latency and
 * dropped connections. Off unless a rate is given; the same seed gives the same sequence of faults.
 */

export interface FaultOptions {
  /** Share (0..1) of requests answered 429 with `Retry-After`. */
  rate429: number;
  /** Share (0..1) of requests answered 503 with `Retry-After`. */
  rate503: number;
  /** Share (0..1) of requests whose connection is closed without an answer. */
  dropRate: number;
  /** Milliseconds added before every request is handled. */
  latencyMs: number;
  seed: number;
  /** Seconds announced in `Retry-After` on injected 429 and 503 answers (0 lets retry tests run fast). */
  retryAfterSeconds: number;
}

export const NO_FAULTS: FaultOptions = {
  rate429: 0,
  rate503: 0,
  dropRate: 0,
  latencyMs: 0,
  seed: 1,
  retryAfterSeconds: 1,
};

export type Fault = { kind: "none" } | { kind: "drop" } | { kind: "status"; status: 429 | 503 };

/** True when any fault may happen. */
export function faultsEnabled(options: FaultOptions): boolean {
  return options.rate429 > 0 || options.rate503 > 0 || options.dropRate > 0 || options.latencyMs > 0;
}

/** Picks the fault of each request in turn from a seeded generator (mulberry32). */
export class FaultInjector {
  private state: number;

  constructor(private readonly options: FaultOptions) {
    this.state = options.seed >>> 0;
  }

  get latencyMs(): number {
    return this.options.latencyMs;
  }

  get retryAfterSeconds(): number {
    return this.options.retryAfterSeconds;
  }

  /** The fault for the next request. */
  next(): Fault {
    const roll = this.random();
    const { dropRate, rate429, rate503 } = this.options;
    if (roll < dropRate) return { kind: "drop" };
    if (roll < dropRate + rate429) return { kind: "status", status: 429 };
    if (roll < dropRate + rate429 + rate503) return { kind: "status", status: 503 };
    return { kind: "none" };
  }

  private random(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
