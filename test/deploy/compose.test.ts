// Docker cannot run in CI here, so the deployment files are checked against the code they deploy:
// compose's environment must be a configuration loadConfig accepts, and the image's health check
// must really tell a running API from a stopped one.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { loadConfig, POOL_CLOSE_MS } from '../../src/config/config';
import { parseDuration } from '../../src/config/env';
import { startTestApp } from '../helpers/app';
import { must } from '../helpers/must';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

interface ComposeService {
  image?: string;
  build?: string | { context: string };
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string | string[] };
  ports?: string[];
  stop_grace_period?: string;
}

const compose = parse(read('docker-compose.yml')) as { services: Record<string, ComposeService> };
const service = (name: string): ComposeService => must(compose.services[name], `the ${name} service of docker-compose.yml`);
const api = service('api');

/** What compose requires from the shell: the secrets and the mail settings production needs. */
const SECRETS = {
  JWT_ACCESS_SECRET: 'compose-access-secret-0123456789-abcdefghijklmnop',
  JWT_REFRESH_SECRET: 'compose-refresh-secret-0123456789-abcdefghijklmnop',
  MFA_ENCRYPTION_KEY: 'compose-mfa-encryption-key-0123456789-abcdefghijklmnop',
  APP_URL: 'https://app.example.com',
  SMTP_URL: 'smtp://mailer:secret@smtp.example.com:587',
  MAIL_FROM: 'no-reply@example.com',
};

/** Compose's variable substitution: `$$`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`. */
function interpolate(value: string, shell: Record<string, string>): string {
  return value.replace(/\$\$|\$\{(\w+)(?:(:?)([-?])([^}]*))?\}/g, (whole, name: string, colon: string, kind: string, word: string) => {
    if (whole === '$$') return '$';
    const set = shell[name];
    const missing = set === undefined || (colon === ':' && set === '');
    if (!missing) return set;
    if (kind === '?') throw new Error(`required variable ${name} is missing a value: ${word}`);
    return kind === '-' ? word : '';
  });
}

function environmentOf(service: ComposeService, shell: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([name, value]) => [name, interpolate(String(value ?? ''), shell)]),
  );
}

/** Every variable loadConfig reads, recorded while it reads a complete environment. */
function variablesLoadConfigReads(): Set<string> {
  const names = new Set<string>();
  const env = new Proxy<NodeJS.ProcessEnv>(
    { NODE_ENV: 'production', ...SECRETS },
    {
      get(target, name) {
        if (typeof name === 'string') names.add(name);
        return target[name as string];
      },
    },
  );
  loadConfig(env);
  return names;
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function dockerfileInstructions(): { keyword: string; args: string }[] {
  return read('Dockerfile')
    .replace(/\\\r?\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: must(keyword, 'a Dockerfile keyword').toUpperCase(), args: rest.join(' ') };
    });
}

describe('docker-compose.yml', () => {
  it('gives the api only variables that loadConfig reads', () => {
    const known = variablesLoadConfigReads();
    expect(known).toContain('DATABASE_URL');
    expect(Object.keys(api.environment ?? {}).filter((name) => !known.has(name))).toEqual([]);
  });

  it('refuses to start without a JWT secret or a mail setting', () => {
    for (const name of Object.keys(SECRETS) as (keyof typeof SECRETS)[]) {
      const shell: Record<string, string> = Object.fromEntries(Object.entries(SECRETS).filter(([key]) => key !== name));
      expect(() => environmentOf(api, shell)).toThrow(`required variable ${name} is missing a value`);
      expect(() => environmentOf(api, { ...shell, [name]: '' })).toThrow(name);
    }
  });

  it('with the secrets set, is a production configuration using the postgres and redis services', () => {
    const shell = { ...SECRETS, POSTGRES_PASSWORD: 'from-the-shell' };
    const config = loadConfig(environmentOf(api, shell));
    expect(config.isProduction).toBe(true);
    expect(config.corsOrigins).toEqual([]);
    expect(config.bootstrapAdmin).toBeUndefined();
    expect(api.ports).toContain(`${String(config.port)}:${String(config.port)}`);

    const database = new URL(must(config.databaseUrl, 'DATABASE_URL'));
    const postgres = environmentOf(service('postgres'), shell);
    expect(service('postgres').image).toBe('postgres:15');
    expect(database.hostname).toBe('postgres');
    expect(database.port).toBe('5432');
    expect(decodeURIComponent(database.username)).toBe(postgres['POSTGRES_USER']);
    expect(decodeURIComponent(database.password)).toBe('from-the-shell');
    expect(postgres['POSTGRES_PASSWORD']).toBe('from-the-shell');
    expect(database.pathname).toBe(`/${must(postgres['POSTGRES_DB'], 'POSTGRES_DB')}`);

    expect(service('redis').image).toBe('redis:7');
    expect(new URL(must(config.redisUrl, 'REDIS_URL')).hostname).toBe('redis');
  });

  it('builds the api from the Dockerfile and starts it once postgres and redis are healthy', () => {
    expect(api.build).toBe('.');
    expect(api.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    expect(service('postgres').healthcheck?.test).toBeDefined();
    expect(service('redis').healthcheck?.test).toBeDefined();
  });
});

describe('docker-compose.yml shutdown', () => {
  it('waits longer than the shutdown delay and grace plus the time to close the pools before SIGKILL', () => {
    const config = loadConfig(environmentOf(api, SECRETS));
    const killAfterMs = parseDuration('stop_grace_period', api.stop_grace_period ?? '10s');
    expect(killAfterMs).toBeGreaterThanOrEqual(config.shutdownDelayMs + config.shutdownGraceMs + POOL_CLOSE_MS);
  });
});

describe('Dockerfile', () => {
  const instructions = dockerfileInstructions();
  const stages = instructions.filter((i) => i.keyword === 'FROM');
  const runtime = instructions.slice(instructions.lastIndexOf(must(stages.at(-1), 'a FROM instruction')));
  const args = (keyword: string): string[] => runtime.filter((i) => i.keyword === keyword).map((i) => i.args);

  it('builds on node:24-bookworm-slim and runs only production dependencies, as a non-root user, in production', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.args).toMatch(/^node:24-bookworm-slim\b/);
    expect(instructions.some((i) => i.keyword === 'RUN' && /\bnpm run build\b/.test(i.args))).toBe(true);
    expect(args('RUN').some((run) => /\bnpm install --omit=dev\b/.test(run))).toBe(true);
    expect(args('USER')).toHaveLength(1);
    expect(args('USER')[0]).not.toMatch(/^(root|0)(:|$)/);
    expect(args('ENV').join(' ')).toMatch(/\bNODE_ENV=production\b/);
    expect(args('ENV').join(' ')).toMatch(/\bHOST=0\.0\.0\.0\b/);
  });

  it('starts the compiled entry point that npm run build writes', () => {
    const build = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { rootDir: string; outDir: string } };
    const cmd = JSON.parse(must(args('CMD')[0], 'the CMD instruction')) as string[];
    expect(cmd).toEqual(['node', 'dist/main.js']);
    expect(path.join(build.compilerOptions.outDir, 'main.js')).toBe(path.normalize(must(cmd[1], 'the entry point of CMD')));
    expect(() => read(path.join(build.compilerOptions.rootDir, 'main.ts'))).not.toThrow();
  });

  it('bundles the explorer in the build stage, into the dist/ that the runtime stage copies', () => {
    const build = instructions.slice(0, instructions.indexOf(must(stages.at(-1), 'the runtime stage')));
    const copiesExplorer = build.findIndex((i) => i.keyword === 'COPY' && /^explorer\s/.test(i.args));
    const builds = build.findIndex((i) => i.keyword === 'RUN' && /\bnpm run build\b/.test(i.args));
    expect(copiesExplorer).toBeGreaterThanOrEqual(0);
    expect(copiesExplorer).toBeLessThan(builds);
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['build']).toMatch(/&& npm run build:explorer$/);
    expect(scripts['build:explorer']).toMatch(/^vite build explorer\b/);
    // explorer/vite.config.mjs writes the bundle where src/http/explorer.ts reads it: dist/explorer.
    expect(read('explorer/vite.config.mjs')).toMatch(/outDir: path\.resolve\(import\.meta\.dirname, '\.\.\/dist\/explorer'\)/);
    expect(args('COPY')).toContain('--from=build /app/dist ./dist');
  });

  it('has a health check that passes against a running API and fails once it stops', async () => {
    const healthcheck = must(args('HEALTHCHECK')[0], 'the HEALTHCHECK instruction');
    const command = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD') + 3)) as string[];
    expect(command[0]).toBe('node');
    const check = (port: number): Promise<unknown> =>
      promisify(execFile)(process.execPath, command.slice(1), { env: { PORT: String(port) }, timeout: 20_000 });

    const app = await startTestApp();
    const port = Number(new URL(app.url).port);
    try {
      await expect(check(port)).resolves.toBeDefined();
    } finally {
      await app.stop();
    }
    await expect(check(port)).rejects.toMatchObject({ code: 1 });
  });
});

describe('.dockerignore', () => {
  it('keeps local databases, development secrets, dependencies and git out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim());
    for (const entry of ['.data', 'node_modules', 'dist', '.git', '.env']) expect(ignored).toContain(entry);
  });
});
