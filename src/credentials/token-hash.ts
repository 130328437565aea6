import { createHash } from 'node:crypto';

/** Refresh tokens are stored only as this digest (SHA-256, hex): a stolen table holds no usable token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
