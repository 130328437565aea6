// The project's server for benchmarks, in its own process: `createApp` from src/, as configured
// by the environment, listening on PORT.
//
// BENCH_VIEWER_FROM_MEMORY=true (bench:profile's "`me` without the database" rung only): the
// viewer behind an access token is read from the database once and then served from memory, so
// that a `me` request runs every layer of the project but the viewer query. Never set elsewhere.
import 'reflect-metadata';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config/config';

function viewerFromMemory(app: App): void {
  const sessions = app.services.sessions;
  if (typeof sessions.viewer !== 'function')
    throw new Error('BENCH_VIEWER_FROM_MEMORY: SessionService.viewer is gone; update bench/servers/project.ts');
  const read = sessions.viewer.bind(sessions);
  // One token is used by the ladder: one entry, replaced when another session asks.
  let kept: { sid: string; viewer: ReturnType<typeof read> } | undefined;
  sessions.viewer = (em, claims) => {
    if (kept?.sid !== claims.sid) kept = { sid: claims.sid, viewer: read(em, claims) };
    return kept.viewer;
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
  if (process.env['BENCH_VIEWER_FROM_MEMORY'] === 'true') viewerFromMemory(app);
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
