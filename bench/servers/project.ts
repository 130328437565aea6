// The project's server for benchmarks, in its own process: `createApp` from src/, listening
// on PORT. BENCH_IMMEDIATE_REVOCATION=false gives the pre-sessions viewer lookup.
import 'reflect-metadata';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config, undefined, { immediateRevocation: process.env['BENCH_IMMEDIATE_REVOCATION'] !== 'false' });
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
