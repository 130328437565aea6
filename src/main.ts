// First: V8's settings apply to what is compiled and allocated after them.
import './v8-flags';
import 'reflect-metadata';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type App } from './app';
import { ConfigError, loadConfig, POOL_CLOSE_MS, type Config } from './config/config';
import { ensureDevelopmentSecrets } from './config/development-secrets';
import { DataDirInUse } from './db/data-dir-lock';
import { redactedDatabaseUrl } from './db/orm';
import { describeThrown } from './errors';
import { createHttpServer } from './http/http-server';
import { startingHandler } from './http/starting';
import { createLogger } from './logger';

/** What the start-up banner tells people to open the endpoint in a browser for (EXPLORER). */
const EXPLORER_NAMES = {
  sandbox: 'Apollo Sandbox (or the bundled GraphiQL when Apollo’s CDN is out of reach)',
  graphiql: 'GraphiQL',
} as const;

/** A start-up failure whose message says it all (no stack, no library wrapping). */
class StartupError extends Error {}

/** Why the app could not be built: the database named when opening it is what failed. */
function startupFailure(error: unknown): string {
  if (error instanceof DataDirInUse) {
    return `${error.message}. Stop that process first; to run several instances, give them a PostgreSQL server (DATABASE_URL)`;
  }
  return describeThrown(error);
}

async function listen(config: Config): Promise<http.Server> {
  // The server with its limits from the start: the app takes it over once the database is open.
  const httpServer = createHttpServer(startingHandler, config.http);
  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.port, config.host, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const where = `port ${String(config.port)} on ${config.host}`;
    if (code === 'EADDRINUSE') throw new StartupError(`${where} is in use by another process (EADDRINUSE): stop it or set PORT`);
    if (code === 'EACCES') throw new StartupError(`${where} may not be bound by this user (EACCES): set PORT to 1024 or above`);
    if (code === 'EADDRNOTAVAIL') throw new StartupError(`HOST ${config.host} is not an address of this machine (EADDRNOTAVAIL)`);
    throw error;
  }
  return httpServer;
}

/** The metrics listener of METRICS_PORT, on HOST like the API; a clash stops start-up naming the variable. */
async function listenMetrics(server: http.Server, config: Config): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.metrics.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new StartupError(`METRICS_PORT ${String(config.metrics.port)} on ${config.host} cannot be bound (${code}): choose another`);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const httpServer = await listen(config);
  try {
    // A development server keeps its generated signing secrets under DATA_DIR; loading the
    // configuration only reads them, so they are stored (once) here and the configuration reread.
    if (config.jwt.secretsSource === 'ephemeral') {
      ensureDevelopmentSecrets(process.env);
      config = loadConfig();
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config);
  for (const warning of config.warnings) logger.warn(warning);
  let app: App;
  try {
    app = await createApp(config, logger, { httpServer });
  } catch (error) {
    throw new StartupError(startupFailure(error));
  }
  if (app.metricsServer) {
    try {
      await listenMetrics(app.metricsServer, config);
    } catch (error) {
      await app.stop();
      throw error;
    }
  }
  const { address, port } = app.httpServer.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  const url = `http://${host}:${String(port)}/graphql`;
  // A wildcard address is not something to open in a browser: point people at localhost.
  const localUrl = address === '0.0.0.0' || address === '::' ? `http://localhost:${String(port)}/graphql` : url;
  logger.info(
    {
      url,
      database: config.databaseUrl ? `postgresql (${redactedDatabaseUrl(config.databaseUrl)})` : `embedded (${config.dataDir})`,
      rateLimitStore: config.rateLimits === 'off' ? 'off' : config.redisUrl ? 'redis' : 'memory',
      env: config.nodeEnv,
      ...(config.explorer === 'off' ? {} : { explorer: localUrl }),
      metrics: app.metricsServer
        ? `http://${host}:${String((app.metricsServer.address() as AddressInfo).port)}/metrics`
        : config.metrics.token
          ? `${url.replace(/\/graphql$/, '')}/metrics (bearer token)`
          : 'off',
      ...(config.isProduction
        ? {}
        : { studio: `https://studio.apollographql.com/sandbox/explorer?endpoint=${encodeURIComponent(localUrl)}` }),
    },
    `GraphQL API ready at ${url}` +
      (config.explorer === 'off' ? '' : `; open ${localUrl} in a browser for ${EXPLORER_NAMES[config.explorer]}`),
  );

  const shutdown = (signal: NodeJS.Signals): void => {
    const { shutdownDelayMs: delayMs, shutdownGraceMs: graceMs } = config;
    // Readiness fails at once and responses close their connections, but the listener keeps
    // accepting for SHUTDOWN_DELAY: a load balancer still sends requests until it has seen the
    // failed probe, and connections already in the kernel's backlog are served instead of reset.
    app.drain.begin();
    logger.info({ signal, delayMs, graceMs }, 'shutting down');
    // app.stop() then stops accepting and answers every request whose bytes arrived; connections
    // still open after SHUTDOWN_GRACE are closed, the pools close as usual, and the exit code
    // says that the shutdown was not clean.
    const force = setTimeout(
      () => {
        logger.error('shutdown did not finish closing the pools; exiting');
        process.exit(1);
      },
      delayMs + graceMs + POOL_CLOSE_MS,
    );
    force.unref();
    setTimeout(() => {
      app.stop().then(
        () => process.exit(app.drain.timedOut ? 1 : 0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    }, delayMs);
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`Start-up failed: ${describeThrown(error)}\n`);
  process.exit(1);
});
