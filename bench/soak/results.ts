// What the load achieved: latency per operation, errors by kind, counters. Filled by the
// workload (and by the instances' log watchers for logged errors), read by the report.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

export const OPERATIONS = ['signup', 'login', 'refreshToken', 'me', 'users'] as const;
export type Operation = (typeof OPERATIONS)[number];

export class Results {
  /** Latency of the successful requests, in microseconds. */
  readonly latency: Readonly<Record<Operation, RecordableHistogram>> = {
    signup: createHistogram(),
    login: createHistogram(),
    refreshToken: createHistogram(),
    me: createHistogram(),
    users: createHistogram(),
  };
  /** Per kind: how many, and the first one's text. */
  readonly errors = new Map<string, { count: number; example: string }>();
  /** Successful operations, warm-up included (the memory samples take their rate from it). */
  done = 0;
  journeys = 0;
  crossInstanceRefreshes = 0;

  get errorCount(): number {
    let total = 0;
    for (const { count } of this.errors.values()) total += count;
    return total;
  }

  /** Successful operations since the warm-up. */
  get measuredOperations(): number {
    return OPERATIONS.reduce((sum, op) => sum + this.latency[op].count, 0);
  }

  fail(kind: string, example: string): void {
    const entry = this.errors.get(kind);
    if (entry) entry.count++;
    else this.errors.set(kind, { count: 1, example: example.slice(0, 300) });
  }

  succeed(op: Operation, startedAt: number): void {
    this.latency[op].record(Math.max(1, Math.round((performance.now() - startedAt) * 1000)));
    this.done++;
  }

  /** Forgets what the warm-up did (errors excepted: every error counts). */
  endWarmup(): void {
    for (const histogram of Object.values(this.latency)) histogram.reset();
    this.journeys = 0;
    this.crossInstanceRefreshes = 0;
  }
}
