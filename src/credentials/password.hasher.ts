import { createHmac, randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { ClientGone, Overloaded } from '../errors';
import type { Logger } from '../logger';

/**
 * bcrypt reads at most 72 bytes and stops at a NUL byte. Every password is therefore
 * NFC-normalised and pre-hashed with HMAC-SHA-256 (a fixed, versioned key for domain
 * separation) and base64-encoded: 44 ASCII bytes, so no part of a long password is
 * silently ignored and the same text typed on different keyboards hashes the same.
 */
const PREHASH_KEY = 'graphql-auth-api/password/v1';

function prehash(password: string): string {
  return createHmac('sha256', PREHASH_KEY).update(password.normalize('NFC'), 'utf8').digest('base64');
}

export interface HashingLimits {
  /** Worker threads: hashes that run at once. */
  readonly threads: number;
  /** Hashes that may wait for a thread; beyond them `Overloaded` at once. */
  readonly queueMax: number;
  /** How long a hash may wait for a thread before `Overloaded`. */
  readonly queueTimeoutMs: number;
}

/** What the hasher reports as it admits work (metrics); it knows nothing of who listens. */
export interface HashingObserver {
  /** A hash got a thread after waiting `waitedMs` for it (0: there was one free). */
  started(waitedMs: number): void;
  /** A hash was refused with `Overloaded`: the queue was full, or it waited past its deadline. */
  refused(reason: 'queue_full' | 'queue_timeout'): void;
}

/** For tools (the CLI, unit tests): one thread per core, a queue nobody fills. */
const UNBOUNDED: HashingLimits = { threads: availableParallelism(), queueMax: Number.MAX_SAFE_INTEGER, queueTimeoutMs: 2 ** 31 - 1 };

/** What a first `retryAfter` assumes a hash takes, before any was measured. */
const FIRST_ESTIMATE_MS = 250;

/** A hash waiting for a thread: `start` hands it one. */
interface Waiter {
  start(): void;
}

/**
 * Hashing and comparison on a pool of worker threads, so that logins use every core and never
 * block the event loop; and admission to that pool, because bcrypt is the work an attacker can
 * pile up cheapest. At most `threads` hashes run; at most `queueMax` wait, each for at most
 * `queueTimeoutMs`; beyond either, `Overloaded` (SERVICE_UNAVAILABLE with `retryAfter`) at once.
 * A waiting hash whose request was aborted (the client left) is dropped and never runs.
 *
 * The queue is kept here rather than in piscina (`maxQueue`, `signal`): piscina 5 puts a task
 * that carries an abort signal in a side queue that `maxQueue` does not count, and aborting a
 * task that already runs terminates its worker thread, which costs more than finishing the hash.
 */
export class PasswordHasher {
  private readonly pool: Piscina;
  private readonly limits: HashingLimits;
  private running = 0;
  /** In arrival order (a Set iterates in insertion order and deletes in O(1)). */
  private readonly waiting = new Set<Waiter>();
  /** Moving average of a hash's duration, for `retryAfter`. */
  private averageMs = FIRST_ESTIMATE_MS;

  /**
   * What `verifyAgainstNothing` compares with: the hash of a random secret, made once, at
   * construction (so not even the first unknown email pays for making it), with the same
   * cost as every real hash.
   */
  readonly decoyHash: Promise<string>;

  constructor(
    private readonly cost: number,
    limits: Partial<HashingLimits> = {},
    private readonly logger?: Logger,
    private readonly observer?: HashingObserver,
  ) {
    this.limits = { ...UNBOUNDED, ...limits };
    this.pool = new Piscina({
      filename: path.join(__dirname, 'password.worker.js'),
      minThreads: 1,
      maxThreads: this.limits.threads,
      idleTimeout: 60_000,
    });
    this.decoyHash = this.hash(randomBytes(32).toString('base64'));
    // A pool closed before the decoy is made (a short-lived CLI) must not leave an unhandled rejection.
    this.decoyHash.catch(() => undefined);
  }

  /** `signal`: the request's; once it aborts, a hash still waiting for a thread is dropped (`ClientGone`). */
  hash(password: string, signal?: AbortSignal): Promise<string> {
    return this.run('hash', { secret: prehash(password), cost: this.cost }, signal);
  }

  verify(password: string, hash: string, signal?: AbortSignal): Promise<boolean> {
    return this.run('verify', { secret: prehash(password), hash }, signal);
  }

  /**
   * The same work as a real comparison, for an email that has no account, so the two
   * login failures cannot be told apart by timing.
   */
  async verifyAgainstNothing(password: string, signal?: AbortSignal): Promise<false> {
    await this.verify(password, await this.decoyHash, signal);
    return false;
  }

  /** Hashes waiting for a thread. */
  get queued(): number {
    return this.waiting.size;
  }

  /** Hashes running on a thread. */
  get active(): number {
    return this.running;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }

  private async run<T>(name: 'hash' | 'verify', task: object, signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted) throw this.dropped(name, 'before it was queued');
    const queued = performance.now();
    if (this.running < this.limits.threads && this.waiting.size === 0) this.running++;
    else await this.turn(name, signal);
    const started = performance.now();
    this.observer?.started(started - queued);
    try {
      return (await this.pool.run(task, { name })) as T;
    } finally {
      this.averageMs = 0.8 * this.averageMs + 0.2 * (performance.now() - started);
      this.running--;
      this.startWaiting();
    }
  }

  /** Resolves once this hash holds a thread (`running` counts it already). */
  private turn(name: string, signal: AbortSignal | undefined): Promise<void> {
    if (this.waiting.size >= this.limits.queueMax) {
      this.observer?.refused('queue_full');
      throw new Overloaded(this.retryAfterSeconds());
    }
    return new Promise<void>((resolve, reject) => {
      const leave = (): void => {
        this.waiting.delete(waiter);
        clearTimeout(deadline);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        start: () => {
          leave();
          this.running++;
          resolve();
        },
      };
      const onAbort = (): void => {
        leave();
        reject(this.dropped(name, 'while it was queued'));
      };
      const deadline = setTimeout(() => {
        leave();
        this.observer?.refused('queue_timeout');
        reject(new Overloaded(this.retryAfterSeconds()));
      }, this.limits.queueTimeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.add(waiter);
    });
  }

  private startWaiting(): void {
    for (const waiter of this.waiting) {
      if (this.running >= this.limits.threads) return;
      waiter.start();
    }
  }

  /** Seconds until the work ahead of a new hash is probably done: what queued and running hashes take. */
  private retryAfterSeconds(): number {
    const ahead = this.waiting.size + this.running;
    return Math.max(1, Math.ceil((ahead / this.limits.threads) * (this.averageMs / 1000)));
  }

  private dropped(name: string, when: string): ClientGone {
    this.logger?.debug({ task: name }, `password ${name} cancelled ${when}: the client left`);
    return new ClientGone();
  }
}
