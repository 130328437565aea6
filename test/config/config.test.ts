import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from '../../src/config/config';
import { TEST_ACCESS_SECRET, TEST_REFRESH_SECRET } from '../helpers/app';
import { ensureDevelopmentSecrets } from '../../src/config/development-secrets';
import { parseDuration } from '../../src/config/env';

const ACCESS = TEST_ACCESS_SECRET;
const REFRESH = TEST_REFRESH_SECRET;
const MFA_KEY = 'config-test-mfa-key-0123456789-abcdefghijklmnopq';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'auth-api-config-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** What production needs for mail; each test that is about it overrides it. */
const MAIL = { SMTP_URL: 'log', APP_URL: 'https://app.example.test', MAIL_FROM: 'no-reply@example.test' };

/** Explicit secrets and a temporary DATA_DIR, so no test writes into the working tree. */
function load(env: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    DATA_DIR: tempDir(),
    JWT_ACCESS_SECRET: ACCESS,
    JWT_REFRESH_SECRET: REFRESH,
    MFA_ENCRYPTION_KEY: MFA_KEY,
    ...MAIL,
    ...env,
  });
}

/** The ConfigError `env` causes; fails the test when loading succeeds or throws anything else. */
function configError(env: Record<string, string | undefined>): ConfigError {
  let thrown: unknown;
  try {
    load(env);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  return thrown as ConfigError;
}

describe('defaults', () => {
  it('follows the contract table when nothing is set', () => {
    const config = loadConfig({ JWT_ACCESS_SECRET: ACCESS, JWT_REFRESH_SECRET: REFRESH });
    expect(config).toMatchObject({
      nodeEnv: 'development',
      isProduction: false,
      port: 4000,
      host: '127.0.0.1',
      dataDir: path.resolve('.data'),
      databaseUrl: undefined,
      databaseStatementTimeoutMs: 5000,
      redisUrl: undefined,
      accessTokenTtlMs: 15 * 60_000,
      refreshTokenTtlMs: 7 * 86_400_000,
      refreshReuseGraceMs: 10_000,
      bcryptCost: 12,
      bootstrapAdmin: undefined,
      trustProxy: false,
      logLevel: 'info',
      shutdownDelayMs: 5000,
      shutdownGraceMs: 10_000,
      rateLimitIpv6Prefix: 64,
      http: { headersTimeoutMs: 10_000, requestTimeoutMs: 15_000, keepAliveTimeoutMs: 5000, maxConnections: 900 },
      passwordHashing: { threads: availableParallelism(), queueMax: 64, queueTimeoutMs: 5000 },
      maxRequestsInFlight: 128,
    });
    expect(config.jwt.accessSecret.toString()).toBe(ACCESS);
    expect(config.jwt.refreshSecret.toString()).toBe(REFRESH);
    expect(config.rateLimits).toEqual({
      'login:account-ip': { max: 5, windowMs: 15 * 60_000 },
      'login:account': { max: 100, windowMs: 15 * 60_000 },
      'login:ip': { max: 50, windowMs: 15 * 60_000 },
      'signup:ip': { max: 10, windowMs: 3_600_000 },
      'refreshToken:ip': { max: 60, windowMs: 15 * 60_000 },
      'changePassword:account': { max: 5, windowMs: 15 * 60_000 },
      'passwordReset:account': { max: 3, windowMs: 3_600_000 },
      'passwordReset:ip': { max: 20, windowMs: 3_600_000 },
      'verifyEmail:ip': { max: 30, windowMs: 15 * 60_000 },
      'resendVerification:account': { max: 3, windowMs: 3_600_000 },
      'changeEmail:account': { max: 5, windowMs: 3_600_000 },
      'mfa:account': { max: 5, windowMs: 15 * 60_000 },
      'passkeyLogin:ip': { max: 50, windowMs: 15 * 60_000 },
    });
    expect(config).toMatchObject({
      appUrl: 'http://localhost:5173/',
      smtpUrl: 'log',
      mailFrom: 'no-reply@localhost',
      passwordResetTtlMs: 3_600_000,
      emailVerificationTtlMs: 86_400_000,
      requireEmailVerification: false,
    });
    expect(config.corsOrigins).toContain('https://studio.apollographql.com');
    expect(config.corsOrigins.some((origin) => origin.startsWith('http://localhost:'))).toBe(true);
  });

  it('allows no CORS origin by default in production', () => {
    const config = load({ NODE_ENV: 'production' });
    expect(config.isProduction).toBe(true);
    expect(config.corsOrigins).toEqual([]);
  });

  it('is silent by default under NODE_ENV=test', () => {
    expect(load({ NODE_ENV: 'test' }).logLevel).toBe('silent');
  });

  it('treats blank values as unset', () => {
    expect(load({ PORT: '  ', ACCESS_TOKEN_TTL: '' })).toMatchObject({ port: 4000, accessTokenTtlMs: 15 * 60_000 });
  });

  it('returns a frozen object', () => {
    const config = load();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.jwt)).toBe(true);
    expect(Object.isFrozen(config.corsOrigins)).toBe(true);
  });
});

describe('valid values', () => {
  it.each([
    ['2s', 2000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['500ms', 500],
  ])('parses the duration %s', (raw, ms) => {
    expect(parseDuration('ACCESS_TOKEN_TTL', raw)).toBe(ms);
  });

  it('reads every variable', () => {
    const config = load({
      PORT: '8080',
      HOST: '0.0.0.0',
      NODE_ENV: 'test',
      DATABASE_URL: 'postgres://u:p@db.internal:5432/auth',
      REDIS_URL: 'redis://cache:6379',
      ACCESS_TOKEN_TTL: '2s',
      REFRESH_TOKEN_TTL: '1h',
      REFRESH_REUSE_GRACE: '0s',
      BCRYPT_COST: '4',
      BOOTSTRAP_ADMIN_EMAIL: ' Admin@Example.com ',
      BOOTSTRAP_ADMIN_PASSWORD: 'admin password',
      CORS_ORIGINS: 'https://app.example.com, https://admin.example.com/',
      TRUST_PROXY: 'loopback, 10.0.0.0/8',
      LOG_LEVEL: 'debug',
      SHUTDOWN_GRACE: '30s',
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      nodeEnv: 'test',
      databaseUrl: 'postgres://u:p@db.internal:5432/auth',
      redisUrl: 'redis://cache:6379',
      accessTokenTtlMs: 2000,
      refreshTokenTtlMs: 3_600_000,
      refreshReuseGraceMs: 0,
      bcryptCost: 4,
      bootstrapAdmin: { email: 'admin@example.com', password: 'admin password' },
      corsOrigins: ['https://app.example.com', 'https://admin.example.com'],
      trustProxy: 'loopback, 10.0.0.0/8',
      logLevel: 'debug',
      shutdownGraceMs: 30_000,
    });
  });

  it('reads TRUST_PROXY as a boolean or a hop count', () => {
    expect(load({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(load({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(load({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
  });

  it('turns rate limits off, overrides one, or drops one', () => {
    expect(load({ RATE_LIMITS: 'off' }).rateLimits).toBe('off');
    expect(load({ RATE_LIMITS: ' OFF ' }).rateLimits).toBe('off');
    const limits = load({ RATE_LIMITS: 'login:account=3/1m, signup:ip=off' }).rateLimits;
    expect(limits).toMatchObject({ 'login:account': { max: 3, windowMs: 60_000 }, 'login:ip': { max: 50, windowMs: 900_000 } });
    expect(limits).not.toHaveProperty('signup:ip');
  });
});

describe('a bad value names its variable', () => {
  it.each<[string, Record<string, string | undefined>]>([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '-1' }],
    ['PORT', { PORT: '80.5' }],
    ['HOST', { HOST: 'not a host' }],
    ['HOST', { HOST: 'evil.com/path' }],
    ['NODE_ENV', { NODE_ENV: 'prod' }],
    ['DATABASE_URL', { DATABASE_URL: 'not a url' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://u:p@localhost:3306/auth' }],
    ['DATABASE_URL', { DATABASE_URL: 'postgres://u:p@localhost:5432' }],
    ['DATABASE_STATEMENT_TIMEOUT', { DATABASE_STATEMENT_TIMEOUT: '5' }],
    ['DATABASE_STATEMENT_TIMEOUT', { DATABASE_STATEMENT_TIMEOUT: '0s' }],
    ['DATABASE_STATEMENT_TIMEOUT', { DATABASE_STATEMENT_TIMEOUT: '10ms' }],
    ['DATABASE_PREPARED_STATEMENTS', { DATABASE_PREPARED_STATEMENTS: 'yes' }],
    ['REDIS_URL', { REDIS_URL: 'localhost:6379' }],
    ['REDIS_URL', { REDIS_URL: 'http://localhost:6379' }],
    ['JWT_ACCESS_SECRET', { JWT_ACCESS_SECRET: 'too-short' }],
    ['JWT_REFRESH_SECRET', { JWT_REFRESH_SECRET: 'too-short' }],
    ['JWT_REFRESH_SECRET', { JWT_REFRESH_SECRET: ACCESS }],
    ['ACCESS_TOKEN_TTL', { ACCESS_TOKEN_TTL: '15' }],
    ['ACCESS_TOKEN_TTL', { ACCESS_TOKEN_TTL: '15 minutes' }],
    ['ACCESS_TOKEN_TTL', { ACCESS_TOKEN_TTL: '-1m' }],
    ['ACCESS_TOKEN_TTL', { ACCESS_TOKEN_TTL: '0s' }],
    ['ACCESS_TOKEN_TTL', { ACCESS_TOKEN_TTL: '500ms' }],
    ['ACCESS_TOKEN_TTL', { ACCESS_TOKEN_TTL: '99999999999999999d' }],
    ['REFRESH_TOKEN_TTL', { REFRESH_TOKEN_TTL: 'week' }],
    ['REFRESH_TOKEN_TTL', { REFRESH_TOKEN_TTL: '10m' }],
    ['REFRESH_REUSE_GRACE', { REFRESH_REUSE_GRACE: 'ten' }],
    ['REFRESH_REUSE_GRACE', { REFRESH_REUSE_GRACE: '1.5s' }],
    ['BCRYPT_COST', { BCRYPT_COST: 'abc' }],
    ['BCRYPT_COST', { BCRYPT_COST: '3' }],
    ['BCRYPT_COST', { BCRYPT_COST: '32' }],
    ['BCRYPT_COST', { NODE_ENV: 'production', BCRYPT_COST: '4' }],
    ['RATE_LIMITS', { RATE_LIMITS: 'login=5' }],
    ['RATE_LIMITS', { RATE_LIMITS: 'logout:ip=5/15m' }],
    ['RATE_LIMITS', { RATE_LIMITS: 'login:user=5/15m' }],
    ['RATE_LIMITS', { RATE_LIMITS: 'login:account=0/15m' }],
    ['RATE_LIMITS', { RATE_LIMITS: 'login:account=5/forever' }],
    ['RATE_LIMITS', { RATE_LIMITS: 'refreshToken:account=5/15m' }],
    ['REDIS_KEY_PREFIX', { REDIS_KEY_PREFIX: 'has spaces' }],
    ['BOOTSTRAP_ADMIN_PASSWORD', { BOOTSTRAP_ADMIN_EMAIL: 'admin@example.com' }],
    ['BOOTSTRAP_ADMIN_EMAIL', { BOOTSTRAP_ADMIN_PASSWORD: 'admin password' }],
    ['BOOTSTRAP_ADMIN_EMAIL', { BOOTSTRAP_ADMIN_EMAIL: 'not-an-email', BOOTSTRAP_ADMIN_PASSWORD: 'admin password' }],
    ['BOOTSTRAP_ADMIN_PASSWORD', { BOOTSTRAP_ADMIN_EMAIL: 'admin@example.com', BOOTSTRAP_ADMIN_PASSWORD: 'short' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: '*' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'app.example.com' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://app.example.com/path' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'yes' }],
    ['TRUST_PROXY', { TRUST_PROXY: '10.0.0.0/abc' }],
    ['TRUST_PROXY', { TRUST_PROXY: '101' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
    ['LOG_FORMAT', { LOG_FORMAT: 'yaml' }],
    ['SHUTDOWN_GRACE', { SHUTDOWN_GRACE: '10' }],
    ['SHUTDOWN_GRACE', { SHUTDOWN_GRACE: '0s' }],
    ['SHUTDOWN_DELAY', { SHUTDOWN_DELAY: '5' }],
    ['PASSWORD_HASH_THREADS', { PASSWORD_HASH_THREADS: '0' }],
    ['PASSWORD_HASH_QUEUE_MAX', { PASSWORD_HASH_QUEUE_MAX: '-1' }],
    ['PASSWORD_HASH_QUEUE_TIMEOUT', { PASSWORD_HASH_QUEUE_TIMEOUT: '0s' }],
    ['MAX_REQUESTS_IN_FLIGHT', { MAX_REQUESTS_IN_FLIGHT: 'lots' }],
    ['HTTP_HEADERS_TIMEOUT', { HTTP_HEADERS_TIMEOUT: '0s' }],
    ['HTTP_HEADERS_TIMEOUT', { HTTP_HEADERS_TIMEOUT: '20s', HTTP_REQUEST_TIMEOUT: '15s' }],
    ['HTTP_REQUEST_TIMEOUT', { HTTP_REQUEST_TIMEOUT: 'soon' }],
    ['HTTP_KEEP_ALIVE_TIMEOUT', { HTTP_KEEP_ALIVE_TIMEOUT: '5' }],
    ['HTTP_MAX_CONNECTIONS', { HTTP_MAX_CONNECTIONS: 'many' }],
  ])('%s: %j', (variable, env) => {
    const error = configError(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
  });

  it('logs pretty lines in development and JSON elsewhere, unless LOG_FORMAT says otherwise', () => {
    expect(load({ NODE_ENV: 'development' }).logFormat).toBe('pretty');
    expect(load({ NODE_ENV: 'test' }).logFormat).toBe('json');
    expect(load({ NODE_ENV: 'development', LOG_FORMAT: 'json' }).logFormat).toBe('json');
  });

  it('names both bootstrap variables when only one is set', () => {
    expect(configError({ BOOTSTRAP_ADMIN_EMAIL: 'admin@example.com' }).message).toContain('BOOTSTRAP_ADMIN_EMAIL');
    expect(configError({ BOOTSTRAP_ADMIN_PASSWORD: 'admin password' }).message).toContain('BOOTSTRAP_ADMIN_PASSWORD');
  });

  it('does not echo a rejected secret', () => {
    expect(configError({ JWT_ACCESS_SECRET: 'hunter2-secret' }).message).not.toContain('hunter2');
  });
});

describe('secrets', () => {
  it('refuses to start in production without real secrets, and writes none', () => {
    const dataDir = tempDir();
    for (const [env, variable] of [
      [{}, 'JWT_ACCESS_SECRET'],
      [{ JWT_ACCESS_SECRET: ACCESS }, 'JWT_REFRESH_SECRET'],
      [{ JWT_REFRESH_SECRET: REFRESH }, 'JWT_ACCESS_SECRET'],
    ] as const) {
      let thrown: unknown;
      try {
        loadConfig({ NODE_ENV: 'production', DATA_DIR: dataDir, ...env });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).message).toContain(variable);
    }
    expect(existsSync(path.join(dataDir, 'secrets.json'))).toBe(false);
  });

  it('accepts explicit secrets in production', () => {
    const config = load({ NODE_ENV: 'production', JWT_ACCESS_SECRET: ACCESS, JWT_REFRESH_SECRET: REFRESH, MFA_ENCRYPTION_KEY: MFA_KEY });
    expect(config.jwt.accessSecret.toString()).toBe(ACCESS);
  });

  it('generates development secrets once under DATA_DIR, readable only by the owner, and reuses them', () => {
    const dataDir = path.join(tempDir(), 'nested', 'data');
    const file = path.join(dataDir, 'secrets.json');
    // Loading the configuration writes nothing (the MikroORM CLI loads it too): the server stores them.
    expect(loadConfig({ DATA_DIR: dataDir }).jwt.secretsSource).toBe('ephemeral');
    expect(existsSync(file)).toBe(false);
    ensureDevelopmentSecrets({ DATA_DIR: dataDir });
    const first = loadConfig({ DATA_DIR: dataDir });
    expect(first.jwt.secretsSource).toBe('data-dir');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.jwt.accessSecret.length).toBeGreaterThanOrEqual(32);
    expect(first.jwt.refreshSecret.length).toBeGreaterThanOrEqual(32);
    expect(first.jwt.accessSecret.equals(first.jwt.refreshSecret)).toBe(false);
    const stored = readFileSync(file, 'utf8');

    const second = loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test' });
    expect(second.jwt.accessSecret.equals(first.jwt.accessSecret)).toBe(true);
    expect(second.jwt.refreshSecret.equals(first.jwt.refreshSecret)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(stored);

    const elsewhere = loadConfig({ DATA_DIR: tempDir() });
    expect(elsewhere.jwt.accessSecret.equals(first.jwt.accessSecret)).toBe(false);
  });

  it('keeps an explicit secret and fills only the missing one from DATA_DIR', () => {
    const dataDir = tempDir();
    ensureDevelopmentSecrets({ DATA_DIR: dataDir, JWT_ACCESS_SECRET: ACCESS });
    const config = loadConfig({ DATA_DIR: dataDir, JWT_ACCESS_SECRET: ACCESS });
    expect(config.jwt.accessSecret.toString()).toBe(ACCESS);
    expect(config.jwt.refreshSecret.equals(config.jwt.accessSecret)).toBe(false);
  });

  it.each([
    ['not JSON', '{ not json'],
    ['empty', '{}'],
    ['missing the refresh secret', '{ "access": "only-the-access-secret-0123456789abcdef" }'],
    ['null', 'null'],
  ])('names DATA_DIR when its secrets.json is %s', (_name, content) => {
    const dataDir = tempDir();
    writeFileSync(path.join(dataDir, 'secrets.json'), content);
    let thrown: unknown;
    try {
      loadConfig({ DATA_DIR: dataDir });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).message).toContain('DATA_DIR');
  });
});

describe('the server process', () => {
  it('exits non-zero with a message naming PORT when PORT is bad', async () => {
    const dataDir = tempDir();
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
      cwd: path.resolve(__dirname, '..', '..'),
      env: { PATH: process.env['PATH'], PORT: 'abc', DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (exitCode) => {
        resolve(exitCode);
      });
    });
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(stderr).toContain('PORT');
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(dataDir, 'secrets.json'))).toBe(false);
  });
});

describe('weak or risky settings', () => {
  it.each([
    ['one repeated character', 'x'.repeat(64)],
    ['two characters alternating', 'ab'.repeat(32)],
    ['a short cycle', '0123456789'.repeat(4)],
  ])('refuses a secret of %s, in every environment', (_name, secret) => {
    for (const NODE_ENV of ['production', 'development', 'test']) {
      expect(configError({ NODE_ENV, JWT_ACCESS_SECRET: secret }).message).toMatch(/^JWT_ACCESS_SECRET .*(random|guess)/);
      expect(configError({ NODE_ENV, JWT_REFRESH_SECRET: secret }).message).toMatch(/^JWT_REFRESH_SECRET /);
    }
  });

  it('accepts secrets made as the docs say (openssl rand -base64 48, or 32 random bytes in hex)', () => {
    for (const make of [() => randomBytes(48).toString('base64'), () => randomBytes(32).toString('hex')]) {
      expect(load({ JWT_ACCESS_SECRET: make(), JWT_REFRESH_SECRET: make() }).jwt.accessSecret.length).toBeGreaterThanOrEqual(32);
    }
  });

  it.each([
    ['JWT_ACESS_SECRET', 'JWT_ACCESS_SECRET'],
    ['ACCES_TOKEN_TTL', 'ACCESS_TOKEN_TTL'],
    ['REFRESH_TOKEN_TLL', 'REFRESH_TOKEN_TTL'],
    ['BCRYPT_COSTS', 'BCRYPT_COST'],
  ])('refuses %s in production, naming the variable it resembles', (typo, meant) => {
    const error = configError({
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: ACCESS,
      JWT_REFRESH_SECRET: REFRESH,
      MFA_ENCRYPTION_KEY: MFA_KEY,
      [typo]: '1h',
    });
    expect(error.message).toContain(typo);
    expect(error.message).toContain(meant);
  });

  it('warns about a typo outside production instead of ignoring it', () => {
    const config = load({ NODE_ENV: 'development', ACCES_TOKEN_TTL: '1h' });
    expect(config.warnings).toEqual([expect.stringMatching(/ACCES_TOKEN_TTL.*ACCESS_TOKEN_TTL/)]);
  });

  it('leaves variables alone that only look alike by accident (HOME, HOSTNAME, PATH, npm and CI variables)', () => {
    const config = load({
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: ACCESS,
      JWT_REFRESH_SECRET: REFRESH,
      MFA_ENCRYPTION_KEY: MFA_KEY,
      HOME: '/root',
      HOSTNAME: 'box',
      PATH: '/bin',
      SHELL: '/bin/sh',
      CI: 'true',
      npm_config_cache: '/tmp',
    });
    expect(config.warnings).toEqual([]);
  });
});

describe('mail settings', () => {
  it.each(['SMTP_URL', 'APP_URL', 'MAIL_FROM'])('production refuses to start without %s, naming it', (name) => {
    expect(configError({ NODE_ENV: 'production', [name]: undefined }).message).toMatch(new RegExp(`^${name} `));
  });

  it('takes SMTP_URL=log on purpose, and smtp:// or smtps:// URLs', () => {
    expect(load({ NODE_ENV: 'production', SMTP_URL: 'log' }).smtpUrl).toBe('log');
    expect(load({ SMTP_URL: 'smtps://user:pass@mail.example.com:465' }).smtpUrl).toBe('smtps://user:pass@mail.example.com:465');
    expect(configError({ SMTP_URL: 'http://mail.example.com' }).message).toMatch(/^SMTP_URL /);
    expect(configError({ MAIL_FROM: 'not an address' }).message).toMatch(/^MAIL_FROM /);
    expect(configError({ REQUIRE_EMAIL_VERIFICATION: 'yes' }).message).toMatch(/^REQUIRE_EMAIL_VERIFICATION /);
  });
});

describe('MFA_ENCRYPTION_KEY', () => {
  it('is required in production, where it must be a strong secret of its own', () => {
    expect(configError({ NODE_ENV: 'production', MFA_ENCRYPTION_KEY: undefined }).variable).toBe('MFA_ENCRYPTION_KEY');
    expect(configError({ NODE_ENV: 'production', MFA_ENCRYPTION_KEY: 'short' }).variable).toBe('MFA_ENCRYPTION_KEY');
    expect(configError({ NODE_ENV: 'production', MFA_ENCRYPTION_KEY: 'a'.repeat(48) }).variable).toBe('MFA_ENCRYPTION_KEY');
    expect(configError({ NODE_ENV: 'production', MFA_ENCRYPTION_KEY: REFRESH }).message).toMatch(/must differ from the JWT secrets/);
    expect(load({ NODE_ENV: 'production' }).mfa.encryptionKey.toString()).toBe(MFA_KEY);
  });

  it('is derived from the refresh secret in development when unset: stable across restarts, distinct from it', () => {
    const first = load({ MFA_ENCRYPTION_KEY: undefined }).mfa.encryptionKey;
    const second = load({ MFA_ENCRYPTION_KEY: undefined }).mfa.encryptionKey;
    expect(first.equals(second)).toBe(true);
    expect(first).toHaveLength(32);
    expect(first.equals(Buffer.from(REFRESH))).toBe(false);
  });
});

describe('WEBAUTHN_RP_ID, WEBAUTHN_RP_NAME, WEBAUTHN_ORIGINS', () => {
  it('default to localhost and the local origins in development', () => {
    expect(load().webauthn).toEqual({
      rpId: 'localhost',
      rpName: 'graphql-auth-api',
      origins: expect.arrayContaining(['http://localhost:5173', 'http://localhost:4000']) as unknown,
    });
  });

  it('turn passkeys off in production unless set, and then need https origins within the RP id', () => {
    expect(load({ NODE_ENV: 'production' }).webauthn).toBeUndefined();
    const production = { NODE_ENV: 'production', WEBAUTHN_RP_ID: 'example.com' };
    expect(configError(production).variable).toBe('WEBAUTHN_ORIGINS');
    expect(load({ ...production, WEBAUTHN_ORIGINS: 'https://app.example.com,https://example.com' }).webauthn).toEqual({
      rpId: 'example.com',
      rpName: 'graphql-auth-api',
      origins: ['https://app.example.com', 'https://example.com'],
    });
    expect(configError({ ...production, WEBAUTHN_ORIGINS: 'http://app.example.com' }).message).toMatch(/must be https/);
    expect(configError({ ...production, WEBAUTHN_ORIGINS: 'https://example.org' }).message).toMatch(/not within WEBAUTHN_RP_ID/);
    expect(configError({ WEBAUTHN_RP_ID: 'https://example.com' }).variable).toBe('WEBAUTHN_RP_ID');
    expect(configError({ NODE_ENV: 'production', WEBAUTHN_ORIGINS: 'https://example.com' }).variable).toBe('WEBAUTHN_RP_ID');
  });
});

describe('GRAPHQL_JIT', () => {
  it('is on by default, off with false, and refuses anything else, naming it', () => {
    expect(load({}).graphqlJit).toBe(true);
    expect(load({ GRAPHQL_JIT: 'false' }).graphqlJit).toBe(false);
    expect(load({ GRAPHQL_JIT: 'true' }).graphqlJit).toBe(true);
    expect(configError({ GRAPHQL_JIT: 'off' }).message).toMatch(/^GRAPHQL_JIT /);
  });
});

describe('METRICS_TOKEN, METRICS_PORT', () => {
  const TOKEN = 'config-test-metrics-token-0123456789-abcdefghij';

  it('leaves metrics off by default, in development and production alike', () => {
    expect(load().metrics).toEqual({ token: undefined, port: undefined });
    expect(load({ NODE_ENV: 'production' }).metrics).toEqual({ token: undefined, port: undefined });
  });

  it('reads a token and a port of their own', () => {
    const config = load({ METRICS_TOKEN: TOKEN, METRICS_PORT: '9464' });
    expect(config.metrics.token?.toString()).toBe(TOKEN);
    expect(config.metrics.port).toBe(9464);
    expect(load({ METRICS_PORT: '0', PORT: '0' }).metrics.port).toBe(0);
  });

  it.each([
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN', /at least 32 bytes/],
    [{ METRICS_TOKEN: 'a'.repeat(48) }, 'METRICS_TOKEN', /too easy to guess/],
    [{ METRICS_TOKEN: ACCESS }, 'METRICS_TOKEN', /must differ from the JWT secrets/],
    [{ METRICS_TOKEN: MFA_KEY }, 'METRICS_TOKEN', /must differ from the JWT secrets/],
    [{ METRICS_PORT: 'nine' }, 'METRICS_PORT', /whole number/],
    [{ METRICS_PORT: '70000' }, 'METRICS_PORT', /between 0 and 65535/],
    [{ METRICS_PORT: '4000' }, 'METRICS_PORT', /must differ from PORT/],
    [{ METRICS_PORT: '8080', PORT: '8080' }, 'METRICS_PORT', /must differ from PORT/],
  ])('refuses %j, naming %s', (env, variable, message) => {
    const error = configError(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(message);
  });

  it('takes METRICS_TOKN for a misspelt METRICS_TOKEN', () => {
    expect(configError({ NODE_ENV: 'production', METRICS_TOKN: TOKEN }).message).toMatch(/did you mean METRICS_TOKEN/);
  });
});

describe('OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME', () => {
  it('is off by default, and sends to <endpoint>/v1/traces when set', () => {
    expect(load().tracing).toBeUndefined();
    expect(load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      serviceName: 'graphql-auth-api',
    });
    expect(load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com/otlp/', OTEL_SERVICE_NAME: 'auth-eu' }).tracing).toEqual({
      tracesUrl: 'https://otlp.example.com/otlp/v1/traces',
      serviceName: 'auth-eu',
    });
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' }, 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SERVICE_NAME: 'has spaces' }, 'OTEL_SERVICE_NAME'],
  ])('refuses %j, naming %s', (env, variable) => {
    expect(configError(env).variable).toBe(variable);
  });
});
