// METRICS_PORT in the real server process: main.ts listens on it beside the API, names it when it
// cannot, and closes it on SIGTERM with everything else.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freshDatabase } from '../helpers/app';
import { killServerProcesses, runUntilExit, serverEnv, startServerProcess } from '../helpers/server-process';

let database: Awaited<ReturnType<typeof freshDatabase>> | undefined;
let occupier: http.Server | undefined;

afterAll(async () => {
  await killServerProcesses();
  await new Promise<void>((resolve) => {
    if (occupier)
      occupier.close(() => {
        resolve();
      });
    else resolve();
  });
  await database?.drop();
});

it('stops start-up naming METRICS_PORT when the port is taken, then serves /metrics there and exits 0 on SIGTERM', async () => {
  database = await freshDatabase();
  const taken = http.createServer();
  occupier = taken;
  await new Promise<void>((resolve) => taken.listen(0, '0.0.0.0', resolve));
  const takenPort = (taken.address() as AddressInfo).port;
  const clash = await runUntilExit(serverEnv(database, { BCRYPT_COST: '10', METRICS_PORT: String(takenPort) }));
  expect(clash.code).toBe(1);
  expect(clash.output).toContain(`METRICS_PORT ${String(takenPort)}`);

  const server = await startServerProcess(serverEnv(database, { BCRYPT_COST: '10', METRICS_PORT: '0' }));
  const metricsPort = Number(/"metrics":"http:\/\/[^"]+:(\d+)\/metrics"/.exec(server.output())?.[1]);
  expect(metricsPort).toBeGreaterThan(0);
  expect(metricsPort).not.toBe(server.port);
  const scrape = await fetch(`http://127.0.0.1:${String(metricsPort)}/metrics`);
  expect(scrape.status).toBe(200);
  expect(await scrape.text()).toContain('nodejs_eventloop_lag_seconds');
  expect((await fetch(`http://127.0.0.1:${String(server.port)}/metrics`)).status).toBe(404);

  server.signal('SIGTERM');
  expect(await server.exited).toEqual({ code: 0, signal: null });
  await expect(fetch(`http://127.0.0.1:${String(metricsPort)}/metrics`)).rejects.toThrow();
}, 120_000);
