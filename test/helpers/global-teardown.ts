import { rmSync } from 'node:fs';

/** Removes this run's PGlite template (see global-setup.ts). */
export default function globalTeardown(): void {
  const dir = process.env['PGLITE_TEMPLATE_DIR'];
  if (dir) rmSync(dir, { recursive: true, force: true });
}
