import { createHmac, randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';

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

/**
 * Hashing and comparison on a pool of worker threads sized to the machine, so that
 * logins use every core and never block the event loop.
 */
export class PasswordHasher {
  private readonly pool: Piscina;

  /**
   * What `verifyAgainstNothing` compares with: the hash of a random secret, made once, at
   * construction (so not even the first unknown email pays for making it), with the same
   * cost as every real hash.
   */
  readonly decoyHash: Promise<string>;

  constructor(private readonly cost: number) {
    this.pool = new Piscina({
      filename: path.join(__dirname, 'password.worker.js'),
      minThreads: 1,
      maxThreads: Math.max(1, availableParallelism()),
      idleTimeout: 60_000,
    });
    this.decoyHash = this.hash(randomBytes(32).toString('base64'));
    // A pool closed before the decoy is made (a short-lived CLI) must not leave an unhandled rejection.
    this.decoyHash.catch(() => undefined);
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
    await this.verify(password, await this.decoyHash);
    return false;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
