import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import express, { type Request } from 'express';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { AuditService } from './audit/audit.service';
import { AuthService } from './auth/auth.service';
import { RefreshCookie } from './auth/refresh-cookie';
import { PasswordService } from './auth/password.service';
import { TokenService, type AccessClaims } from './auth/token.service';
import type { Config } from './config';
import { RequestAuth, type Context, type Services } from './context';
import { databaseAnswers, openDatabase, type Orm } from './db/orm';
import { formatError, isUnexpectedError } from './errors';
import { createLogger, type Logger } from './logger';
import { createRateLimiter, type RateLimiter } from './rate-limits/rate-limiter';
import { buildAppSchema } from './schema';
import { graphqlLimits } from './security/graphql-limits';
import { securityHeaders } from './security/security-headers';
import { SessionService } from './sessions/session.service';
import { UserService } from './users/user.service';
import type { SqlEntityManager } from '@mikro-orm/sql';

export interface App {
  readonly httpServer: http.Server;
  readonly services: Services;
  readonly orm: Orm;
  readonly logger: Logger;
  /**
   * Stops accepting connections, closes idle ones, lets in-flight requests finish (connections
   * still open after SHUTDOWN_GRACE are closed), then closes the pools.
   */
  stop(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const BODY_LIMIT = '100kb';
const READINESS_TIMEOUT_MS = 2000;

function requestIdOf(req: Request): string {
  const given = req.get('x-request-id');
  return given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * CORS for the origins in CORS_ORIGINS only, with credentials (cookie mode). Any other origin gets
 * no CORS header at all (the `cors` package alone would still send Allow-Credentials to it).
 */
function corsAllowlist(origins: readonly string[]): express.RequestHandler {
  const allowed = new Set(origins);
  const listed = cors<cors.CorsRequest>({ origin: true, credentials: true, maxAge: 600 });
  return (req, res, next) => {
    res.vary('Origin');
    const origin = req.get('origin');
    if (origin !== undefined && allowed.has(origin)) listed(req, res, next);
    else next();
  };
}

/** Logs every unexpected error with the request id; the client only sees a masked error. */
function errorLoggingPlugin(logger: Logger): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          for (const error of errors) {
            if (isUnexpectedError(error)) {
              logger.error(
                { err: error.originalError ?? error, requestId: contextValue.requestId, operationName, path: error.path },
                'request failed',
              );
            }
          }
        },
      };
    },
  };
}

/**
 * Builds the whole service (database, migrations, schema, Express and Apollo) without
 * listening, so `main` and the tests decide where it listens.
 */
export interface AppOptions {
  /**
   * false: authenticate from the user row alone, without the session state, as before
   * sessions existed. For `bench/` comparisons only; never set in the service.
   */
  readonly immediateRevocation?: boolean;
}

export async function createApp(config: Config, logger: Logger = createLogger(config), options: AppOptions = {}): Promise<App> {
  const orm = await openDatabase(config, logger);
  const passwords = new PasswordService(config.bcryptCost);
  let rateLimits: RateLimiter | undefined;
  try {
    rateLimits = await createRateLimiter(config, logger);
    const tokens = new TokenService(config);
    const audit = new AuditService();
    const users = new UserService(passwords, audit);
    const sessions = new SessionService(tokens, config, audit);
    const loadViewer =
      options.immediateRevocation === false
        ? (em: SqlEntityManager, claims: AccessClaims) => sessions.viewerWithoutRevocation(em, claims)
        : (em: SqlEntityManager, claims: AccessClaims) => sessions.viewer(em, claims);
    const services: Services = {
      auth: new AuthService(users, sessions, passwords, tokens, audit),
      users,
      sessions,
      tokens,
      audit,
      rateLimits,
    };

    if (config.bootstrapAdmin) {
      const outcome = await users.ensureAdmin(orm.em.fork() as SqlEntityManager, config.bootstrapAdmin);
      logger.info({ email: config.bootstrapAdmin.email, outcome }, 'bootstrap admin checked');
    }

    const schema = await buildAppSchema();
    const app = express();
    const httpServer = http.createServer(app);
    app.disable('x-powered-by');
    app.use(securityHeaders(config.isProduction));
    app.set('trust proxy', config.trustProxy);

    const limits = graphqlLimits();
    const apollo = new ApolloServer<Context>({
      schema,
      introspection: !config.isProduction,
      includeStacktraceInErrorResponses: false,
      // main.ts owns SIGTERM/SIGINT: Apollo's own handler re-raises the signal once Apollo has
      // stopped, killing the process before the password pool and the database are closed.
      stopOnTerminationSignals: false,
      formatError,
      // Request limits (tokens at parse time, aliases, directives, depth, cost); no batching;
      // no "Did you mean ...?" schema hints in any error, in any environment.
      parseOptions: limits.parseOptions,
      validationRules: limits.validationRules,
      allowBatchedHttpRequests: false,
      hideSchemaDetailsFromClientErrors: true,
      plugins: [
        ...limits.plugins,
        // stop(): in-flight requests get SHUTDOWN_GRACE, then their connections are closed.
        ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.shutdownGraceMs }),
        // Its per-field hooks cost every request; responses are `Cache-Control: no-store` anyway.
        ApolloServerPluginCacheControlDisabled(),
        // Development: the embedded Sandbox runs on this origin, so it may send the refresh cookie.
        config.isProduction
          ? ApolloServerPluginLandingPageDisabled()
          : ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: true }),
        errorLoggingPlugin(logger),
      ],
    });
    await apollo.start();

    app.use((req, res, next) => {
      const requestId = requestIdOf(req);
      res.locals['requestId'] = requestId;
      res.setHeader('x-request-id', requestId);
      next();
    });
    app.get('/healthz', (_req, res) => {
      res.json({ status: 'ok' });
    });
    // Public access-token keys for other services; empty when access tokens use HS256.
    app.get('/.well-known/jwks.json', (_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.json({ keys: tokens.publicJwks() });
    });
    app.get('/readyz', async (_req, res) => {
      const ready = await databaseAnswers(orm, READINESS_TIMEOUT_MS);
      res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'database unavailable' });
    });
    app.use(
      '/graphql',
      // Responses may carry tokens: no cache, shared or private, may keep them.
      (_req: Request, res: express.Response, next: express.NextFunction) => {
        res.setHeader('cache-control', 'no-store');
        next();
      },
      corsAllowlist(config.corsOrigins),
      express.json({ limit: BODY_LIMIT }),
      expressMiddleware(apollo, {
        context: async ({ req, res }): Promise<Context> => {
          // The unit of work is forked on first use: many requests (a rejected token, a refused
          // rate limit) never touch the database.
          let em: SqlEntityManager | undefined;
          const context: Context = {
            get em(): SqlEntityManager {
              em ??= orm.em.fork() as SqlEntityManager;
              return em;
            },
            requestId: res.locals['requestId'] as string,
            ip: req.ip ?? null,
            userAgent: req.get('user-agent') ?? null,
            refreshCookie: new RefreshCookie(req, res, config.isProduction),
            services,
            auth: RequestAuth.fromHeader(req.get('authorization'), tokens, (claims) => loadViewer(context.em, claims)),
          };
          return context;
        },
      }),
    );

    // Body-parser and other HTTP-level failures: a JSON error, never Express's HTML page or a stack.
    app.use((error: { status?: number; type?: string }, _req: Request, res: express.Response, next: express.NextFunction) => {
      if (res.headersSent) return next(error);
      const status = typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
      if (status === 500) logger.error({ err: error, requestId: res.locals['requestId'] }, 'request failed');
      const message = status === 413 ? 'Request body too large' : status === 500 ? 'Internal server error' : 'Bad request';
      res.status(status).json({ errors: [{ message, extensions: { code: status === 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST' } }] });
    });

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        await apollo.stop();
        if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await passwords.close();
        await rateLimits?.close();
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
    return { httpServer, services, orm, logger, stop };
  } catch (error) {
    await passwords.close();
    await rateLimits?.close();
    await orm.close(true);
    throw error;
  }
}
