import { PostgreSqlConnection } from '@mikro-orm/postgresql';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Pool } from 'pg';
import type { RateLimitedOperation, RateLimitKey } from '../config/rate-limit-rules';
import type { HashingObserver } from '../credentials/password.hasher';
import type { Orm } from '../db/orm';
import type { BatchObserver } from '../db/prepared-statement';
import type { Logger } from '../logger';
import type { RateLimitObserver } from '../rate-limits/rate-limiter';

/** Prefix of this service's own metrics; Node's and the process's keep prom-client's names. */
const PREFIX = 'auth_api_';

/** A scrape waits at most this long for a figure read from the database (outbox backlog). */
export const SCRAPE_QUERY_DEADLINE_MS = 2000;

/** Request latencies: from a cached `me` (milliseconds) to a bcrypt login under load (seconds). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Waits for a hashing thread: none at all, up to PASSWORD_HASH_QUEUE_TIMEOUT (5 s by default). */
const QUEUE_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Viewer reads per round trip to PostgreSQL: one (a lone request) up to a full batch (64). */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64];

/** What the scrape reads from the running app; each source is wired once in createApp. */
export interface MetricSources {
  readonly hashing: { readonly queued: number; readonly active: number };
  /** Messages waiting in the mail outbox (a database count). */
  outboxBacklog(): Promise<number>;
  /** The `pg` pool on a PostgreSQL server; undefined on the embedded database (one connection, no pool). */
  pool(): Promise<Pool | undefined>;
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${String(ms)} ms`));
    }, ms);
  });
  return Promise.race([work, deadline]).finally(() => {
    clearTimeout(timer);
  });
}

/**
 * The service's Prometheus metrics, in a registry of its own (not prom-client's global one: tests
 * run several apps in one process). Counters are fed as things happen (the GraphQL plugin, the
 * access log, the hasher and the rate limiter through their observer interfaces); gauges read
 * their sources when scraped. Every label takes its values from a bounded set.
 */
export class Metrics {
  readonly registry = new Registry();

  /** GraphQL requests by root field (`operation`) and the first error's code (`OK` without error). */
  readonly graphqlRequests = new Counter({
    name: `${PREFIX}graphql_requests_total`,
    help: 'GraphQL requests by operation (the root field, or multiple/none/other) and outcome code (OK, or the first error code)',
    labelNames: ['operation', 'code'] as const,
    registers: [this.registry],
  });

  readonly graphqlDuration = new Histogram({
    name: `${PREFIX}graphql_request_duration_seconds`,
    help: 'Time from the arrival of a GraphQL request to the end of its response, by operation',
    labelNames: ['operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly httpRequests = new Counter({
    name: `${PREFIX}http_requests_total`,
    help: 'HTTP requests by route and status code',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'Time from the arrival of an HTTP request to the end of its response, by route',
    labelNames: ['route'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly logins = new Counter({
    name: `${PREFIX}logins_total`,
    help: 'Sign-in attempts by method (password, mfa, passkey) and outcome (success, or the error reason or code in lower case)',
    labelNames: ['method', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly rateLimitRefusals = new Counter({
    name: `${PREFIX}rate_limit_refusals_total`,
    help: 'Attempts refused by a rate limit, by operation, bucket and reason (limit, store_unavailable)',
    labelNames: ['operation', 'bucket', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly hashWait = new Histogram({
    name: `${PREFIX}password_hash_queue_wait_seconds`,
    help: 'How long each password hash or comparison waited for a worker thread',
    buckets: QUEUE_WAIT_BUCKETS,
    registers: [this.registry],
  });

  private readonly hashRefusals = new Counter({
    name: `${PREFIX}password_hash_refusals_total`,
    help: 'Password hashes refused as overload (SERVICE_UNAVAILABLE), by reason (queue_full, queue_timeout)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  private readonly viewerBatches = new Histogram({
    name: `${PREFIX}viewer_reads_per_round_trip`,
    help: 'Viewer reads (one per authenticated request) written to PostgreSQL together, in one round trip; absent on the embedded database',
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });

  /** Fed by the viewer's prepared statement (one batch each time it writes). */
  readonly batches: BatchObserver = {
    written: (size) => {
      this.viewerBatches.observe(size);
    },
  };

  /** Fed by PasswordHasher. */
  readonly hashing: HashingObserver = {
    started: (waitedMs) => {
      this.hashWait.observe(waitedMs / 1000);
    },
    refused: (reason) => {
      this.hashRefusals.inc({ reason });
    },
  };

  /** Fed by RateLimiter. */
  readonly rateLimits: RateLimitObserver = {
    refused: (operation: RateLimitedOperation, bucket: RateLimitKey, reason) => {
      this.rateLimitRefusals.inc({ operation, bucket, reason });
    },
  };

  constructor(private readonly logger: Logger) {
    // Process CPU, memory, handles, file descriptors, GC, and event-loop lag (nodejs_eventloop_lag_*).
    collectDefaultMetrics({ register: this.registry });
  }

  /** The gauges read at scrape time: hashing queue, outbox backlog, database pool. */
  watch(sources: MetricSources): void {
    const { hashing } = sources;
    const { logger } = this;
    new Gauge({
      name: `${PREFIX}password_hash_queue_depth`,
      help: 'Password hashes waiting for a worker thread',
      registers: [this.registry],
      collect() {
        this.set(hashing.queued);
      },
    });
    new Gauge({
      name: `${PREFIX}password_hash_active`,
      help: 'Password hashes running on a worker thread',
      registers: [this.registry],
      collect() {
        this.set(hashing.active);
      },
    });
    new Gauge({
      name: `${PREFIX}mail_outbox_backlog`,
      help: 'Mail outbox messages neither sent nor given up (NaN when the database did not answer in time)',
      registers: [this.registry],
      async collect() {
        try {
          this.set(await withDeadline(sources.outboxBacklog(), SCRAPE_QUERY_DEADLINE_MS));
        } catch (err) {
          logger.warn({ err }, 'metrics: the mail outbox backlog could not be read');
          this.set(Number.NaN);
        }
      },
    });
    new Gauge({
      name: `${PREFIX}db_pool_connections`,
      help: 'Connections of the PostgreSQL pool by state (in_use, idle, waiting: requests waiting for one, max: the pool size); absent on the embedded database',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        const pool = await sources.pool().catch(() => undefined);
        if (!pool) return;
        this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
        this.set({ state: 'max' }, pool.options.max);
      },
    });
  }

  /** The exposition, in Prometheus text format. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** The `pg` pool under MikroORM on a PostgreSQL server; undefined on the embedded database. */
export async function postgresPool(orm: Orm): Promise<Pool | undefined> {
  const connection = orm.driver.getConnection();
  return connection instanceof PostgreSqlConnection ? connection.getNativeClient() : undefined;
}
