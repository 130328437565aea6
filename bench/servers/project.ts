// The project's server for benchmarks, in its own process: `createApp` from src/, as configured
// by the environment, listening on PORT.
//
// BENCH_VIEWER_FROM_MEMORY=true (bench:profile's "`me` without the database" rung only): the
// viewer behind an access token is read from the database once and then served from memory, so
// that a `me` request runs every layer of the project but the viewer query. Never set elsewhere.
import '../../src/v8-flags';
import 'reflect-metadata';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { ViewerReader } from '../../src/sessions/viewer';

function viewerFromMemory(): void {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the reader as `this`
  const read = ViewerReader.prototype.read;
  // One token is used by the ladder: one entry, replaced when another session asks.
  let kept: { sid: string; viewer: ReturnType<typeof read> } | undefined;
  ViewerReader.prototype.read = function (this: ViewerReader, claims) {
    if (kept?.sid !== claims.sid) kept = { sid: claims.sid, viewer: read.call(this, claims) };
    return kept.viewer;
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  if (process.env['BENCH_VIEWER_FROM_MEMORY'] === 'true') viewerFromMemory();
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
