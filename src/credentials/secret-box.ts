import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/**
 * Secrets kept at rest (TOTP seeds) encrypted with AES-256-GCM under a key from configuration:
 * `v1.<iv>.<ciphertext>.<tag>` in base64url. A row read from a stolen backup is useless without
 * the key; a row altered in the database fails authentication instead of decrypting to garbage.
 * The same key, through HKDF, keys the HMAC that hashes recovery codes.
 */
export class SecretBox {
  private readonly encryptionKey: Buffer;
  private readonly hashKey: Buffer;

  constructor(key: Buffer) {
    this.encryptionKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'graphql-auth-api/secret-box/aes-256-gcm', 32));
    this.hashKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'graphql-auth-api/secret-box/hmac', 32));
  }

  /** `context` (the owner's id) is bound in: a sealed value copied to another row does not open. */
  seal(plain: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, iv, body, cipher.getAuthTag()].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
  }

  open(sealed: string, context: string): string {
    const [version, iv, body, tag] = sealed.split('.');
    if (version !== VERSION || iv === undefined || body === undefined || tag === undefined) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** A keyed hash (hex) for short secrets such as recovery codes, which bcrypt would make slow to look up. */
  hash(value: string): string {
    return createHmac('sha256', this.hashKey).update(value, 'utf8').digest('hex');
  }
}
