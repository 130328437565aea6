import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startTestApp, type TestApp } from '../helpers/app';
import { logIn, signUp } from '../helpers/factories';
import { migrations } from '../../src/db/migrations';

// Several instances share a PostgreSQL server (PGlite belongs to one process), so this file
// always runs against the server: DATABASE_URL's, or the local one.
const SERVER = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

async function onServer<T>(sql: string, database?: string): Promise<T[]> {
  const url = new URL(SERVER);
  if (database) url.pathname = `/${database}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('instances started at the same moment against one empty database', () => {
  it.each([1, 2, 3])('both come up, migrations applied once (round %i)', async () => {
    const name = `test_concurrent_${randomBytes(5).toString('hex')}`;
    await onServer(`create database "${name}"`);
    const url = new URL(SERVER);
    url.pathname = `/${name}`;
    const dirs = [mkdtempSync(path.join(tmpdir(), 'auth-a-')), mkdtempSync(path.join(tmpdir(), 'auth-b-'))];
    let apps: TestApp[] = [];
    try {
      const started = await Promise.allSettled(dirs.map((dataDir) => startTestApp({ database: { dataDir, databaseUrl: url.toString() } })));
      apps = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      expect(started.map((s) => (s.status === 'rejected' ? String(s.reason) : 'up'))).toEqual(['up', 'up']);
      const applied = await onServer<{ name: string }>('select name from mikro_orm_migrations order by id', name);
      expect(applied.map((m) => m.name)).toEqual(migrations.map((m) => m.name));

      // Each serves the other's writes.
      const [a, b] = apps as [TestApp, TestApp];
      const user = await signUp(a);
      expect((await logIn(b, user.email, user.password)).id).toBe(user.id);
    } finally {
      await Promise.all(apps.map((app) => app.stop()));
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      await onServer(`drop database if exists "${name}" with (force)`);
    }
  });
});
