import { hkdfSync } from 'node:crypto';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { passwordProblem } from '../credentials/password.policy';
import { normalizeEmail, isValidEmail } from '../validation/email';
import { checkPrivate } from './data-dir';
import { ephemeralSecrets, readDevelopmentSecrets } from './development-secrets';
import {
  ConfigError,
  likelyMeant,
  parseChoice,
  parseDuration,
  parseInteger,
  parseOrigins,
  parseSecret,
  parseTrustProxy,
  parseUrl,
} from './env';
import { parseMetrics, parseTracing, type MetricsConfig, type TracingConfig } from './metrics';
import { parseRateLimits, type RateLimits } from './rate-limit-rules';
import { parseSigningKeys, type SigningKey } from './signing-keys';

export { ConfigError } from './env';

export type NodeEnv = 'development' | 'production' | 'test';
export type ExplorerMode = 'sandbox' | 'graphiql' | 'off';

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly isProduction: boolean;
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** Unset: the embedded PGlite database under `dataDir`. */
  readonly databaseUrl: string | undefined;
  /**
   * The deadline of every statement on a PostgreSQL server (statement_timeout, lock_timeout), with
   * a client-side deadline a little longer for a server that does not answer at all. Not applied
   * to migrations.
   */
  readonly databaseStatementTimeoutMs: number;
  /**
   * On a PostgreSQL server, the query that reads the viewer of every request is a named prepared
   * statement on each pooled connection. `false`: sent unnamed, for a pooler in transaction mode
   * that cannot keep prepared statements (PgBouncer before 1.21, or without max_prepared_statements).
   */
  readonly databasePreparedStatements: boolean;
  /**
   * The embedded database fsyncs its WAL at each commit (PGlite alone never does). `false`: faster,
   * and a power loss may take back acknowledged commits; for throwaway databases only.
   */
  readonly embeddedFsync: boolean;
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
    /**
     * Where the HS256 secrets came from. `ephemeral`: development without secrets and without
     * DATA_DIR/secrets.json yet; fine for tools that issue no token, while the server first
     * stores secrets (ensureDevelopmentSecrets) and loads the configuration again.
     */
    readonly secretsSource: 'environment' | 'data-dir' | 'ephemeral';
  };
  readonly accessTokenTtlMs: number;
  readonly refreshTokenTtlMs: number;
  readonly refreshReuseGraceMs: number;
  /** Live sessions a user may have; a login beyond it ends the oldest. */
  readonly maxSessionsPerUser: number;
  /** How often ended sessions are purged. */
  readonly sessionPurgeIntervalMs: number;
  /** How long an ended (revoked or expired) session is kept before it is purged. */
  readonly sessionRetentionMs: number;
  readonly bcryptCost: number;
  /** Admission to password hashing (bcrypt on worker threads), the work an attacker can pile up cheapest. */
  readonly passwordHashing: {
    /** Worker threads: hashes that run at once. */
    readonly threads: number;
    /** Hashes that may wait for a thread; beyond them a request is refused at once with SERVICE_UNAVAILABLE. */
    readonly queueMax: number;
    /** How long a hash may wait for a thread before its request is refused with SERVICE_UNAVAILABLE. */
    readonly queueTimeoutMs: number;
  };
  /** Requests handled at once (probes excepted); beyond them 503 at once. 0: no cap. */
  readonly maxRequestsInFlight: number;
  /** GRAPHQL_JIT: queries Apollo has seen before run compiled by graphql-jit (default true). */
  readonly graphqlJit: boolean;
  readonly rateLimits: RateLimits | 'off';
  /** IPv6 clients count in rate limits by this prefix length (RATE_LIMIT_IPV6_PREFIX, default 64). */
  readonly rateLimitIpv6Prefix: number;
  /**
   * Second factors: the key that encrypts TOTP secrets at rest (MFA_ENCRYPTION_KEY; in development
   * derived from the refresh secret when unset) and the issuer name authenticator apps show.
   */
  readonly mfa: { readonly encryptionKey: Buffer; readonly issuer: string };
  /**
   * The WebAuthn relying party of passkeys: its id (a registrable domain), name and the origins
   * allowed to use it. Undefined: passkeys are off (production without WEBAUTHN_RP_ID).
   */
  readonly webauthn: { readonly rpId: string; readonly rpName: string; readonly origins: readonly string[] } | undefined;
  readonly bootstrapAdmin: { readonly email: string; readonly password: string } | undefined;
  readonly corsOrigins: readonly string[];
  /** Express `trust proxy` value; `false` means the socket address is the client IP. */
  readonly trustProxy: boolean | number | string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** `pretty`: human-readable lines (pino-pretty), the development default; `json`: one JSON object per line. */
  readonly logFormat: 'json' | 'pretty';
  /**
   * On SIGTERM/SIGINT, how long the listener keeps accepting (readiness already failing) so that
   * a load balancer can take the instance out of rotation before connections are refused.
   */
  readonly shutdownDelayMs: number;
  /**
   * Once the listener has closed, how long requests in flight may take to finish; connections
   * still open then are closed, and the process exits non-zero once the pools are closed.
   */
  readonly shutdownGraceMs: number;
  /** Node's HTTP server limits against slow and idle clients (slowloris, stalled bodies). */
  readonly http: {
    /** A request's headers must arrive within this; otherwise 408 and the connection closes. */
    readonly headersTimeoutMs: number;
    /** A whole request (headers and body) must arrive within this; otherwise 408. */
    readonly requestTimeoutMs: number;
    /** An idle keep-alive connection is closed after this. */
    readonly keepAliveTimeoutMs: number;
    /** Connections beyond this many are closed as soon as they are accepted; 0: no cap. */
    readonly maxConnections: number;
  };
  /** Where links in mail point: the client app. */
  readonly appUrl: string;
  /** `log`: messages are written to the log instead of sent. Otherwise an smtp:// or smtps:// URL. */
  readonly smtpUrl: string;
  readonly mailFrom: string;
  readonly passwordResetTtlMs: number;
  readonly emailVerificationTtlMs: number;
  /** No tokens until the account's email is verified. */
  readonly requireEmailVerification: boolean;
  readonly mailPollIntervalMs: number;
  readonly mailRetryDelayMs: number;
  readonly mailMaxAttempts: number;
  /**
   * The page a browser gets on GET /graphql (EXPLORER): `sandbox`, Apollo Sandbox from Apollo's CDN
   * falling back to the bundled GraphiQL when the CDN does not answer (the default outside
   * production); `graphiql`, the bundled GraphiQL only; `off`, no page (the production default).
   */
  readonly explorer: ExplorerMode;
  /** `GET /metrics`: METRICS_TOKEN, METRICS_PORT (src/config/metrics.ts). */
  readonly metrics: MetricsConfig;
  /** OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME; undefined: no tracing, nothing of OpenTelemetry loaded. */
  readonly tracing: TracingConfig | undefined;
  /** Problems worth a log line at start-up (outside production; in production they stop start-up). */
  readonly warnings: readonly string[];
}

const DEVELOPMENT_CORS_ORIGINS = [
  'http://localhost:3000',
  'http://localhost:4000',
  'http://localhost:5173',
  'http://127.0.0.1:3000',
  'http://127.0.0.1:4000',
  'http://127.0.0.1:5173',
  'https://studio.apollographql.com',
];

/**
 * Development: `localhost` with the local origins (Vite's 5173, the API's own 4000, 3000). Production:
 * passkeys only when WEBAUTHN_RP_ID is set, with WEBAUTHN_ORIGINS (https, within the RP id's domain).
 */
function parseWebauthn(
  rpIdRaw: string | undefined,
  rpNameRaw: string | undefined,
  originsRaw: string | undefined,
  isProduction: boolean,
): Config['webauthn'] {
  if (rpIdRaw === undefined && isProduction) {
    if (originsRaw !== undefined) throw new ConfigError('WEBAUTHN_RP_ID', 'must be set when WEBAUTHN_ORIGINS is');
    return undefined;
  }
  const rpId = (rpIdRaw ?? 'localhost').toLowerCase();
  if (!/^(?=.{1,253}$)[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(rpId)) {
    throw new ConfigError('WEBAUTHN_RP_ID', `must be a domain name such as example.com, without scheme or port (got "${rpId}")`);
  }
  const rpName = rpNameRaw ?? 'graphql-auth-api';
  if (rpName.length < 1 || rpName.length > 64) throw new ConfigError('WEBAUTHN_RP_NAME', 'must be 1 to 64 characters');
  if (originsRaw === undefined && isProduction)
    throw new ConfigError('WEBAUTHN_ORIGINS', 'must be set in production when WEBAUTHN_RP_ID is');
  const origins =
    originsRaw === undefined
      ? DEVELOPMENT_CORS_ORIGINS.filter((origin) => origin.startsWith('http://'))
      : parseOrigins('WEBAUTHN_ORIGINS', originsRaw);
  if (origins.length === 0) throw new ConfigError('WEBAUTHN_ORIGINS', 'must name at least one origin');
  for (const origin of origins) {
    const { hostname, protocol } = new URL(origin);
    const local = hostname === 'localhost' || hostname === '127.0.0.1';
    if (isProduction && protocol !== 'https:') throw new ConfigError('WEBAUTHN_ORIGINS', `entry "${origin}" must be https in production`);
    if (!local && hostname !== rpId && !hostname.endsWith(`.${rpId}`)) {
      throw new ConfigError('WEBAUTHN_ORIGINS', `entry "${origin}" is not within WEBAUTHN_RP_ID (${rpId})`);
    }
  }
  return Object.freeze({ rpId, rpName, origins: Object.freeze(origins) });
}

/** After SHUTDOWN_GRACE, how long closing the pools may take before the process exits anyway. */
export const POOL_CLOSE_MS = 5000;

/** Two tabs racing need a few seconds at most. */
const MAX_REFRESH_REUSE_GRACE_MS = 60_000;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Reads every variable once, validates it, and returns a frozen configuration. Writes nothing. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  /** Every variable this configuration reads, so a misspelt one can be told apart. */
  const read = new Set<string>();
  const get = (name: string): string | undefined => {
    read.add(name);
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value;
  };

  const nodeEnv = parseChoice<NodeEnv>('NODE_ENV', get('NODE_ENV') ?? 'development', ['development', 'production', 'test']);
  const isProduction = nodeEnv === 'production';

  const port = parseInteger('PORT', get('PORT') ?? '4000', 0, 65535);
  const host = get('HOST') ?? '127.0.0.1';
  if (isIP(host) === 0 && !/^[a-zA-Z0-9.-]+$/.test(host)) {
    throw new ConfigError('HOST', `must be an IP address or host name (got "${host}")`);
  }
  const dataDir = path.resolve(get('DATA_DIR') ?? '.data');

  const databaseUrl = get('DATABASE_URL');
  if (databaseUrl !== undefined) {
    const example = 'postgres://user:password@host:5432/dbname';
    if (parseUrl('DATABASE_URL', databaseUrl, ['postgres:', 'postgresql:'], example).pathname.length < 2) {
      throw new ConfigError('DATABASE_URL', `must be a URL such as ${example}`);
    }
  }
  const databaseStatementTimeoutMs = parseDuration('DATABASE_STATEMENT_TIMEOUT', get('DATABASE_STATEMENT_TIMEOUT') ?? '5s');
  if (databaseStatementTimeoutMs < 100) throw new ConfigError('DATABASE_STATEMENT_TIMEOUT', 'must be at least 100ms');
  const databasePreparedStatements =
    parseChoice('DATABASE_PREPARED_STATEMENTS', get('DATABASE_PREPARED_STATEMENTS') ?? 'true', ['true', 'false']) === 'true';
  const embeddedFsync = parseChoice('EMBEDDED_DATABASE_FSYNC', get('EMBEDDED_DATABASE_FSYNC') ?? 'true', ['true', 'false']) === 'true';
  if (!embeddedFsync && isProduction && databaseUrl === undefined) {
    throw new ConfigError('EMBEDDED_DATABASE_FSYNC', 'may not be false in production: a power loss would take back acknowledged commits');
  }
  const redisUrl = get('REDIS_URL');
  if (redisUrl !== undefined) parseUrl('REDIS_URL', redisUrl, ['redis:', 'rediss:'], 'redis://127.0.0.1:6379');
  const redisKeyPrefix = get('REDIS_KEY_PREFIX') ?? 'graphql-auth-api:';
  if (!/^[\w:.-]{1,64}$/.test(redisKeyPrefix)) {
    throw new ConfigError('REDIS_KEY_PREFIX', 'must be 1 to 64 letters, digits or _:.-');
  }

  // DATA_DIR is used for the embedded database, and outside production for the generated secrets.
  if (databaseUrl === undefined || !isProduction) checkPrivate(dataDir, 'directory');

  let accessRaw = get('JWT_ACCESS_SECRET');
  let refreshRaw = get('JWT_REFRESH_SECRET');
  let secretsSource: Config['jwt']['secretsSource'] = 'environment';
  if (accessRaw === undefined || refreshRaw === undefined) {
    if (isProduction) {
      throw new ConfigError(
        accessRaw === undefined ? 'JWT_ACCESS_SECRET' : 'JWT_REFRESH_SECRET',
        'must be set in production (at least 32 random bytes)',
      );
    }
    const stored = readDevelopmentSecrets(dataDir);
    secretsSource = stored ? 'data-dir' : 'ephemeral';
    const secrets = stored ?? ephemeralSecrets();
    accessRaw ??= secrets.access;
    refreshRaw ??= secrets.refresh;
  }
  const accessSecret = parseSecret('JWT_ACCESS_SECRET', accessRaw);
  const refreshSecret = parseSecret('JWT_REFRESH_SECRET', refreshRaw);
  if (accessSecret.equals(refreshSecret)) {
    throw new ConfigError('JWT_REFRESH_SECRET', 'must differ from JWT_ACCESS_SECRET');
  }

  const signingKeys = parseSigningKeys(get('JWT_SIGNING_KEYS'));

  const mfaKeyRaw = get('MFA_ENCRYPTION_KEY');
  if (mfaKeyRaw === undefined && isProduction) {
    throw new ConfigError('MFA_ENCRYPTION_KEY', 'must be set in production (at least 32 random bytes): it encrypts TOTP secrets at rest');
  }
  // Development: a key of its own, derived from the refresh secret kept under DATA_DIR.
  const mfaEncryptionKey =
    mfaKeyRaw === undefined
      ? Buffer.from(hkdfSync('sha256', refreshSecret, Buffer.alloc(0), 'graphql-auth-api/mfa-encryption/v1', 32))
      : parseSecret('MFA_ENCRYPTION_KEY', mfaKeyRaw);
  if (mfaKeyRaw !== undefined && (mfaEncryptionKey.equals(accessSecret) || mfaEncryptionKey.equals(refreshSecret))) {
    throw new ConfigError('MFA_ENCRYPTION_KEY', 'must differ from the JWT secrets');
  }
  const webauthn = parseWebauthn(get('WEBAUTHN_RP_ID'), get('WEBAUTHN_RP_NAME'), get('WEBAUTHN_ORIGINS'), isProduction);
  const mfaIssuer = get('MFA_ISSUER') ?? 'graphql-auth-api';
  if (!/^[^:]{1,64}$/.test(mfaIssuer)) throw new ConfigError('MFA_ISSUER', 'must be 1 to 64 characters without a colon');

  const accessTokenTtlMs = parseDuration('ACCESS_TOKEN_TTL', get('ACCESS_TOKEN_TTL') ?? '15m');
  const refreshTokenTtlMs = parseDuration('REFRESH_TOKEN_TTL', get('REFRESH_TOKEN_TTL') ?? '7d');
  const refreshReuseGraceMs = parseDuration('REFRESH_REUSE_GRACE', get('REFRESH_REUSE_GRACE') ?? '10s', true);
  if (accessTokenTtlMs < 1000) throw new ConfigError('ACCESS_TOKEN_TTL', 'must be at least 1s');
  if (refreshReuseGraceMs > MAX_REFRESH_REUSE_GRACE_MS) {
    throw new ConfigError('REFRESH_REUSE_GRACE', 'must be at most 60s: a longer window lets a stolen refresh token be replayed longer');
  }
  if (refreshTokenTtlMs <= accessTokenTtlMs) {
    throw new ConfigError('REFRESH_TOKEN_TTL', 'must be longer than ACCESS_TOKEN_TTL');
  }
  const maxSessionsPerUser = parseInteger('MAX_SESSIONS_PER_USER', get('MAX_SESSIONS_PER_USER') ?? '50', 1, 10_000);
  const sessionPurgeIntervalMs = parseDuration('SESSION_PURGE_INTERVAL', get('SESSION_PURGE_INTERVAL') ?? '1h');
  const sessionRetentionMs = parseDuration('SESSION_RETENTION', get('SESSION_RETENTION') ?? '1d', true);
  const bcryptCost = parseInteger('BCRYPT_COST', get('BCRYPT_COST') ?? '12', isProduction ? 10 : 4, 31);
  const passwordHashing = Object.freeze({
    threads: parseInteger('PASSWORD_HASH_THREADS', get('PASSWORD_HASH_THREADS') ?? String(availableParallelism()), 1, 256),
    queueMax: parseInteger('PASSWORD_HASH_QUEUE_MAX', get('PASSWORD_HASH_QUEUE_MAX') ?? '64', 0, 100_000),
    queueTimeoutMs: parseDuration('PASSWORD_HASH_QUEUE_TIMEOUT', get('PASSWORD_HASH_QUEUE_TIMEOUT') ?? '5s'),
  });
  const maxRequestsInFlight = parseInteger('MAX_REQUESTS_IN_FLIGHT', get('MAX_REQUESTS_IN_FLIGHT') ?? '128', 0, 1_000_000);
  const graphqlJit = parseChoice('GRAPHQL_JIT', get('GRAPHQL_JIT') ?? 'true', ['true', 'false']) === 'true';

  const adminEmail = get('BOOTSTRAP_ADMIN_EMAIL');
  const adminPassword = get('BOOTSTRAP_ADMIN_PASSWORD');
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError(
      adminEmail === undefined ? 'BOOTSTRAP_ADMIN_EMAIL' : 'BOOTSTRAP_ADMIN_PASSWORD',
      'must be set together with ' + (adminEmail === undefined ? 'BOOTSTRAP_ADMIN_PASSWORD' : 'BOOTSTRAP_ADMIN_EMAIL'),
    );
  }
  let bootstrapAdmin: Config['bootstrapAdmin'];
  if (adminEmail !== undefined && adminPassword !== undefined) {
    if (!isValidEmail(adminEmail)) throw new ConfigError('BOOTSTRAP_ADMIN_EMAIL', 'must be an email address');
    const problem = passwordProblem(adminPassword, { email: adminEmail });
    if (problem) throw new ConfigError('BOOTSTRAP_ADMIN_PASSWORD', problem);
    bootstrapAdmin = Object.freeze({ email: normalizeEmail(adminEmail), password: adminPassword });
  }

  const explorer = parseChoice<ExplorerMode>('EXPLORER', get('EXPLORER') ?? (isProduction ? 'off' : 'sandbox'), [
    'sandbox',
    'graphiql',
    'off',
  ]);
  if (explorer === 'sandbox' && isProduction) {
    throw new ConfigError(
      'EXPLORER',
      'may not be sandbox in production (introspection is off and Sandbox loads its code from Apollo’s CDN): use graphiql or off',
    );
  }

  const corsRaw = get('CORS_ORIGINS');
  const corsOrigins = corsRaw !== undefined ? parseOrigins('CORS_ORIGINS', corsRaw) : isProduction ? [] : DEVELOPMENT_CORS_ORIGINS;

  const logLevel = parseChoice('LOG_LEVEL', get('LOG_LEVEL') ?? (nodeEnv === 'test' ? 'silent' : 'info'), LOG_LEVELS);
  const logFormat = parseChoice('LOG_FORMAT', get('LOG_FORMAT') ?? (nodeEnv === 'development' ? 'pretty' : 'json'), [
    'json',
    'pretty',
  ] as const);
  const shutdownDelayMs = parseDuration('SHUTDOWN_DELAY', get('SHUTDOWN_DELAY') ?? '5s', true);
  const shutdownGraceMs = parseDuration('SHUTDOWN_GRACE', get('SHUTDOWN_GRACE') ?? '10s');
  const headersTimeoutMs = parseDuration('HTTP_HEADERS_TIMEOUT', get('HTTP_HEADERS_TIMEOUT') ?? '10s');
  const requestTimeoutMs = parseDuration('HTTP_REQUEST_TIMEOUT', get('HTTP_REQUEST_TIMEOUT') ?? '15s');
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError('HTTP_HEADERS_TIMEOUT', 'must not be longer than HTTP_REQUEST_TIMEOUT (the headers are part of the request)');
  }
  const keepAliveTimeoutMs = parseDuration('HTTP_KEEP_ALIVE_TIMEOUT', get('HTTP_KEEP_ALIVE_TIMEOUT') ?? '5s');
  const maxConnections = parseInteger('HTTP_MAX_CONNECTIONS', get('HTTP_MAX_CONNECTIONS') ?? '900', 0, 1_000_000);

  const appUrlRaw = get('APP_URL');
  if (appUrlRaw === undefined && isProduction) throw new ConfigError('APP_URL', 'must be set in production: links in mail point there');
  const appUrl = parseUrl('APP_URL', appUrlRaw ?? 'http://localhost:5173', ['http:', 'https:'], 'https://app.example.com').toString();
  const smtpRaw = get('SMTP_URL');
  if (smtpRaw === undefined && isProduction) {
    throw new ConfigError(
      'SMTP_URL',
      'must be set in production (smtp://user:pass@host:587, smtps://..., or log to write mail to the log on purpose)',
    );
  }
  const smtpUrl =
    smtpRaw === undefined || smtpRaw.trim() === 'log'
      ? 'log'
      : parseUrl('SMTP_URL', smtpRaw, ['smtp:', 'smtps:'], 'smtp://user:pass@host:587').toString();
  const mailFromRaw = get('MAIL_FROM');
  if (mailFromRaw === undefined && isProduction) throw new ConfigError('MAIL_FROM', 'must be set in production (the sender address)');
  const mailFrom = (mailFromRaw ?? 'no-reply@localhost').trim();
  if (!/^[^\s@<>]+@[^\s@<>]+$/.test(mailFrom)) throw new ConfigError('MAIL_FROM', `must be an email address (got "${mailFrom}")`);
  const passwordResetTtlMs = parseDuration('PASSWORD_RESET_TTL', get('PASSWORD_RESET_TTL') ?? '1h');
  const emailVerificationTtlMs = parseDuration('EMAIL_VERIFICATION_TTL', get('EMAIL_VERIFICATION_TTL') ?? '24h');
  const requireEmailVerification =
    parseChoice('REQUIRE_EMAIL_VERIFICATION', get('REQUIRE_EMAIL_VERIFICATION') ?? 'false', ['true', 'false']) === 'true';
  const mailPollIntervalMs = parseDuration('MAIL_POLL_INTERVAL', get('MAIL_POLL_INTERVAL') ?? '1s');
  const mailRetryDelayMs = parseDuration('MAIL_RETRY_DELAY', get('MAIL_RETRY_DELAY') ?? '30s');
  const mailMaxAttempts = parseInteger('MAIL_MAX_ATTEMPTS', get('MAIL_MAX_ATTEMPTS') ?? '8', 1, 100);

  const jwtIssuer = get('JWT_ISSUER') ?? 'graphql-auth-api';
  const jwtAudience = get('JWT_AUDIENCE') ?? 'graphql-auth-api';
  const trustProxy = parseTrustProxy(get('TRUST_PROXY'));
  const rateLimits = parseRateLimits(get('RATE_LIMITS'));
  const rateLimitIpv6Prefix = parseInteger('RATE_LIMIT_IPV6_PREFIX', get('RATE_LIMIT_IPV6_PREFIX') ?? '64', 16, 128);
  const tracing = parseTracing(get('OTEL_EXPORTER_OTLP_ENDPOINT'), get('OTEL_SERVICE_NAME'));
  const metrics = parseMetrics(get('METRICS_TOKEN'), get('METRICS_PORT'), port, [accessSecret, refreshSecret, mfaEncryptionKey]);

  // A misspelt variable would be ignored silently and its default would apply.
  const warnings: string[] = [];
  for (const name of Object.keys(env)) {
    const meant = likelyMeant(name, read);
    if (meant === undefined) continue;
    if (isProduction) throw new ConfigError(name, `is not a variable this service reads; did you mean ${meant}?`);
    warnings.push(`${name} is not a variable this service reads; did you mean ${meant}? (its default applies)`);
  }

  return Object.freeze({
    nodeEnv,
    isProduction,
    port,
    host,
    dataDir,
    databaseUrl,
    databaseStatementTimeoutMs,
    databasePreparedStatements,
    embeddedFsync,
    redisUrl,
    redisKeyPrefix,
    jwt: Object.freeze({
      accessSecret,
      refreshSecret,
      issuer: jwtIssuer,
      audience: jwtAudience,
      signingKeys,
      secretsSource,
    }),
    accessTokenTtlMs,
    refreshTokenTtlMs,
    refreshReuseGraceMs,
    maxSessionsPerUser,
    sessionPurgeIntervalMs,
    sessionRetentionMs,
    bcryptCost,
    passwordHashing,
    maxRequestsInFlight,
    graphqlJit,
    rateLimits,
    rateLimitIpv6Prefix,
    mfa: Object.freeze({ encryptionKey: mfaEncryptionKey, issuer: mfaIssuer }),
    webauthn,
    bootstrapAdmin,
    corsOrigins: Object.freeze([...corsOrigins]),
    trustProxy,
    logLevel,
    logFormat,
    shutdownDelayMs,
    shutdownGraceMs,
    http: Object.freeze({ headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxConnections }),
    appUrl,
    smtpUrl,
    mailFrom,
    passwordResetTtlMs,
    emailVerificationTtlMs,
    requireEmailVerification,
    mailPollIntervalMs,
    mailRetryDelayMs,
    mailMaxAttempts,
    explorer,
    metrics,
    tracing,
    warnings: Object.freeze(warnings),
  });
}
