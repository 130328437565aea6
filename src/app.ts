import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import express from 'express';
import type http from 'node:http';
import { AdminResolver } from './admin/admin.resolver';
import { AdminService } from './admin/admin.service';
import { AuditResolver } from './audit/audit.resolver';
import { AuditService } from './audit/audit.service';
import { AuthResolver } from './auth/auth.resolver';
import { AuthService } from './auth/auth.service';
import { RecoveryResolver } from './auth/recovery.resolver';
import { RecoveryService } from './auth/recovery.service';
import { AuthConfigResolver } from './auth/auth-config.resolver';
import { PasskeyFlows } from './auth/passkey-flows.service';
import { PasskeyResolver } from './auth/passkey.resolver';
import { SecondFactorResolver } from './auth/second-factor.resolver';
import { SecondFactorService } from './auth/second-factor.service';
import { AccountTokenService } from './account-tokens/account-token.service';
import type { Config } from './config/config';
import { ServiceContainer } from './container';
import { contextBuilder, type Context } from './context';
import { PasswordHasher } from './credentials/password.hasher';
import { SecretBox } from './credentials/secret-box';
import { TokenCodec } from './credentials/token.codec';
import { openDatabase, type Orm } from './db/orm';
import { compiledExecutionPlugin } from './graphql/compiled-execution.plugin';
import { documentStore } from './graphql/document-store';
import { errorLoggingPlugin } from './graphql/error-logging.plugin';
import { formatError } from './graphql/format-error';
import { OperationsInFlight } from './graphql/operations-in-flight.plugin';
import { overloadStatusPlugin } from './graphql/overload-status.plugin';
import { graphqlLimits } from './graphql/limits';
import { operationLabel, RequestMetrics } from './graphql/request-metrics.plugin';
import { ReusedQueries } from './graphql/reused-queries';
import { apolloHandler } from './http/apollo-express';
import { accessLog } from './http/access-log';
import { chain } from './http/chain';
import { corsAllowlist } from './http/cors';
import { directiveGuard } from './http/directive-guard';
import { HttpDrain } from './http/drain';
import { httpErrors } from './http/error-middleware';
import { explorerRoutes, readExplorerBundle } from './http/explorer';
import { createHttpServer } from './http/http-server';
import { closeMetricsServer, createMetricsServer, metricsEnabled, metricsOnApiPort } from './http/metrics-endpoint';
import { probes } from './http/probes';
import { requestIds } from './http/request-id';
import { requestsInFlight } from './http/requests-in-flight';
import { securityHeaders } from './http/security-headers';
import { createLogger, type Logger } from './logger';
import { LogMailer, SmtpMailer, type Mailer } from './mail/mailer';
import { OutboxKind } from './mail/outbox-message.entity';
import { OutboxService } from './mail/outbox.service';
import { OutboxWorker } from './mail/outbox.worker';
import { Metrics, postgresPool } from './metrics/metrics';
import { MfaService } from './mfa/mfa.service';
import { PasskeyService } from './passkeys/passkey.service';
import { RateLimitMiddleware } from './rate-limits/rate-limited.decorator';
import { createRateLimiter, type RateLimiter } from './rate-limits/rate-limiter';
import { buildAppSchema } from './schema';
import { startTracing } from './tracing/request-tracing';
import { SessionPurge } from './sessions/session-purge';
import { SessionResolver } from './sessions/session.resolver';
import { SessionService } from './sessions/session.service';
import { ViewerReader } from './sessions/viewer';
import { UserResolver } from './users/user.resolver';
import { UserService } from './users/user.service';

/** The services createApp wired, for the CLI-like set-up that tests do beside the API. */
export interface Services {
  readonly auth: AuthService;
  readonly secondFactors: SecondFactorService;
  readonly passkeys: PasskeyFlows;
  readonly admin: AdminService;
  readonly users: UserService;
  readonly sessions: SessionService;
  readonly tokens: TokenCodec;
  readonly audit: AuditService;
  readonly rateLimits: RateLimiter;
  readonly recovery: RecoveryService;
  readonly outbox: OutboxService;
}

export interface App {
  readonly httpServer: http.Server;
  /** The listener of METRICS_PORT, not listening yet (main.ts listens); undefined without METRICS_PORT. */
  readonly metricsServer: http.Server | undefined;
  readonly services: Services;
  readonly orm: Orm;
  readonly logger: Logger;
  /**
   * Shutdown's first step, `drain.begin()`, fails readiness and closes connections after their
   * response while the listener still accepts; `drain.timedOut` tells whether `stop` had to cut
   * connections off.
   */
  readonly drain: HttpDrain;
  /**
   * Stops accepting connections, closes idle ones, answers every request whose bytes arrived
   * (connections still open after SHUTDOWN_GRACE are closed), then closes the pools.
   */
  stop(): Promise<void>;
}

const BODY_LIMIT = '100kb';

/** Every service, built once; each gets its collaborators here and nowhere else. */
function wireServices(config: Config, passwords: PasswordHasher, rateLimits: RateLimiter): Services {
  const tokens = new TokenCodec(config);
  const audit = new AuditService();
  const users = new UserService(passwords);
  const sessions = new SessionService(tokens, config, audit);
  const outbox = new OutboxService();
  const mfa = new MfaService(new SecretBox(config.mfa.encryptionKey), config.mfa.issuer);
  const passkeys = config.webauthn ? new PasskeyService(config.webauthn) : undefined;
  const recovery = new RecoveryService(users, sessions, new AccountTokenService(), outbox, passwords, audit, mfa, config);
  return {
    auth: new AuthService(users, sessions, passwords, tokens, audit, recovery, mfa, config),
    secondFactors: new SecondFactorService(users, mfa, audit),
    admin: new AdminService(users, sessions, audit, mfa, passkeys),
    passkeys: new PasskeyFlows(passkeys, users, sessions, audit),
    users,
    sessions,
    tokens,
    audit,
    rateLimits,
    recovery,
    outbox,
  };
}

/** SMTP when SMTP_URL is set; otherwise (development, or SMTP_URL=log on purpose) the log. */
function createMailer(config: Config, logger: Logger): Mailer {
  return config.smtpUrl === 'log' ? new LogMailer(config.mailFrom, logger) : new SmtpMailer(config.smtpUrl, config.mailFrom);
}

/** type-graphql's container: the one instance of each resolver and middleware class. */
function containerOf(services: Services, config: Config): ServiceContainer {
  return new ServiceContainer()
    .set(AuthConfigResolver, new AuthConfigResolver(config))
    .set(AuthResolver, new AuthResolver(services.auth))
    .set(SecondFactorResolver, new SecondFactorResolver(services.secondFactors, services.auth))
    .set(PasskeyResolver, new PasskeyResolver(services.passkeys))
    .set(RecoveryResolver, new RecoveryResolver(services.recovery))
    .set(UserResolver, new UserResolver(services.users))
    .set(AdminResolver, new AdminResolver(services.admin))
    .set(SessionResolver, new SessionResolver(services.sessions))
    .set(AuditResolver, new AuditResolver(services.audit))
    .set(RateLimitMiddleware, new RateLimitMiddleware(services.rateLimits));
}

/**
 * Builds the whole service (database, migrations, schema, Express and Apollo) without
 * listening, so `main` and the tests decide where it listens (`options.httpServer`: a server
 * already listening, which this app then serves).
 */
export async function createApp(
  config: Config,
  logger: Logger = createLogger(config),
  options: { readonly httpServer?: http.Server } = {},
): Promise<App> {
  // Before anything opens: a missing bundle stops start-up with nothing to clean up.
  const explorer = config.explorer === 'off' ? undefined : readExplorerBundle(config.explorer);
  const orm = await openDatabase(config, logger);
  // Off (no collection at all) unless METRICS_TOKEN or METRICS_PORT says where to serve them.
  const metrics = metricsEnabled(config) ? new Metrics(logger) : undefined;
  const passwords = new PasswordHasher(config.bcryptCost, config.passwordHashing, logger, metrics?.hashing);
  let rateLimits: RateLimiter | undefined;
  try {
    // Loads OpenTelemetry only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    const tracing = await startTracing(config.tracing, logger);
    rateLimits = await createRateLimiter(config, logger, metrics?.rateLimits);
    const services = wireServices(config, passwords, rateLimits);
    metrics?.watch({ hashing: passwords, outboxBacklog: () => services.outbox.backlog(orm.em.fork()), pool: () => postgresPool(orm) });

    if (config.bootstrapAdmin) {
      const outcome = await services.users.ensureAdmin(orm.em.fork(), config.bootstrapAdmin);
      logger.info({ email: config.bootstrapAdmin.email, outcome }, 'bootstrap admin checked');
    }

    const purge = new SessionPurge(() => orm.em.fork(), services.sessions, config, logger);
    purge.start();
    const delivery = new OutboxWorker(
      () => orm.em.fork(),
      services.outbox,
      createMailer(config, logger),
      { [OutboxKind.PASSWORD_RESET_REQUEST]: (tx, email) => services.recovery.handleResetRequest(tx, email) },
      config,
      logger,
    );
    delivery.start();

    const schema = await buildAppSchema(containerOf(services, config));
    const app = express();
    // main.ts listens before the database opens (a port clash then touches nothing) and hands its
    // server over: from here on, this app answers its requests instead of the start-up placeholder.
    const httpServer = options.httpServer ?? createHttpServer(undefined, config.http);
    const placeholders = httpServer.listeners('request');
    const drain = new HttpDrain(httpServer, logger);
    app.disable('x-powered-by');
    // Nothing here is cacheable by validator: /graphql answers `no-store`, the probes change.
    app.set('etag', false);
    app.set('trust proxy', config.trustProxy);

    const limits = graphqlLimits();
    const operations = new OperationsInFlight();
    const requestMetrics = new RequestMetrics(metrics);
    const context = requestMetrics.context(
      contextBuilder({
        orm,
        tokens: services.tokens,
        viewers: new ViewerReader(orm, config.databasePreparedStatements, metrics?.batches),
        secureCookies: config.isProduction,
      }),
    );
    const reused = config.graphqlJit
      ? new ReusedQueries({
          context,
          formatError,
          logger,
          operations,
          metrics: requestMetrics,
          label: (operation) => operationLabel(operation, schema),
        })
      : undefined;
    const apollo = new ApolloServer<Context>({
      schema,
      introspection: !config.isProduction,
      includeStacktraceInErrorResponses: false,
      // main.ts owns SIGTERM/SIGINT: Apollo's own handler re-raises the signal once Apollo has
      // stopped, killing the process before the password pool and the database are closed.
      stopOnTerminationSignals: false,
      formatError,
      // Request limits (tokens at parse time, directives per location, aliases, directives, depth,
      // cost, at most a few validation errors); no batching;
      // no "Did you mean ...?" schema hints in any error, in any environment.
      parseOptions: limits.parseOptions,
      validationOptions: limits.validationOptions,
      validationRules: limits.validationRules,
      allowBatchedHttpRequests: false,
      // Automatic persisted queries are off: every request carries its query, and a client that
      // sends only a hash is told PERSISTED_QUERY_NOT_SUPPORTED (400) and falls back.
      persistedQueries: false,
      hideSchemaDetailsFromClientErrors: true,
      documentStore: documentStore(),
      plugins: [
        ...limits.plugins,
        // Its per-field hooks cost every request; responses are `Cache-Control: no-store` anyway.
        ApolloServerPluginCacheControlDisabled(),
        // Browsers get the explorer's page instead (EXPLORER; src/http/explorer.ts).
        ApolloServerPluginLandingPageDisabled(),
        errorLoggingPlugin(logger),
        overloadStatusPlugin(),
        operations.plugin(),
        requestMetrics.plugin(),
        ...(reused
          ? [
              compiledExecutionPlugin({
                schema,
                formatError,
                logger,
                ranCompiled: (...args) => {
                  reused.remember(...args);
                },
              }),
            ]
          : []),
      ],
    });
    await apollo.start();

    // Every request gets its id and its access-log line; then /graphql, which carries nearly all the
    // traffic and needs none of what serves the probes and /metrics. Admission is refused on arrival,
    // before any body is read; counted once the body is in.
    // Helmet's headers on every response, the request id and the access line: one router layer.
    app.use(chain(securityHeaders(config.isProduction), requestIds(), accessLog(logger, metrics, tracing)));
    const inFlight = requestsInFlight(config.maxRequestsInFlight);
    // A browser's GET /graphql gets the explorer's page (EXPLORER; off in production by default).
    if (explorer) app.use(explorerRoutes(explorer, schema, { introspection: !config.isProduction }));
    // One router layer for the whole /graphql chain (src/http/chain.ts).
    app.use(
      '/graphql',
      chain(
        inFlight.admit,
        // Responses may carry tokens: no cache, shared or private, may keep them.
        (_req, res, next) => {
          res.setHeader('cache-control', 'no-store');
          next();
        },
        corsAllowlist(config.corsOrigins),
        express.json({ limit: BODY_LIMIT }),
        inFlight.count,
        directiveGuard(schema),
        ...(reused ? [reused.handler()] : []),
        apolloHandler(apollo, { context }),
      ),
    );
    app.use(metricsOnApiPort(metrics, config, logger));
    app.use(probes(orm, config.databaseUrl, services.tokens, () => drain.draining, config.databaseUrl ? undefined : config.dataDir));
    // After the probes (always answered).
    app.use(inFlight.admit);
    app.use(httpErrors(logger));
    // Only the placeholder goes: Apollo's drain plugin listens to 'request' too (it counts requests per connection).
    for (const placeholder of placeholders) httpServer.off('request', placeholder as (...args: unknown[]) => void);
    httpServer.on('request', app);
    const metricsServer = metrics && config.metrics.port !== undefined ? createMetricsServer(metrics, config, logger) : undefined;

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        // Every request whose bytes arrived is answered (at most SHUTDOWN_GRACE) before Apollo stops;
        // operations whose client left meanwhile finish too, in the same grace, before the pools close.
        const graceEnds = Date.now() + config.shutdownGraceMs;
        await drain.close(config.shutdownGraceMs);
        await closeMetricsServer(metricsServer);
        await tracing?.shutdown();
        if (!(await operations.idle(graceEnds - Date.now()))) {
          drain.timedOut = true;
          logger.error({ operations: operations.running }, 'graceful shutdown timed out; operations still running lose their pools');
        }
        await apollo.stop();
        await purge.stop();
        // Stops claiming and finishes the messages it holds.
        await delivery.stop();
        await passwords.close();
        await services.rateLimits.close();
        try {
          await orm.close(true);
        } catch (error) {
          // A database already gone (the embedded directory removed, a connection that never
          // opened) cannot close cleanly; nothing is left to release, so say so and finish.
          logger.error({ err: error }, 'closing the database failed');
        }
      })();
      return stopping;
    };
    return { httpServer, metricsServer, services, orm, logger, drain, stop };
  } catch (error) {
    await passwords.close();
    await rateLimits?.close();
    await orm.close(true);
    throw error;
  }
}
