import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureExplorerBundle } from '../../scripts/explorer-bundle';

/**
 * Once per `jest` run: names (does not create) where the migrated PGlite template of this run goes,
 * for test/helpers/app.ts. Workers inherit the variable; global-teardown.ts removes the directory.
 * Builds the explorer's bundle when it is missing or stale: every app outside production serves it.
 */
export default function globalSetup(): void {
  process.env['PGLITE_TEMPLATE_DIR'] ??= path.join(tmpdir(), `auth-api-pglite-template-${randomBytes(6).toString('hex')}`);
  ensureExplorerBundle();
}
