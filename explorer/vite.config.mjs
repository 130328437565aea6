// `npm run build:explorer` (part of `npm run build`): the explorer page the API serves on GET /graphql
// (src/http/explorer.ts), bundled into dist/explorer with everything it runs, so the page never loads
// code from a CDN (Apollo Sandbox, the optional default, is the one exception and falls back to it).
import path from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  // The API serves the bundle's files under /explorer/ (the page itself on /graphql).
  base: '/explorer/',
  build: {
    outDir: path.resolve(import.meta.dirname, '../dist/explorer'),
    emptyOutDir: true,
    // GraphiQL's editor (Monaco) is large; it is served from this origin with long-lived caching.
    chunkSizeWarningLimit: 6000,
    reportCompressedSize: false,
    rolldownOptions: {
      // React libraries mark modules "use client" for server-component bundlers; meaningless here.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  worker: { format: 'es' },
});
