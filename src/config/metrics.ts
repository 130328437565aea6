import { ConfigError, parseInteger, parseSecret } from './env';

/**
 * Where `GET /metrics` is served. `token`: scrapes must send `Authorization: Bearer <token>`.
 * `port`: a listener of its own serves the metrics (and nothing else), and the API port does not.
 * Neither: metrics are off and `/metrics` answers 404, in every environment.
 */
export interface MetricsConfig {
  readonly token: Buffer | undefined;
  /** `0`: any free port (tests). */
  readonly port: number | undefined;
}

/** METRICS_TOKEN and METRICS_PORT, checked against the secrets and the API port they must not equal. */
export function parseMetrics(
  tokenRaw: string | undefined,
  portRaw: string | undefined,
  apiPort: number,
  otherSecrets: readonly Buffer[],
): MetricsConfig {
  // Same bar as the signing secrets: a scrape token others can guess exposes traffic figures.
  const token = tokenRaw === undefined ? undefined : parseSecret('METRICS_TOKEN', tokenRaw);
  if (token !== undefined && otherSecrets.some((secret) => secret.equals(token))) {
    throw new ConfigError(
      'METRICS_TOKEN',
      'must differ from the JWT secrets and MFA_ENCRYPTION_KEY (a scrape config is no place for them)',
    );
  }
  const port = portRaw === undefined ? undefined : parseInteger('METRICS_PORT', portRaw, 0, 65535);
  if (port !== undefined && port !== 0 && port === apiPort) {
    throw new ConfigError('METRICS_PORT', `must differ from PORT (${String(apiPort)}): metrics get a listener of their own`);
  }
  return Object.freeze({ token, port });
}
