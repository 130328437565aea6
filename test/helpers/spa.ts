// The example SPA (examples/spa) for the browser tests: built with the root's Vite against one API,
// served as `vite preview` would serve it, on a port of the loopback interface.
import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import express from 'express';

const ROOT = path.resolve(__dirname, '../..');

/** The paths of the SPA besides `/`: the mailed links point at the last two (APP_URL + path). */
export const SPA_ROUTES = ['/forgot-password', '/reset-password', '/verify-email'];

/** Builds the SPA with the root's Vite, pointed at this API. */
export async function buildSpa(outDir: string, apiUrl: string): Promise<void> {
  await promisify(execFile)(
    process.execPath,
    [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', 'examples/spa', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'],
    { cwd: ROOT, env: { ...process.env, VITE_API_URL: apiUrl } },
  );
}

/**
 * Serves the build, and its index.html on the SPA's own paths too, as `vite preview` does
 * (appType 'spa'). Only those: the probe page under /graphql stays a page without the app.
 * It listens on 127.0.0.1; `hostname` names the origin the pages are opened from (`localhost`
 * where WebAuthn needs the page's host to be the RP id).
 */
export async function serveSpa(dir: string, hostname = '127.0.0.1'): Promise<{ server: Server; origin: string }> {
  const app = express();
  app.use(express.static(dir));
  app.get(SPA_ROUTES, (_req, res) => {
    res.sendFile(path.join(dir, 'index.html'));
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => {
      resolve(listening);
    });
  });
  return { server, origin: `http://${hostname}:${String((server.address() as AddressInfo).port)}` };
}
