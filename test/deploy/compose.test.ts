// Docker cannot run in CI here, so the deployment files are checked against the code they deploy:
// compose's environment (its .env, documented by .env.example, plus what it wires itself) must be a
// configuration loadConfig accepts, .env.example must name every variable the API reads, the image
// must install from the lockfile without install scripts, and its health check must really tell a
// running API from a stopped one.
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
  env_file?: string | string[];
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

/** Variables of docker-compose.yml itself: compose reads them from .env, the API ignores them. */
const COMPOSE_ONLY = ['POSTGRES_PASSWORD', 'API_PUBLISH_ADDRESS', 'API_PUBLISH_PORT'];

/** An env file as compose reads it: NAME=value lines; blank lines and # comments skipped. */
function parseEnvFile(text: string): Record<string, string> {
  const entries = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line): [string, string] => {
      const at = line.indexOf('=');
      if (at < 1) throw new Error(`not NAME=value: ${line}`);
      return [line.slice(0, at), line.slice(at + 1)];
    });
  return Object.fromEntries(entries);
}

const envExample = read('.env.example');
/** .env.example with its required values filled in, as an operator's .env. */
const filledEnv = (): Record<string, string> => {
  const env = parseEnvFile(envExample);
  for (const [name, value] of Object.entries({ ...SECRETS, POSTGRES_PASSWORD: 'from-the-env-file' })) {
    expect(env[name]).toBe(''); // required, so empty in the example
    env[name] = value;
  }
  return env;
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

/** What the api container gets from `dotenv` (the .env beside docker-compose.yml): env_file, then environment over it. */
function apiContainerEnv(dotenv: Record<string, string>): Record<string, string> {
  return { ...dotenv, ...environmentOf(api, dotenv) };
}

/** Every variable loadConfig reads, recorded while it reads complete environments (production and development). */
function variablesLoadConfigReads(): Set<string> {
  const names = new Set<string>();
  const environments: NodeJS.ProcessEnv[] = [
    { NODE_ENV: 'production', ...SECRETS },
    { NODE_ENV: 'production', ...SECRETS, DATABASE_URL: 'postgres://auth:pw@postgres:5432/auth', REDIS_URL: 'redis://redis:6379' },
    {},
  ];
  for (const base of environments) {
    const env = new Proxy<NodeJS.ProcessEnv>(base, {
      get(target, name) {
        if (typeof name === 'string') names.add(name);
        return target[name as string];
      },
    });
    loadConfig(env);
  }
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
  it('hands the api its .env whole, so every variable the API reads can be set there', () => {
    expect(api.env_file).toBe('.env');
  });

  it('gives the api only variables that loadConfig reads, besides its own from .env', () => {
    const known = variablesLoadConfigReads();
    expect(known).toContain('DATABASE_URL');
    const given = Object.keys(apiContainerEnv(filledEnv()));
    expect(given.filter((name) => !known.has(name)).sort()).toEqual([...COMPOSE_ONLY].sort());
  });

  it('refuses to start while .env lacks the database password, a JWT secret, the MFA key or a mail setting', () => {
    for (const name of [...Object.keys(SECRETS), 'POSTGRES_PASSWORD']) {
      const dotenv = { ...filledEnv(), [name]: '' };
      expect(() => apiContainerEnv(dotenv)).toThrow(`required variable ${name} is missing a value`);
    }
    // .env.example as it comes: nothing starts.
    expect(() => apiContainerEnv(parseEnvFile(envExample))).toThrow(/required variable \w+ is missing a value/);
    // No default database password anywhere.
    expect(() => environmentOf(service('postgres'), {})).toThrow('required variable POSTGRES_PASSWORD is missing a value');
  });

  it('with .env filled in, is a production configuration using the postgres and redis services', () => {
    const dotenv = filledEnv();
    const config = loadConfig(apiContainerEnv(dotenv));
    expect(config.isProduction).toBe(true);
    expect(config.host).toBe('0.0.0.0');
    expect(config.corsOrigins).toEqual([]);
    expect(config.bootstrapAdmin).toBeUndefined();

    const database = new URL(must(config.databaseUrl, 'DATABASE_URL'));
    const postgres = environmentOf(service('postgres'), dotenv);
    expect(service('postgres').image).toBe('postgres:15');
    expect(database.hostname).toBe('postgres');
    expect(database.port).toBe('5432');
    expect(decodeURIComponent(database.username)).toBe(postgres['POSTGRES_USER']);
    expect(decodeURIComponent(database.password)).toBe('from-the-env-file');
    expect(postgres['POSTGRES_PASSWORD']).toBe('from-the-env-file');
    expect(database.pathname).toBe(`/${must(postgres['POSTGRES_DB'], 'POSTGRES_DB')}`);

    expect(service('redis').image).toBe('redis:7');
    expect(new URL(must(config.redisUrl, 'REDIS_URL')).hostname).toBe('redis');
  });

  it('takes the optional settings from .env', () => {
    const dotenv = {
      ...filledEnv(),
      ACCESS_TOKEN_TTL: '5m',
      CORS_ORIGINS: 'https://app.example.com',
      BOOTSTRAP_ADMIN_EMAIL: 'admin@example.com',
      BOOTSTRAP_ADMIN_PASSWORD: 'a long admin password',
    };
    const config = loadConfig(apiContainerEnv(dotenv));
    expect(config.corsOrigins).toEqual(['https://app.example.com']);
    expect(config.bootstrapAdmin?.email).toBe('admin@example.com');
    expect(config.accessTokenTtlMs).toBe(5 * 60_000);
  });

  it('publishes the API on 127.0.0.1 only, unless API_PUBLISH_ADDRESS says otherwise; postgres and redis not at all', () => {
    const ports = (dotenv: Record<string, string>): string[] => (api.ports ?? []).map((port) => interpolate(port, dotenv));
    const config = loadConfig(apiContainerEnv(filledEnv()));
    expect(ports(filledEnv())).toEqual([`127.0.0.1:4000:${String(config.port)}`]);
    expect(ports({})).toEqual([`127.0.0.1:4000:${String(config.port)}`]);
    expect(ports({ ...filledEnv(), API_PUBLISH_ADDRESS: '0.0.0.0', API_PUBLISH_PORT: '8080' })).toEqual([
      `0.0.0.0:8080:${String(config.port)}`,
    ]);
    expect(service('postgres').ports).toBeUndefined();
    expect(service('redis').ports).toBeUndefined();
  });

  it('builds the api from the Dockerfile and starts it once postgres and redis are healthy', () => {
    expect(api.build).toBe('.');
    expect(api.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    expect(service('postgres').healthcheck?.test).toBeDefined();
    expect(service('redis').healthcheck?.test).toBeDefined();
  });
});

describe('.env.example', () => {
  const documented = (name: string): boolean => new RegExp(`^(# )?${name}=`, 'm').test(envExample);

  it('names every variable the API reads, each on its own NAME= line (commented out when optional)', () => {
    expect([...variablesLoadConfigReads()].filter((name) => !documented(name))).toEqual([]);
    for (const name of COMPOSE_ONLY) expect([name, documented(name)]).toEqual([name, true]);
  });

  it('names only variables the API or docker-compose.yml reads', () => {
    const known = new Set([...variablesLoadConfigReads(), ...COMPOSE_ONLY]);
    const named = [...envExample.matchAll(/^(?:# )?([A-Z][A-Z0-9_]*)=/gm)].map((match) => must(match[1], 'a name'));
    expect(named.filter((name) => !known.has(name))).toEqual([]);
  });

  it('holds no secret: the required values are empty', () => {
    const env = parseEnvFile(envExample);
    for (const name of [...Object.keys(SECRETS), 'POSTGRES_PASSWORD']) expect([name, env[name]]).toEqual([name, '']);
  });

  it('is kept out of git and the image as .env, and documented in configuration.md', () => {
    expect(read('.gitignore').split('\n')).toContain('.env');
    expect(read('.dockerignore').split('\n')).toContain('.env');
    expect(read('docs/configuration.md')).toContain('.env.example');
  });
});

describe('docker-compose.yml shutdown', () => {
  it('waits longer than the shutdown delay and grace plus the time to close the pools before SIGKILL', () => {
    const config = loadConfig(apiContainerEnv(filledEnv()));
    const killAfterMs = parseDuration('stop_grace_period', api.stop_grace_period ?? '10s');
    expect(killAfterMs).toBeGreaterThanOrEqual(config.shutdownDelayMs + config.shutdownGraceMs + POOL_CLOSE_MS);
  });
});

describe('Dockerfile', () => {
  const instructions = dockerfileInstructions();
  const stages = instructions.filter((i) => i.keyword === 'FROM');
  const runtime = instructions.slice(instructions.lastIndexOf(must(stages.at(-1), 'a FROM instruction')));
  const args = (keyword: string): string[] => runtime.filter((i) => i.keyword === keyword).map((i) => i.args);

  const stage = (name: string): { keyword: string; args: string }[] => {
    const from = instructions.findIndex((i) => i.keyword === 'FROM' && new RegExp(`\\bAS ${name}$`, 'i').test(i.args));
    if (from === -1) throw new Error(`no stage ${name} in the Dockerfile`);
    const next = instructions.findIndex((i, index) => index > from && i.keyword === 'FROM');
    return instructions.slice(from, next === -1 ? undefined : next);
  };
  const runs = (name: string): string[] =>
    stage(name)
      .filter((i) => i.keyword === 'RUN')
      .map((i) => i.args);

  it('builds on node:24-bookworm-slim and runs as a non-root user, in production', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const from of stages) expect(from.args).toMatch(/^node:24-bookworm-slim\b/);
    expect(args('USER')).toHaveLength(1);
    expect(args('USER')[0]).not.toMatch(/^(root|0)(:|$)/);
    expect(args('ENV').join(' ')).toMatch(/\bNODE_ENV=production\b/);
    expect(args('ENV').join(' ')).toMatch(/\bHOST=0\.0\.0\.0\b/);
  });

  it('installs with npm ci from the lockfile, never npm install, and runs no install script', () => {
    const installs = instructions.filter((i) => i.keyword === 'RUN' && /\bnpm (ci|install|i)\b/.test(i.args)).map((i) => i.args);
    expect(installs.length).toBeGreaterThanOrEqual(2);
    for (const install of installs) {
      expect(install).toMatch(/\bnpm ci\b/);
      // So the `node` devDependency's install script never downloads its Node binary (~189 MB).
      expect(install).toContain('--ignore-scripts');
    }
    expect(runs('build').some((run) => /\bnpm run build\b/.test(run))).toBe(true);
  });

  it('needs no install script of a production dependency, nor of what the build stage compiles with', () => {
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }> };
    const withScripts = Object.entries(lock.packages).filter(([, entry]) => entry.hasInstallScript);
    // @apollo/protobufjs's postinstall only warns about version schemes of its CLI's dependents.
    expect(withScripts.filter(([, entry]) => !entry.dev).map(([name]) => name)).toEqual(['node_modules/@apollo/protobufjs']);
    // The build stage runs tsc only: none of these is TypeScript or its types.
    const devWithScripts = withScripts.filter(([, entry]) => entry.dev).map(([name]) => name);
    expect(devWithScripts.filter((name) => name === 'node_modules/typescript' || name.startsWith('node_modules/@types/'))).toEqual([]);
    expect(devWithScripts).toContain('node_modules/node'); // the one --ignore-scripts is about
  });

  it('installs with npm ci on any platform: the lockfile lists every optional dependency its packages declare', () => {
    // npm ci refuses a lockfile out of sync with the manifests, e.g. one written on a platform that
    // left out other platforms' optional binaries (@swc/core-*, @rolldown/binding-*).
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { optionalDependencies?: Record<string, string> }>;
    };
    const resolves = (from: string, name: string): boolean => {
      for (let dir = from; ; dir = dir.includes('/node_modules/') ? dir.slice(0, dir.lastIndexOf('/node_modules/')) : '') {
        if (`${dir ? `${dir}/` : ''}node_modules/${name}` in lock.packages) return true;
        if (dir === '') return false;
      }
    };
    const missing = Object.entries(lock.packages).flatMap(([at, entry]) =>
      Object.keys(entry.optionalDependencies ?? {})
        .filter((name) => !resolves(at, name))
        .map((name) => `${at || '(root)'} -> ${name}`),
    );
    expect(missing).toEqual([]);
    expect(Object.keys(lock.packages)).toEqual(
      expect.arrayContaining(['node_modules/@swc/core-darwin-arm64', 'node_modules/@swc/core-linux-x64-musl']),
    );
  });

  it('runs with production dependencies only: node_modules from a stage that omits dev dependencies', () => {
    const runtimeCopies = runtime.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    const modules = runtimeCopies.filter((copy) => /\bnode_modules\b/.test(copy));
    expect(modules).toHaveLength(1);
    const from = must(/--from=(\w+)/.exec(must(modules[0], 'the node_modules COPY'))?.[1], 'the stage node_modules comes from');
    expect(runs(from)).toEqual([expect.stringMatching(/^npm ci --omit=dev\b/)]);
    // No install of its own in the runtime stage, and nothing else from the build stage than dist/.
    expect(args('RUN').filter((run) => /\bnpm\b/.test(run))).toEqual([]);
    expect(runtimeCopies.filter((copy) => copy.includes('--from=build'))).toEqual(['--from=build /app/dist ./dist']);
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
    // npm run build (scripts/build.mjs) compiles, then bundles the page with Vite (scripts/explorer-bundle.js), as build:explorer does.
    expect(scripts['build']).toBe('node scripts/build.mjs');
    expect(read('scripts/build.mjs')).toMatch(/ensureExplorerBundle\(ROOT\)/);
    expect(read('scripts/explorer-bundle.js')).toMatch(/'build', 'explorer'/);
    const copiesScripts = build.findIndex(
      (i) => i.keyword === 'COPY' && i.args === 'scripts/build.mjs scripts/explorer-bundle.js ./scripts/',
    );
    expect(copiesScripts).toBeGreaterThanOrEqual(0);
    expect(copiesScripts).toBeLessThan(builds);
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
