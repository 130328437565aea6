import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import express, { Router, type Request } from 'express';
import type { GraphQLSchema } from 'graphql';
import type { ExplorerMode } from '../config/config';
import { explorerIntrospection } from './explorer-schema';

/**
 * Where `npm run build:explorer` (explorer/vite.config.mjs) writes the bundle: dist/explorer under the
 * package root, which is two levels above this module whether it runs from src/http or dist/http.
 */
export const EXPLORER_BUNDLE = path.resolve(__dirname, '../../dist/explorer');

/** Apollo's embedded Sandbox: its script and the frame it opens (explorer/src/sandbox.ts). */
const SANDBOX_SCRIPT_ORIGIN = 'https://embeddable-sandbox.cdn.apollographql.com';
const SANDBOX_FRAME_ORIGIN = 'https://sandbox.embed.apollographql.com';

/**
 * The page's own policy, replacing the header policy of every other response: scripts, workers and
 * requests from this origin only (plus, in `sandbox` mode, Sandbox's script and frame). Styles may be
 * inline: GraphiQL's editor (Monaco) writes <style> elements at run time.
 */
export function explorerCsp(mode: Exclude<ExplorerMode, 'off'>): string {
  const sandbox = mode === 'sandbox';
  const directives: Record<string, string[]> = {
    'default-src': ["'none'"],
    'script-src': ["'self'", ...(sandbox ? [SANDBOX_SCRIPT_ORIGIN] : [])],
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:'],
    'font-src': ["'self'", 'data:'],
    'connect-src': ["'self'"],
    'worker-src': ["'self'"],
    'frame-src': sandbox ? [SANDBOX_FRAME_ORIGIN] : ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'none'"],
    'frame-ancestors': ["'none'"],
  };
  return Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join('; ');
}

/** True for a browser navigating to the endpoint, as Apollo Server tells its landing page requests apart. */
function wantsPage(req: Request): boolean {
  return req.accepts(['application/json', 'application/graphql-response+json', 'multipart/mixed', 'text/html']) === 'text/html';
}

/** Thrown at start-up when EXPLORER asks for a page whose bundle was never built. */
export class ExplorerBundleMissing extends Error {
  constructor(mode: ExplorerMode, bundle: string) {
    super(
      `EXPLORER=${mode} needs the explorer bundle, missing at ${bundle}: run \`npm run build\` (or \`npm run build:explorer\`), or set EXPLORER=off`,
    );
    this.name = 'ExplorerBundleMissing';
  }
}

/** The built page of one mode and where its files are; read once at start-up. */
export interface ExplorerBundle {
  readonly mode: Exclude<ExplorerMode, 'off'>;
  readonly page: string;
  readonly assets: string;
}

/** Reads the bundle `npm run build:explorer` wrote; throws ExplorerBundleMissing when there is none. */
export function readExplorerBundle(mode: Exclude<ExplorerMode, 'off'>, bundle = EXPLORER_BUNDLE): ExplorerBundle {
  const indexFile = path.join(bundle, 'index.html');
  if (!existsSync(indexFile)) throw new ExplorerBundleMissing(mode, bundle);
  const page = readFileSync(indexFile, 'utf8').replace('data-mode="graphiql"', `data-mode="${mode}"`);
  return { mode, page, assets: path.join(bundle, 'assets') };
}

/**
 * The explorer: its page on GET /graphql for browsers (other requests go on to Apollo), the bundle's
 * files under /explorer/assets/, and /explorer/schema.json, the schema for its docs with the
 * `@authorized` rules in the descriptions; only where introspection is on, since it is the same
 * information.
 */
export function explorerRoutes(bundle: ExplorerBundle, schema: GraphQLSchema, options: { readonly introspection: boolean }): Router {
  const csp = explorerCsp(bundle.mode);
  let introspection: string | undefined;

  const router = Router();
  // Middleware rather than router.get: a route would make the router answer OPTIONS /graphql itself
  // (Express's automatic Allow response), and CORS preflights would never reach the CORS middleware.
  router.use('/graphql', (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.path !== '/' || !wantsPage(req)) {
      next();
      return;
    }
    res.setHeader('content-security-policy', csp);
    res.setHeader('cache-control', 'no-store');
    res.vary('accept');
    res.type('html').send(bundle.page);
  });
  router.get('/explorer/schema.json', (_req, res) => {
    if (!options.introspection) {
      res.status(404).json({ error: 'not found' });
      return;
    }
    // Built on first use: most apps (and test apps) never serve it.
    introspection ??= JSON.stringify({ data: explorerIntrospection(schema) });
    res.setHeader('cache-control', 'no-cache');
    res.type('json').send(introspection);
  });
  // File names carry a content hash: cacheable for good.
  router.use('/explorer/assets', express.static(bundle.assets, { index: false, redirect: false, immutable: true, maxAge: '365d' }));
  return router;
}
