import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { gql } from '../helpers/graphql';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Nothing in an error body may look like a stack trace or leak library internals. */
function expectNoInternals(body: string): void {
  expect(body).not.toMatch(/\bat .+\(.*:\d+:\d+\)|node_modules|stack|Error:/);
}

describe('on a working app', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it('GET /healthz answers 200', async () => {
    const res = await fetch(`${app.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 when the database answers', async () => {
    const res = await fetch(`${app.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready' });
  });

  it('does not announce Express', async () => {
    for (const res of [await fetch(`${app.url}/healthz`), await gql(app, '{ __typename }')]) {
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });

  describe('x-request-id', () => {
    it('keeps a sane id given by the client', async () => {
      const id = 'req-1234.abc:XYZ_9';
      const res = await fetch(`${app.url}/healthz`, { headers: { 'x-request-id': id } });
      expect(res.headers.get('x-request-id')).toBe(id);
      const graphql = await gql(app, '{ __typename }', {}, { headers: { 'x-request-id': id } });
      expect(graphql.headers.get('x-request-id')).toBe(id);
    });

    it.each([
      ['markup', '<script>alert(1)</script>'],
      ['spaces and quotes', 'id "with" spaces'],
      ['a log-forging attempt', 'abc\\nlevel=error msg=forged'],
      ['an overlong id', 'a'.repeat(65)],
    ])('replaces %s with a fresh id', async (_name, id) => {
      const res = await fetch(`${app.url}/healthz`, { headers: { 'x-request-id': id } });
      expect(res.headers.get('x-request-id')).toMatch(UUID);
    });

    it('issues a fresh id per request when none is given', async () => {
      const first = (await fetch(`${app.url}/healthz`)).headers.get('x-request-id');
      const second = (await fetch(`${app.url}/healthz`)).headers.get('x-request-id');
      expect(first).toMatch(UUID);
      expect(second).toMatch(UUID);
      expect(first).not.toBe(second);
    });
  });

  describe('malformed HTTP requests to /graphql', () => {
    it('answers a body over 100 kB with 413 and a JSON error, no stack trace', async () => {
      const res = await fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }', variables: { padding: 'x'.repeat(101 * 1024) } }),
      });
      expect(res.status).toBe(413);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const text = await res.text();
      expectNoInternals(text);
      const body = JSON.parse(text) as { data?: unknown; errors: { message: string; extensions: { code: string } }[] };
      expect(body.data).toBeUndefined();
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0]?.message).toMatch(/too large/i);
    });

    it('accepts a body just under the limit', async () => {
      const res = await gql(app, '{ __typename }', { padding: 'x'.repeat(90 * 1024) });
      expect(res.status).toBe(200);
      expect(res.data).toEqual({ __typename: 'Query' });
    });

    it('answers malformed JSON with 400 and a JSON error, no stack trace', async () => {
      const res = await fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query": "{ __typename }",',
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const text = await res.text();
      expectNoInternals(text);
      const body = JSON.parse(text) as { data?: unknown; errors: { message: string }[] };
      expect(body.data).toBeUndefined();
      expect(body.errors.length).toBeGreaterThan(0);
    });
  });

  describe('GraphQL over GET', () => {
    it('runs a query', async () => {
      const res = await fetch(`${app.url}/graphql?query=${encodeURIComponent('{__typename}')}`, {
        headers: { 'apollo-require-preflight': 'true' },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
    });

    it('refuses a simple GET without a preflight-forcing header (CSRF prevention)', async () => {
      const res = await fetch(`${app.url}/graphql?query=${encodeURIComponent('{__typename}')}`);
      expect(res.status).toBe(400);
      expect(await res.text()).not.toContain('"__typename":"Query"');
    });

    it('refuses a mutation and runs nothing', async () => {
      const mutation = `mutation { login(input: { email: "nobody@example.com", password: "whatever-password" }) { accessToken } }`;
      const res = await fetch(`${app.url}/graphql?query=${encodeURIComponent(mutation)}`, {
        headers: { 'apollo-require-preflight': 'true' },
      });
      expect(res.status).toBe(405);
      const body = (await res.json()) as { data?: unknown; errors: { message: string }[] };
      expect(body.data).toBeUndefined();
      expect(body.errors[0]?.message).toMatch(/mutation/);
    });
  });
});

/**
 * Closing the ORM alone is not an outage: the ORM reconnects on the next query. So after
 * closing it, the database is also made unreachable: the PostgreSQL database is dropped,
 * or the embedded database's directory is replaced by a file PGlite cannot open.
 */
async function makeDatabaseUnreachable(app: TestApp): Promise<void> {
  await app.app.orm.close(true);
  if (app.databaseUrl) {
    const name = new URL(app.databaseUrl).pathname.slice(1);
    const admin = new Client({ connectionString: process.env['DATABASE_URL'] });
    await admin.connect();
    try {
      await admin.query(`drop database "${name}" with (force)`);
    } finally {
      await admin.end();
    }
  } else {
    const dir = path.join(app.dataDir, 'pglite');
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, 'not a database');
  }
}

describe('when the database does not answer', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it('GET /readyz answers 503 while /healthz still answers 200, and the app still stops cleanly', async () => {
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    await makeDatabaseUnreachable(app);

    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(503);
    const text = await ready.text();
    expectNoInternals(text);
    expect(JSON.parse(text)).toEqual({ status: 'database unavailable' });
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);

    await expect(app.stop()).resolves.toBeUndefined();
    expect(app.app.httpServer.listening).toBe(false);
  });
});
