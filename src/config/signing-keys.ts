import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { ConfigError } from './env';

export type SigningAlgorithm = 'ES256' | 'RS256';

/** One asymmetric access-token signing key from JWT_SIGNING_KEYS, parsed once at start-up. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'RS256'];

/**
 * JWT_SIGNING_KEYS: a JSON array of `{ kid, alg, privateKey }` (PEM), newest first. The first key
 * signs new access tokens; every listed key still verifies tokens carrying its `kid`.
 */
export function parseSigningKeys(raw: string | undefined): readonly SigningKey[] {
  const variable = 'JWT_SIGNING_KEYS';
  if (raw === undefined || raw.trim() === '') return Object.freeze([]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(variable, 'must be a JSON array of { "kid", "alg", "privateKey" } objects (invalid JSON)');
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new ConfigError(variable, 'must be a non-empty JSON array of { "kid", "alg", "privateKey" } objects');
  }
  const seen = new Set<string>();
  const keys = parsed.map((entry: unknown, index): SigningKey => {
    const at = `entry ${String(index)}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new ConfigError(variable, `${at} must be an object with kid, alg and privateKey`);
    }
    const { kid, alg, privateKey: pem } = entry as Record<string, unknown>;
    if (typeof kid !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(kid)) {
      throw new ConfigError(variable, `${at} needs a "kid" of 1 to 64 letters, digits or _.:-`);
    }
    if (seen.has(kid)) throw new ConfigError(variable, `has the kid "${kid}" more than once`);
    seen.add(kid);
    if (typeof alg !== 'string' || !(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new ConfigError(variable, `key "${kid}" needs "alg" ${SIGNING_ALGORITHMS.join(' or ')}`);
    }
    if (typeof pem !== 'string') throw new ConfigError(variable, `key "${kid}" needs "privateKey" as a PEM string`);
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: pem, format: 'pem' });
    } catch {
      throw new ConfigError(variable, `key "${kid}" has a "privateKey" that is not a readable PEM private key`);
    }
    const details = privateKey.asymmetricKeyDetails ?? {};
    if (alg === 'ES256' && (privateKey.asymmetricKeyType !== 'ec' || details.namedCurve !== 'prime256v1')) {
      throw new ConfigError(variable, `key "${kid}" must be an EC P-256 private key for ES256`);
    }
    if (alg === 'RS256' && (privateKey.asymmetricKeyType !== 'rsa' || (details.modulusLength ?? 0) < 2048)) {
      throw new ConfigError(variable, `key "${kid}" must be an RSA private key of at least 2048 bits for RS256`);
    }
    return Object.freeze({ kid, alg: alg as SigningAlgorithm, privateKey, publicKey: createPublicKey(privateKey) });
  });
  return Object.freeze(keys);
}
