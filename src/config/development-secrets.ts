import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkPrivate } from './data-dir';
import { ConfigError } from './env';

/**
 * Development convenience: signing secrets generated once and kept in DATA_DIR/secrets.json, so
 * tokens survive restarts without anyone copying secrets around. Never used in production.
 */
export interface DevelopmentSecrets {
  readonly access: string;
  readonly refresh: string;
}

function secretsFile(dataDir: string): string {
  return path.join(dataDir, 'secrets.json');
}

/** The stored secrets, or undefined when none were made yet. Reads only. */
export function readDevelopmentSecrets(dataDir: string): DevelopmentSecrets | undefined {
  const file = secretsFile(dataDir);
  checkPrivate(file, 'file');
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { access?: unknown; refresh?: unknown };
    if (typeof stored.access === 'string' && typeof stored.refresh === 'string') {
      return { access: stored.access, refresh: stored.refresh };
    }
    // Regenerating here would fail on the existing file (flag wx) with a bare EEXIST.
    throw new Error('it lacks the access or refresh secret');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError('DATA_DIR', `holds an unreadable secrets.json (${(error as Error).message}); delete it to regenerate`);
  }
}

/** Secrets that nothing stores: for tools that load the configuration but issue no token. */
export function ephemeralSecrets(): DevelopmentSecrets {
  return { access: randomBytes(48).toString('base64url'), refresh: randomBytes(48).toString('base64url') };
}

/**
 * Creates DATA_DIR/secrets.json unless it exists, for a development server started without
 * JWT_ACCESS_SECRET/JWT_REFRESH_SECRET. The server calls this before loading its configuration,
 * which itself only reads the file (the MikroORM CLI loads the configuration too).
 */
export function ensureDevelopmentSecrets(env: NodeJS.ProcessEnv): void {
  const set = (name: string): boolean => (env[name] ?? '').trim() !== '';
  if ((env['NODE_ENV'] ?? '').trim() === 'production' || (set('JWT_ACCESS_SECRET') && set('JWT_REFRESH_SECRET'))) return;
  const dataDir = path.resolve((env['DATA_DIR'] ?? '').trim() || '.data');
  if (readDevelopmentSecrets(dataDir)) return;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = secretsFile(dataDir);
  try {
    writeFileSync(file, JSON.stringify(ephemeralSecrets(), null, 2), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process made it first: theirs is as good.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  chmodSync(file, 0o600);
}
