// The project's server for benchmarks, in its own process: `createApp` from src/, as configured
// by the environment, listening on PORT.
import 'reflect-metadata';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
  await new Promise<void>((resolve) => app.httpServer.listen(config.port, config.host, resolve));
  const stop = (): void => {
    void app.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
