// The backing services the soak borrows: a fresh database on the PostgreSQL server and a key
// prefix in Redis, both removed at the end.
import { Redis } from 'ioredis';
import { sql } from '../lib/util';
import { DB_NAME, REDIS_KEY_PREFIX, REDIS_URL, SERVER_URL } from './config';

async function withRedis<T>(use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined); // reported through the rejected command instead
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** Throws, saying how to fix it, when Redis does not answer. */
export async function checkRedis(): Promise<void> {
  try {
    await withRedis((redis) => redis.ping());
  } catch (error) {
    throw new Error(`Redis at ${REDIS_URL} does not answer (${(error as Error).message}); set REDIS_URL`, { cause: error });
  }
}

export async function deleteRedisKeys(): Promise<number> {
  return withRedis(async (redis) => {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${REDIS_KEY_PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  });
}

/** Creates DB_NAME on the server and returns its URL. */
export async function createDatabase(): Promise<string> {
  await sql(SERVER_URL, `create database "${DB_NAME}"`);
  const databaseUrl = new URL(SERVER_URL);
  databaseUrl.pathname = `/${DB_NAME}`;
  return databaseUrl.toString();
}

export async function dropDatabase(): Promise<void> {
  await sql(SERVER_URL, `drop database if exists "${DB_NAME}" with (force)`);
}
