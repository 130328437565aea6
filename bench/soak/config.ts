// What one soak run is: its settings from the environment (documented in bench/soak.ts) and the
// names it gives the database, Redis keys and accounts it creates.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { writeStderr } from '../lib/fatal';
import { ROOT } from '../lib/processes';

function numberFrom(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw.trim() === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min) {
    // Read while the modules load, before anything is started: one line and out, no stack trace.
    writeStderr(`soak: ${name} must be a whole number of at least ${String(min)} (got "${raw ?? ''}")`);
    process.exit(2);
  }
  return value;
}

export const SECONDS = numberFrom('SOAK_SECONDS', 60, 10);
export const WARMUP_SECONDS = numberFrom('SOAK_WARMUP_SECONDS', 30, 5);
export const VUS = numberFrom('SOAK_VUS', 8, 1);
export const BCRYPT_COST = numberFrom('SOAK_BCRYPT_COST', 10, 10);
export const REPORT = path.resolve(ROOT, process.env['SOAK_REPORT'] ?? 'bench/SOAK.md');
export const SERVER_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
/** A progress line every this many seconds of load (undocumented, for debugging). */
export const PROGRESS_SECONDS = Number(process.env['SOAK_PROGRESS_SECONDS'] ?? 10);

export const RUN_ID = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
export const DB_NAME = `soak_${RUN_ID}`;
export const REDIS_KEY_PREFIX = `soak-${RUN_ID}:`;
export const PASSWORD = `soak password ${RUN_ID}`;
export const ADMIN_EMAIL = `soak-admin-${RUN_ID}@example.com`;
export const ADMIN_PASSWORD = randomBytes(18).toString('base64url');

export const SAMPLE_MS = 1000;
export const REQUEST_TIMEOUT_MS = 30_000;
export const STOP_GRACE_MS = 15_000;
