import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dropDatabases, freshDatabase, startTestApp, stopApps, type TestApp } from '../helpers/app';
import { pollUntil, until } from '../helpers/eventually';
import { PASSWORD, signUp, uniqueEmail } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';
import { createPgCluster, type PgCluster } from '../helpers/pg-cluster';
import { serverEnv, startServerProcess } from '../helpers/server-process';
import { TestSmtpServer } from '../helpers/smtp';

/**
 * The mail outbox: a message is written in the transaction of what it announces and delivered by
 * a loop in every instance, with retries; an SMTP outage or a crash between commit and delivery
 * delays mail but never loses it, and two instances never send one message twice.
 */

const SIGNUP = 'mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }';
const FAST = { MAIL_POLL_INTERVAL: '100ms', MAIL_RETRY_DELAY: '200ms' };

async function outboxRows(
  app: TestApp,
  recipient: string,
): Promise<{ attempts: number; sent_at: Date | null; failed_at: Date | null; text_body: string | null; last_error: string | null }[]> {
  return app.app.orm.em
    .getConnection()
    .execute('select attempts, sent_at, failed_at, text_body, last_error from outbox_messages where recipient = ?', [recipient], 'all');
}

describe('an SMTP outage', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    await smtp.stop();
    app = await startTestApp({ env: { SMTP_URL: smtp.url, ...FAST, MAIL_MAX_ATTEMPTS: '50' } });
  }, 120_000);
  afterAll(async () => {
    await stopApps(app);
    await smtp.stop();
  });

  it('does not fail the request, and the mail arrives once the server is back', async () => {
    const user = await signUp(app);
    await until('a failed delivery attempt', async () =>
      (await outboxRows(app, user.email)).some((row) => row.attempts >= 1 && row.last_error !== null),
    );
    await smtp.start();
    const [mail] = await smtp.waitFor(user.email);
    expect(mail?.subject).toBe('Confirm your email address');
    await until('the row marked sent, its body cleared', async () => {
      const [row] = await outboxRows(app, user.email);
      return row?.sent_at !== null && row?.text_body === null;
    });
  });
});

describe('a message that cannot be delivered', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  const logLines: string[] = [];
  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    await smtp.stop();
    app = await startTestApp({ env: { SMTP_URL: smtp.url, ...FAST, MAIL_MAX_ATTEMPTS: '2', LOG_LEVEL: 'error' }, logLines });
  }, 120_000);
  afterAll(async () => {
    await stopApps(app);
  });

  it('is given up after MAIL_MAX_ATTEMPTS with an error log line, and its body is cleared', async () => {
    const user = await signUp(app);
    const line = await pollUntil('the give-up log line', () =>
      Promise.resolve(logLines.find((l) => l.includes('given up after the last attempt'))),
    );
    expect(line).not.toContain('token=');
    const [row] = await outboxRows(app, user.email);
    expect(row).toMatchObject({ attempts: 2, text_body: null });
    expect(row?.failed_at).not.toBeNull();
  });
});

describe('development without SMTP_URL', () => {
  it('writes each message, link included, to the log', async () => {
    const logLines: string[] = [];
    const app = await startTestApp({
      env: { NODE_ENV: 'development', SMTP_URL: '', MAIL_POLL_INTERVAL: '100ms', LOG_LEVEL: 'info' },
      logLines,
    });
    try {
      const user = await signUp(app);
      const line = await pollUntil('the mail in the log', () => Promise.resolve(logLines.find((l) => l.includes(`mail to ${user.email}`))));
      expect(line).toMatch(/\/verify-email#token=[\w-]{43}/);
    } finally {
      await app.stop();
    }
  });
});

describe('a crash between commit and delivery', () => {
  it('delays the mail until the next start, and never loses it', async () => {
    const smtp = await TestSmtpServer.start();
    await smtp.stop();
    const database = await freshDatabase();
    try {
      const env = serverEnv(database, {
        SMTP_URL: smtp.url,
        MAIL_POLL_INTERVAL: '100ms',
        MAIL_RETRY_DELAY: '100ms',
        MAIL_MAX_ATTEMPTS: '100',
        BCRYPT_COST: '10',
      });
      const first = await startServerProcess(env);
      const email = uniqueEmail('crash');
      const answer = await gql({ url: `http://127.0.0.1:${String(first.port)}` }, SIGNUP, {
        input: { email, password: PASSWORD, name: 'Crash' },
      });
      expect(codes(answer)).toEqual([]);
      first.signal('SIGKILL');
      await first.exited;

      await smtp.start();
      const second = await startServerProcess(env);
      try {
        // A claim the killed process held expires first (a minute and a half at most).
        const [mail] = await smtp.waitFor(email, 1, 120_000);
        expect(mail?.subject).toBe('Confirm your email address');
      } finally {
        second.signal('SIGTERM');
        await second.exited;
      }
    } finally {
      await smtp.stop();
      await dropDatabases(database);
    }
  }, 300_000);
});

describe('two instances on one PostgreSQL database', () => {
  let cluster: PgCluster;
  let smtp: TestSmtpServer;
  const apps: TestApp[] = [];
  const dataDirs: string[] = [];

  beforeAll(async () => {
    cluster = await createPgCluster();
    await cluster.query('create database auth_api');
    smtp = await TestSmtpServer.start();
    for (let i = 0; i < 2; i += 1) {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'auth-api-outbox-'));
      dataDirs.push(dataDir);
      apps.push(
        await startTestApp({
          database: { dataDir, databaseUrl: cluster.urlOf('auth_api') },
          env: { SMTP_URL: smtp.url, MAIL_POLL_INTERVAL: '50ms' },
        }),
      );
    }
  }, 120_000);
  afterAll(async () => {
    try {
      await stopApps(...apps);
      await smtp.stop();
    } finally {
      await cluster.destroy();
      for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('deliver each message exactly once', async () => {
    const emails = Array.from({ length: 30 }, (_, i) => uniqueEmail(`twice-${String(i)}`));
    await Promise.all(
      emails.map((email, i) => gql(apps[i % 2] ?? apps[0] ?? { url: '' }, SIGNUP, { input: { email, password: PASSWORD, name: 'Twice' } })),
    );
    await until('every message sent', async () => {
      const [row] = await cluster.query<{ n: string }>('select count(*) as n from outbox_messages where sent_at is null', 'auth_api');
      return row?.n === '0';
    });
    for (const email of emails) expect(smtp.to(email)).toHaveLength(1);
    expect(smtp.received).toHaveLength(emails.length);
  });
});
