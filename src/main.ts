import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { createApp } from './app';
import { ConfigError, loadConfig, POOL_CLOSE_MS, type Config } from './config/config';
import { ensureDevelopmentSecrets } from './config/development-secrets';
import { createLogger } from './logger';

/** The server URL without its password, for the start-up banner. */
function redactedDatabaseUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = 'redacted';
    url.search = '';
    return url.toString();
  } catch {
    return 'unparsable URL';
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
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
  const app = await createApp(config, logger);
  await new Promise<void>((resolve, reject) => {
    app.httpServer.once('error', reject);
    app.httpServer.listen(config.port, config.host, resolve);
  });
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
      ...(config.isProduction
        ? {}
        : {
            sandbox: localUrl,
            studio: `https://studio.apollographql.com/sandbox/explorer?endpoint=${encodeURIComponent(localUrl)}`,
          }),
    },
    `GraphQL API ready at ${url}` + (config.isProduction ? '' : `; open ${localUrl} in a browser for Apollo Sandbox`),
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
  process.stderr.write(`Start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
