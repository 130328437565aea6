import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { passwordProblem } from './auth/password.policy';

/** Thrown when an environment variable holds a value the service cannot run with. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export type NodeEnv = 'development' | 'production' | 'test';

export const RATE_LIMITED_OPERATIONS = ['login', 'signup', 'refreshToken', 'changePassword'] as const;
export type RateLimitedOperation = (typeof RATE_LIMITED_OPERATIONS)[number];
export type RateLimitKey = 'account' | 'ip';

export interface RateLimitRule {
  readonly max: number;
  readonly windowMs: number;
}

/** `login:account` → rule; an absent entry means no limit of that kind. */
export type RateLimits = Readonly<Partial<Record<`${RateLimitedOperation}:${RateLimitKey}`, RateLimitRule>>>;

export type SigningAlgorithm = 'ES256' | 'RS256';

/** One asymmetric access-token signing key from JWT_SIGNING_KEYS, parsed once at start-up. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly isProduction: boolean;
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** Unset: the embedded PGlite database under `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly redisUrl: string | undefined;
  /** Prefix of every Redis key, so deployments (or test runs) can share one Redis. */
  readonly redisKeyPrefix: string;
  readonly jwt: {
    readonly accessSecret: Buffer;
    readonly refreshSecret: Buffer;
    readonly issuer: string;
    readonly audience: string;
    /**
     * Asymmetric access-token keys, newest first: the first signs, all verify (by `kid`).
     * Empty: access tokens use HS256 with `accessSecret`. Refresh tokens always use HS256.
     */
    readonly signingKeys: readonly SigningKey[];
  };
  readonly accessTokenTtlMs: number;
  readonly refreshTokenTtlMs: number;
  readonly refreshReuseGraceMs: number;
  readonly bcryptCost: number;
  readonly rateLimits: RateLimits | 'off';
  readonly bootstrapAdmin: { readonly email: string; readonly password: string } | undefined;
  readonly corsOrigins: readonly string[];
  /** Express `trust proxy` value; `false` means the socket address is the client IP. */
  readonly trustProxy: boolean | number | string;
  readonly logLevel: string;
  /** `pretty`: human-readable lines (pino-pretty), the development default; `json`: one JSON object per line. */
  readonly logFormat: 'json' | 'pretty';
  /**
   * On SIGTERM/SIGINT, how long requests in flight may take to finish; connections still open
   * then are closed, and the process exits non-zero once the pools are closed.
   */
  readonly shutdownGraceMs: number;
}

export const DEFAULT_RATE_LIMITS =
  'login:account=5/15m,login:ip=50/15m,signup:ip=10/1h,refreshToken:ip=60/15m,changePassword:account=5/15m';

const DEVELOPMENT_CORS_ORIGINS = [
  'http://localhost:3000',
  'http://localhost:4000',
  'http://localhost:5173',
  'http://127.0.0.1:3000',
  'http://127.0.0.1:4000',
  'http://127.0.0.1:5173',
  'https://studio.apollographql.com',
];

/** After SHUTDOWN_GRACE, how long closing the pools may take before the process exits anyway. */
export const POOL_CLOSE_MS = 5000;

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `2s`, `15m`, `1h`, `7d` (also `500ms`) into milliseconds. */
export function parseDuration(variable: string, raw: string, allowZero = false): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(raw.trim());
  if (!match) {
    throw new ConfigError(variable, `must be a duration such as 30s, 15m, 1h or 7d (got "${raw}")`);
  }
  const value = Number(match[1]) * DURATION_UNITS_MS[match[2]];
  if ((value === 0 && !allowZero) || !Number.isSafeInteger(value)) {
    throw new ConfigError(variable, `must be a positive duration (got "${raw}")`);
  }
  return value;
}

function parseInteger(variable: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) {
    throw new ConfigError(variable, `must be a whole number between ${min} and ${max} (got "${raw}")`);
  }
  const value = Number(raw.trim());
  if (value < min || value > max) {
    throw new ConfigError(variable, `must be between ${min} and ${max} (got ${value})`);
  }
  return value;
}

export function parseRateLimits(raw: string | undefined): RateLimits | 'off' {
  const variable = 'RATE_LIMITS';
  if (raw !== undefined && raw.trim().toLowerCase() === 'off') return 'off';
  const limits: Record<string, RateLimitRule> = {};
  const entries = [DEFAULT_RATE_LIMITS, raw ?? '']
    .join(',')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const match = /^(\w+):(account|ip)=(?:(off)|(\d+)\/(\w+))$/.exec(entry);
    if (!match || !(RATE_LIMITED_OPERATIONS as readonly string[]).includes(match[1])) {
      throw new ConfigError(
        variable,
        `entry "${entry}" must look like login:account=5/15m (operations: ${RATE_LIMITED_OPERATIONS.join(', ')}; keys: account, ip), or be "off"`,
      );
    }
    const key = `${match[1]}:${match[2]}`;
    // A refresh token is its own credential: there is no account to count before verifying it.
    if (key === 'refreshToken:account') throw new ConfigError(variable, 'has no refreshToken:account limit (refreshToken:ip only)');
    if (match[3]) {
      delete limits[key];
      continue;
    }
    const max = parseInteger(variable, match[4], 1, 1_000_000);
    limits[key] = Object.freeze({ max, windowMs: parseDuration(variable, match[5]) });
  }
  return Object.freeze(limits);
}

function parseEmail(variable: string, raw: string): string {
  const email = raw.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || email.length > 254) {
    throw new ConfigError(variable, 'must be an email address');
  }
  return email;
}

function parseTrustProxy(raw: string | undefined): boolean | number | string {
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'false') return false;
  const value = raw.trim();
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return parseInteger('TRUST_PROXY', value, 0, 100);
  const known = ['loopback', 'linklocal', 'uniquelocal'];
  for (const part of value.split(',').map((s) => s.trim())) {
    const [address, prefix] = part.split('/');
    const addressOk = known.includes(part) || isIP(address ?? '') !== 0;
    const prefixOk = prefix === undefined || /^\d{1,3}$/.test(prefix);
    if (!addressOk || !prefixOk) {
      throw new ConfigError('TRUST_PROXY', `must be true, false, a hop count, or a list of addresses/subnets (got "${part}")`);
    }
  }
  return value;
}

function parseOrigins(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((origin) => {
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        throw new ConfigError('CORS_ORIGINS', `entry "${origin}" is not an origin such as https://app.example.com`);
      }
      if (origin === '*' || url.origin !== origin.replace(/\/$/, '')) {
        throw new ConfigError('CORS_ORIGINS', `entry "${origin}" is not an origin such as https://app.example.com`);
      }
      return url.origin;
    });
}

const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'RS256'];

/**
 * JWT_SIGNING_KEYS: a JSON array of `{ kid, alg, privateKey }` (PEM), newest first. The first key
 * signs new access tokens; every listed key still verifies tokens carrying its `kid`.
 */
export function parseSigningKeys(raw: string | undefined): readonly SigningKey[] {
  const variable = 'JWT_SIGNING_KEYS';
  if (raw === undefined || raw.trim() === '') return Object.freeze([]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(variable, 'must be a JSON array of { "kid", "alg", "privateKey" } objects (invalid JSON)');
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new ConfigError(variable, 'must be a non-empty JSON array of { "kid", "alg", "privateKey" } objects');
  }
  const seen = new Set<string>();
  const keys = parsed.map((entry: unknown, index): SigningKey => {
    const at = `entry ${index}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new ConfigError(variable, `${at} must be an object with kid, alg and privateKey`);
    }
    const { kid, alg, privateKey: pem } = entry as Record<string, unknown>;
    if (typeof kid !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(kid)) {
      throw new ConfigError(variable, `${at} needs a "kid" of 1 to 64 letters, digits or _.:-`);
    }
    if (seen.has(kid)) throw new ConfigError(variable, `has the kid "${kid}" more than once`);
    seen.add(kid);
    if (typeof alg !== 'string' || !(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new ConfigError(variable, `key "${kid}" needs "alg" ${SIGNING_ALGORITHMS.join(' or ')}`);
    }
    if (typeof pem !== 'string') throw new ConfigError(variable, `key "${kid}" needs "privateKey" as a PEM string`);
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: pem, format: 'pem' });
    } catch {
      throw new ConfigError(variable, `key "${kid}" has a "privateKey" that is not a readable PEM private key`);
    }
    const details = privateKey.asymmetricKeyDetails ?? {};
    if (alg === 'ES256' && (privateKey.asymmetricKeyType !== 'ec' || details.namedCurve !== 'prime256v1')) {
      throw new ConfigError(variable, `key "${kid}" must be an EC P-256 private key for ES256`);
    }
    if (alg === 'RS256' && (privateKey.asymmetricKeyType !== 'rsa' || (details.modulusLength ?? 0) < 2048)) {
      throw new ConfigError(variable, `key "${kid}" must be an RSA private key of at least 2048 bits for RS256`);
    }
    return Object.freeze({ kid, alg: alg as SigningAlgorithm, privateKey, publicKey: createPublicKey(privateKey) });
  });
  return Object.freeze(keys);
}

function secretFrom(variable: string, raw: string): Buffer {
  const secret = Buffer.from(raw, 'utf8');
  if (secret.length < 32) {
    throw new ConfigError(variable, `must be at least 32 bytes long (got ${secret.length})`);
  }
  return secret;
}

/**
 * Development convenience: secrets generated once and kept under DATA_DIR, so tokens
 * survive restarts without anyone copying secrets around. Never used in production.
 */
function developmentSecrets(dataDir: string): { access: string; refresh: string } {
  const file = path.join(dataDir, 'secrets.json');
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { access?: unknown; refresh?: unknown };
    if (typeof stored.access === 'string' && typeof stored.refresh === 'string') {
      return { access: stored.access, refresh: stored.refresh };
    }
    // Regenerating here would fail on the existing file (flag wx) with a bare EEXIST.
    throw new Error('it lacks the access or refresh secret');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError('DATA_DIR', `holds an unreadable secrets.json (${(error as Error).message}); delete it to regenerate`);
    }
  }
  const generated = { access: randomBytes(48).toString('base64url'), refresh: randomBytes(48).toString('base64url') };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(generated, null, 2), { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return generated;
}

/** Reads every variable once, validates it, and returns a frozen configuration. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const get = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value;
  };

  const nodeEnvRaw = get('NODE_ENV') ?? 'development';
  if (!['development', 'production', 'test'].includes(nodeEnvRaw)) {
    throw new ConfigError('NODE_ENV', `must be development, production or test (got "${nodeEnvRaw}")`);
  }
  const nodeEnv = nodeEnvRaw as NodeEnv;
  const isProduction = nodeEnv === 'production';

  const port = parseInteger('PORT', get('PORT') ?? '4000', 0, 65535);
  const host = get('HOST') ?? '127.0.0.1';
  if (isIP(host) === 0 && !/^[a-zA-Z0-9.-]+$/.test(host)) {
    throw new ConfigError('HOST', `must be an IP address or host name (got "${host}")`);
  }
  const dataDir = path.resolve(get('DATA_DIR') ?? '.data');

  const databaseUrl = get('DATABASE_URL');
  if (databaseUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(databaseUrl);
    } catch {
      url = undefined;
    }
    if (!url || !['postgres:', 'postgresql:'].includes(url.protocol) || url.pathname.length < 2) {
      throw new ConfigError('DATABASE_URL', 'must be a URL such as postgres://user:password@host:5432/dbname');
    }
  }
  const redisUrl = get('REDIS_URL');
  if (redisUrl !== undefined) {
    let ok: boolean;
    try {
      ok = ['redis:', 'rediss:'].includes(new URL(redisUrl).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new ConfigError('REDIS_URL', 'must be a URL such as redis://127.0.0.1:6379');
  }
  const redisKeyPrefix = get('REDIS_KEY_PREFIX') ?? 'graphql-auth-api:';
  if (!/^[\w:.-]{1,64}$/.test(redisKeyPrefix)) {
    throw new ConfigError('REDIS_KEY_PREFIX', 'must be 1 to 64 letters, digits or _:.-');
  }

  let accessRaw = get('JWT_ACCESS_SECRET');
  let refreshRaw = get('JWT_REFRESH_SECRET');
  if (accessRaw === undefined || refreshRaw === undefined) {
    if (isProduction) {
      throw new ConfigError(
        accessRaw === undefined ? 'JWT_ACCESS_SECRET' : 'JWT_REFRESH_SECRET',
        'must be set in production (at least 32 random bytes)',
      );
    }
    const generated = developmentSecrets(dataDir);
    accessRaw ??= generated.access;
    refreshRaw ??= generated.refresh;
  }
  const accessSecret = secretFrom('JWT_ACCESS_SECRET', accessRaw);
  const refreshSecret = secretFrom('JWT_REFRESH_SECRET', refreshRaw);
  if (accessSecret.equals(refreshSecret)) {
    throw new ConfigError('JWT_REFRESH_SECRET', 'must differ from JWT_ACCESS_SECRET');
  }

  const signingKeys = parseSigningKeys(get('JWT_SIGNING_KEYS'));

  const accessTokenTtlMs = parseDuration('ACCESS_TOKEN_TTL', get('ACCESS_TOKEN_TTL') ?? '15m');
  const refreshTokenTtlMs = parseDuration('REFRESH_TOKEN_TTL', get('REFRESH_TOKEN_TTL') ?? '7d');
  const refreshReuseGraceMs = parseDuration('REFRESH_REUSE_GRACE', get('REFRESH_REUSE_GRACE') ?? '10s', true);
  if (accessTokenTtlMs < 1000) throw new ConfigError('ACCESS_TOKEN_TTL', 'must be at least 1s');
  if (refreshTokenTtlMs <= accessTokenTtlMs) {
    throw new ConfigError('REFRESH_TOKEN_TTL', 'must be longer than ACCESS_TOKEN_TTL');
  }
  const bcryptCost = parseInteger('BCRYPT_COST', get('BCRYPT_COST') ?? '12', isProduction ? 10 : 4, 31);

  const adminEmail = get('BOOTSTRAP_ADMIN_EMAIL');
  const adminPassword = get('BOOTSTRAP_ADMIN_PASSWORD');
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError(
      adminEmail === undefined ? 'BOOTSTRAP_ADMIN_EMAIL' : 'BOOTSTRAP_ADMIN_PASSWORD',
      'must be set together with ' + (adminEmail === undefined ? 'BOOTSTRAP_ADMIN_PASSWORD' : 'BOOTSTRAP_ADMIN_EMAIL'),
    );
  }
  const adminPasswordProblem = adminPassword === undefined ? null : passwordProblem(adminPassword, { email: adminEmail });
  if (adminPasswordProblem) throw new ConfigError('BOOTSTRAP_ADMIN_PASSWORD', adminPasswordProblem);
  const bootstrapAdmin =
    adminEmail !== undefined && adminPassword !== undefined
      ? Object.freeze({ email: parseEmail('BOOTSTRAP_ADMIN_EMAIL', adminEmail), password: adminPassword })
      : undefined;

  const corsRaw = get('CORS_ORIGINS');
  const corsOrigins = corsRaw !== undefined ? parseOrigins(corsRaw) : isProduction ? [] : DEVELOPMENT_CORS_ORIGINS;

  const logLevel = get('LOG_LEVEL') ?? (nodeEnv === 'test' ? 'silent' : 'info');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of fatal, error, warn, info, debug, trace, silent (got "${logLevel}")`);
  }
  const logFormat = get('LOG_FORMAT') ?? (nodeEnv === 'development' ? 'pretty' : 'json');
  if (logFormat !== 'json' && logFormat !== 'pretty') {
    throw new ConfigError('LOG_FORMAT', `must be json or pretty (got "${logFormat}")`);
  }
  const shutdownGraceMs = parseDuration('SHUTDOWN_GRACE', get('SHUTDOWN_GRACE') ?? '10s');

  return Object.freeze({
    nodeEnv,
    isProduction,
    port,
    host,
    dataDir,
    databaseUrl,
    redisUrl,
    redisKeyPrefix,
    jwt: Object.freeze({
      accessSecret,
      refreshSecret,
      issuer: get('JWT_ISSUER') ?? 'graphql-auth-api',
      audience: get('JWT_AUDIENCE') ?? 'graphql-auth-api',
      signingKeys,
    }),
    accessTokenTtlMs,
    refreshTokenTtlMs,
    refreshReuseGraceMs,
    bcryptCost,
    rateLimits: parseRateLimits(get('RATE_LIMITS')),
    bootstrapAdmin,
    corsOrigins: Object.freeze([...corsOrigins]),
    trustProxy: parseTrustProxy(get('TRUST_PROXY')),
    logLevel,
    logFormat,
    shutdownGraceMs,
  });
}
