import { statSync } from 'node:fs';
import { ConfigError } from './env';

/**
 * DATA_DIR holds the embedded database and the development secrets: nobody but the service's user
 * may read or write it. An existing directory or file that group or others can reach stops
 * start-up with the chmod that fixes it. Missing paths pass: the service creates them 0700/0600.
 */
export function checkPrivate(path: string, kind: 'directory' | 'file'): void {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if ((mode & 0o077) === 0) return;
  const wanted = kind === 'directory' ? '700' : '600';
  throw new ConfigError(
    'DATA_DIR',
    `holds the embedded database and secrets, but ${path} is open to group or others (mode ${(mode & 0o777).toString(8)}): run chmod ${wanted} ${path}`,
  );
}
