import { MikroORM } from '@mikro-orm/core';
import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { Migrator } from '@mikro-orm/migrations';
import { PgliteDriver } from '@mikro-orm/pglite';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { AbstractSqlDriver } from '@mikro-orm/sql';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client, type Pool, type QueryConfig } from 'pg';
import { AccountToken } from '../account-tokens/account-token.entity';
import { AuditEvent } from '../audit/audit-event.entity';
import type { Config } from '../config/config';
import { describeThrown } from '../errors';
import type { Logger } from '../logger';
import { OutboxMessage } from '../mail/outbox-message.entity';
import { MfaChallenge, RecoveryCode, TotpCredential } from '../mfa/mfa.entities';
import { Passkey, WebauthnChallenge } from '../passkeys/passkey.entities';
import { RefreshToken, Session } from '../sessions/session.entity';
import { User } from '../users/user.entity';
import { lockDataDir } from './data-dir-lock';
import { discardTimedOutClients, releaseDeadClients } from './dead-connections';
import { DURABLE_START_PARAMS, DurableNodeFS } from './durable-nodefs';
import { migrations } from './migrations';

/** The server URL without its password, for logs and start-up messages. */
export function redactedDatabaseUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = 'redacted';
    url.search = '';
    return url.toString();
  } catch {
    return 'unparsable URL';
  }
}

/** Both drivers are SQL drivers: `orm.em` is a SqlEntityManager on either database. */
export type Orm = MikroORM<AbstractSqlDriver>;

type Options = NonNullable<Parameters<typeof MikroORM.init<AbstractSqlDriver>>[0]>;

export const ENTITIES = [
  User,
  Session,
  RefreshToken,
  AuditEvent,
  AccountToken,
  OutboxMessage,
  TotpCredential,
  RecoveryCode,
  MfaChallenge,
  Passkey,
  WebauthnChallenge,
];

/** What opening the database needs of the configuration (tools pass the first two only). */
export type DatabaseConfig = Pick<Config, 'databaseUrl' | 'dataDir'> &
  Partial<Pick<Config, 'databaseStatementTimeoutMs' | 'embeddedFsync'>>;

/** DATABASE_STATEMENT_TIMEOUT's default, for callers that pass no configuration of it. */
const DEFAULT_STATEMENT_TIMEOUT_MS = 5000;

/** How much longer than the server's own deadline the client waits for an answer at all. */
const CLIENT_DEADLINE_MARGIN_MS = 1000;

/**
 * Every statement of the service gets a deadline (sent by pg as start-up parameters of each
 * connection): a statement that runs too long (57014), a lock that is not granted in time
 * (55P03), and a transaction left idle (25P03, the server ends the session) fail instead of
 * holding a request and a pooled connection for as long as the server likes. A server that does
 * not answer at all (frozen, or a host gone silent) is caught by pg's client-side `query_timeout`,
 * a little later than the server's own; discardTimedOutClients then drops that connection.
 * Migrations run without these: a migration may rightly take longer, and waits for its lock.
 */
function statementDeadlines(timeoutMs: number) {
  return {
    statement_timeout: timeoutMs,
    lock_timeout: timeoutMs,
    // Longer than a statement: between its statements a transaction waits only for this process,
    // which a loaded event loop can slow; a session left idle in a transaction holds its locks.
    idle_in_transaction_session_timeout: 2 * timeoutMs,
    query_timeout: timeoutMs + CLIENT_DEADLINE_MARGIN_MS,
  };
}

/**
 * One configuration for both databases: PostgreSQL when DATABASE_URL is set, otherwise
 * the embedded PGlite (PostgreSQL in WASM) kept under DATA_DIR. Same entities, same
 * migrations (listed explicitly, so they load the same from TypeScript and compiled code).
 */
export function ormOptions(config: DatabaseConfig, logger?: Logger, deadlines: 'statements' | 'none' = 'statements'): Options {
  const common = {
    // The ORM's own messages (migrations applied) go to the service log, never to stdout.
    ...(logger
      ? {
          logger: (message: string) => {
            logger.info({ component: 'orm' }, message);
          },
        }
      : {}),
    colors: false,
    entities: ENTITIES,
    metadataProvider: ReflectMetadataProvider,
    extensions: [Migrator],
    migrations: {
      migrationsList: migrations,
      path: path.join(__dirname, 'migrations'),
      pathTs: path.join(__dirname, 'migrations'),
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    forceUtcTimezone: true,
    debug: false,
    // Entities are loaded per request into a fresh fork; nothing global to discover.
    discovery: { warnWhenNoEntities: true },
  };
  if (config.databaseUrl) {
    return {
      ...common,
      driver: PostgreSqlDriver,
      clientUrl: config.databaseUrl,
      pool: { min: 0, max: 10 },
      driverOptions: {
        ...PG_CONNECTION,
        ...(deadlines === 'statements' ? statementDeadlines(config.databaseStatementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS) : {}),
        onPoolCreated: (pool: Pool) => {
          releaseDeadClients(pool);
          discardTimedOutClients(pool);
        },
      },
    };
  }
  const dbDir = path.join(config.dataDir, 'pglite');
  mkdirSync(dbDir, { recursive: true, mode: 0o700 });
  if (config.embeddedFsync === false) return { ...common, driver: PgliteDriver, dbName: dbDir };
  // A function: each PGlite the driver creates (again after a close) gets a filesystem of its own.
  return {
    ...common,
    driver: PgliteDriver,
    dbName: dbDir,
    driverOptions: () => ({ fs: new DurableNodeFS(dbDir), startParams: [...DURABLE_START_PARAMS] }),
  };
}

/**
 * `pg` options (merged into its pool's). By default pg waits for a connection forever, so a
 * server that is gone without refusing (a host that drops packets, a proxy in front of a dead
 * database) would hang every request: connecting, or waiting for a free pooled connection, gets
 * 5 s. TCP keepalive finds idle connections whose server vanished; the pool then discards them.
 */
const PG_CONNECTION = { connectionTimeoutMillis: 5000, keepAlive: true, keepAliveInitialDelayMillis: 10_000 } as const;

/** Any constant works; it names this service's migration lock among the server's advisory locks. */
const MIGRATION_LOCK_KEY = 7_242_110_001;

/**
 * On a PostgreSQL server, instances starting together take turns at the migrations: each holds
 * a session advisory lock on a connection of its own while it migrates, so the next one waits,
 * then finds nothing left to apply. (An embedded PGlite database belongs to one process.)
 */
async function migrateUnderLock(orm: Orm, databaseUrl: string): Promise<void> {
  const lock = new Client({ connectionString: databaseUrl, ...PG_CONNECTION });
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await orm.migrator.up();
  } finally {
    await lock.end(); // ending the session releases the lock
  }
}

/** Emscripten's (WASI) errno numbers that PGlite's filesystem throws, without a message, as `ErrnoError`. */
const EMSCRIPTEN_ERRNO: Readonly<Record<number, string>> = {
  2: 'permission denied (EACCES)',
  19: 'disk quota exceeded (EDQUOT)',
  29: 'input/output error (EIO)',
  44: 'no such file or directory (ENOENT)',
  51: 'no space left on device (ENOSPC)',
  63: 'operation not permitted (EPERM)',
  69: 'read-only file system (EROFS)',
};

function describeFailure(cause: unknown): string {
  const { name, errno } = (typeof cause === 'object' && cause !== null ? cause : {}) as { name?: unknown; errno?: unknown };
  if (name === 'ErrnoError' && typeof errno === 'number') {
    return EMSCRIPTEN_ERRNO[errno] ?? `filesystem error ${String(errno)} (emscripten errno)`;
  }
  return describeThrown(cause);
}

/** Opening the database (connecting, initialising, migrating) failed; the message names which database. */
export class DatabaseOpenFailed extends Error {
  constructor(config: DatabaseConfig, cause: unknown) {
    const database = config.databaseUrl
      ? `the database at DATABASE_URL ${redactedDatabaseUrl(config.databaseUrl)}`
      : `the embedded database under DATA_DIR ${config.dataDir}`;
    super(`opening ${database} failed: ${describeFailure(cause)}`, { cause });
    this.name = 'DatabaseOpenFailed';
  }
}

/**
 * Connects and applies pending migrations. On a PostgreSQL server the migrations run on an ORM
 * of their own, without statement deadlines, closed before the service's ORM opens. The embedded
 * database is first locked for this process (DataDirInUse when another holds it); closing the ORM
 * releases the lock.
 */
export async function openDatabase(config: DatabaseConfig, logger: Logger): Promise<Orm> {
  const { databaseUrl } = config;
  if (databaseUrl) {
    try {
      const migrating = await MikroORM.init<AbstractSqlDriver>(ormOptions(config, logger, 'none'));
      try {
        await migrateUnderLock(migrating, databaseUrl);
      } finally {
        await migrating.close(true);
      }
      return await MikroORM.init<AbstractSqlDriver>(ormOptions(config, logger));
    } catch (error) {
      throw new DatabaseOpenFailed(config, error);
    }
  }
  // PGlite runs in this process, one connection, no other clients: no lock to wait for, and its
  // single-threaded WASM backend has no timer to cancel a statement with.
  const lock = lockDataDir(config.dataDir);
  let orm: Orm;
  try {
    orm = await MikroORM.init<AbstractSqlDriver>(ormOptions(config, logger));
  } catch (error) {
    lock.release();
    throw new DatabaseOpenFailed(config, error);
  }
  const close = orm.close.bind(orm);
  orm.close = async (force?: boolean) => {
    try {
      await close(force);
    } finally {
      lock.release();
    }
  };
  try {
    await orm.migrator.up();
  } catch (error) {
    await orm.close(true);
    throw new DatabaseOpenFailed(config, error);
  }
  return orm;
}

/**
 * True when the database answers a trivial query within `timeoutMs`. On a PostgreSQL server the
 * probe uses a connection of its own, closed (the socket destroyed when the server does not
 * answer) whatever happens: a probe of a frozen server never holds one of the pool's connections.
 */
export async function databaseAnswers(orm: Orm, timeoutMs: number, databaseUrl: string | undefined): Promise<boolean> {
  if (databaseUrl) return serverAnswers(databaseUrl, timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => {
      resolve(false);
    }, timeoutMs);
  });
  const probe = orm.em
    .getConnection()
    .execute('select 1', [], 'get')
    .then(() => true)
    .catch(() => false);
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function serverAnswers(databaseUrl: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs });
  client.on('error', () => undefined); // a connection lost after the answer: nothing to do
  try {
    await client.connect();
    // What is left of the deadline (pg reads query_timeout per query too; @types/pg omits it).
    const query: QueryConfig & { query_timeout: number } = { text: 'select 1', query_timeout: Math.max(1, deadline - Date.now()) };
    await client.query(query);
    return true;
  } catch {
    return false;
  } finally {
    // With a query still unanswered, pg destroys the socket instead of waiting for a goodbye.
    void client.end().catch(() => undefined);
  }
}
