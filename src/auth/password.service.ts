import { createHmac } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

/**
 * bcrypt reads at most 72 bytes and stops at a NUL byte. Every password is therefore
 * NFC-normalised and pre-hashed with HMAC-SHA-256 (a fixed, versioned key for domain
 * separation) and base64-encoded: 44 ASCII bytes, so no part of a long password is
 * silently ignored and the same text typed on different keyboards hashes the same.
 */
const PREHASH_KEY = 'graphql-auth-api/password/v1';

function prehash(password: string): string {
  return createHmac('sha256', PREHASH_KEY).update(password.normalize('NFC'), 'utf8').digest('base64');
}

/** Length in Unicode code points, as NIST SP 800-63B counts it. */
export function passwordLength(password: string): number {
  return [...password.normalize('NFC')].length;
}

/**
 * Hashing and comparison on a pool of worker threads sized to the machine, so that
 * logins use every core and never block the event loop.
 */
export class PasswordService {
  private readonly pool: Piscina;
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly cost: number) {
    this.pool = new Piscina({
      filename: path.join(__dirname, 'password.worker.js'),
      minThreads: 1,
      maxThreads: Math.max(1, availableParallelism()),
      idleTimeout: 60_000,
    });
  }

  hash(password: string): Promise<string> {
    return this.pool.run({ secret: prehash(password), cost: this.cost }, { name: 'hash' }) as Promise<string>;
  }

  verify(password: string, hash: string): Promise<boolean> {
    return this.pool.run({ secret: prehash(password), hash }, { name: 'verify' }) as Promise<boolean>;
  }

  /**
   * The same work as a real comparison, for an email that has no account, so the two
   * login failures cannot be told apart by timing.
   */
  async verifyAgainstNothing(password: string): Promise<false> {
    this.dummyHash ??= this.hash('not-a-real-password-' + Math.random().toString(36));
    await this.verify(password, await this.dummyHash);
    return false;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
