# syntax=docker/dockerfile:1
# Three stages: build (compile src/ to dist/), deps (production dependencies), runtime (the two
# together, nothing else). Every install is `npm ci` from the committed lockfile, with
# --ignore-scripts: no package's install script runs, so the `node` devDependency (Node 24 for the npm
# scripts outside the image, ~189 MB its install script downloads) is never fetched; the base image
# has Node 24. No dependency the API uses needs an install script (test/deploy/compose.test.ts).

# ---- build: the compiler and everything it type-checks against (Vite included), then dist/: src/
# compiled, and the explorer page (explorer/: GraphiQL with its editor) bundled into dist/explorer ----
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/explorer-bundle.js ./scripts/
COPY src ./src
COPY explorer ./explorer
RUN npm run build && rm -f dist/.tsbuildinfo

# ---- deps: production dependencies only ----
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: production dependencies and the compiled code, run as the unprivileged `node` user ----
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/app/.data
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# DATA_DIR holds the embedded database when DATABASE_URL is unset; the app user must own it, and no one
# else may read it (the server refuses a DATA_DIR open to group or others).
RUN mkdir -p -m 700 /app/.data && chown node:node /app/.data
USER node
EXPOSE 4000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
