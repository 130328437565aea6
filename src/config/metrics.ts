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

/** OpenTelemetry tracing: on only when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
export interface TracingConfig {
  /** Where spans go: the endpoint with `/v1/traces` appended, as OTLP/HTTP specifies. */
  readonly tracesUrl: string;
  readonly serviceName: string;
}

export function parseTracing(endpointRaw: string | undefined, serviceNameRaw: string | undefined): TracingConfig | undefined {
  if (endpointRaw === undefined) return undefined;
  let endpoint: URL | undefined;
  try {
    endpoint = new URL(endpointRaw.trim());
  } catch {
    endpoint = undefined;
  }
  if (!endpoint || (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:')) {
    throw new ConfigError('OTEL_EXPORTER_OTLP_ENDPOINT', 'must be an http(s) URL such as http://otel-collector:4318');
  }
  if (!endpoint.pathname.endsWith('/')) endpoint.pathname += '/';
  const serviceName = (serviceNameRaw ?? 'graphql-auth-api').trim();
  if (!/^[\w.-]{1,64}$/.test(serviceName)) throw new ConfigError('OTEL_SERVICE_NAME', 'must be 1 to 64 letters, digits or _.-');
  return Object.freeze({ tracesUrl: new URL('v1/traces', endpoint).toString(), serviceName });
}
