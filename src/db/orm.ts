import { MikroORM } from '@mikro-orm/core';
import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { Migrator } from '@mikro-orm/migrations';
import { PgliteDriver } from '@mikro-orm/pglite';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { AbstractSqlDriver } from '@mikro-orm/sql';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { AccountToken } from '../account-tokens/account-token.entity';
import { AuditEvent } from '../audit/audit-event.entity';
import type { Config } from '../config/config';
import { describeThrown } from '../errors';
import type { Logger } from '../logger';
import { OutboxMessage } from '../mail/outbox-message.entity';
import { RefreshToken, Session } from '../sessions/session.entity';
import { User } from '../users/user.entity';
import { lockDataDir } from './data-dir-lock';
import { DURABLE_START_PARAMS, DurableNodeFS } from './durable-nodefs';
import { releaseDeadClients } from './dead-connections';
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

/** Binds the port before anything else happens, so a clash leaves DATA_DIR and the database untouched. */

/** What opening the database reads; `embeddedFsync` unset means true. */
export type DatabaseConfig = Pick<Config, 'databaseUrl' | 'dataDir'> & Partial<Pick<Config, 'embeddedFsync'>>;

/** Both drivers are SQL drivers: `orm.em` is a SqlEntityManager on either database. */
export type Orm = MikroORM<AbstractSqlDriver>;

type Options = NonNullable<Parameters<typeof MikroORM.init<AbstractSqlDriver>>[0]>;

export const ENTITIES = [User, Session, RefreshToken, AuditEvent, AccountToken, OutboxMessage];

/**
 * One configuration for both databases: PostgreSQL when DATABASE_URL is set, otherwise
 * the embedded PGlite (PostgreSQL in WASM) kept under DATA_DIR. Same entities, same
 * migrations (listed explicitly, so they load the same from TypeScript and compiled code).
 */
export function ormOptions(config: DatabaseConfig, logger?: Logger): Options {
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
      driverOptions: { ...PG_CONNECTION, onPoolCreated: releaseDeadClients },
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
 * Connects and applies pending migrations. The embedded database is first locked for this process
 * (DataDirInUse when another holds it); closing the ORM releases the lock.
 */
export async function openDatabase(config: DatabaseConfig, logger: Logger): Promise<Orm> {
  const lock = config.databaseUrl ? undefined : lockDataDir(config.dataDir);
  let orm: Orm;
  try {
    orm = await MikroORM.init<AbstractSqlDriver>(ormOptions(config, logger));
  } catch (error) {
    lock?.release();
    throw new DatabaseOpenFailed(config, error);
  }
  if (lock) {
    const close = orm.close.bind(orm);
    orm.close = async (force?: boolean) => {
      try {
        await close(force);
      } finally {
        lock.release();
      }
    };
  }
  try {
    if (config.databaseUrl) await migrateUnderLock(orm, config.databaseUrl);
    else await orm.migrator.up();
  } catch (error) {
    await orm.close(true);
    throw new DatabaseOpenFailed(config, error);
  }
  return orm;
}

/** True when the database answers a trivial query within `timeoutMs`. */
export async function databaseAnswers(orm: Orm, timeoutMs: number): Promise<boolean> {
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
