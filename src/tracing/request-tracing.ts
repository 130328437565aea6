import type { IncomingHttpHeaders } from 'node:http';
import type { TracingConfig } from '../config/metrics';
import type { Logger } from '../logger';

/** What a span says of one request: the fields of its access-log line, which hold no secret. */
export interface TracedRequest {
  readonly headers: IncomingHttpHeaders;
  readonly requestId: string;
  readonly method: string;
  /** `/graphql`, `/healthz`, ... or `other`: a bounded set, for the span's name. */
  readonly route: string;
  readonly path: string;
  readonly operation: string | undefined;
  readonly operationName: string | undefined;
  readonly status: number;
  readonly clientIp: string | undefined;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface RequestTracing {
  /** One SERVER span for a finished request, child of the caller's `traceparent` when it sent one. */
  record(request: TracedRequest): void;
  /** Sends the spans still buffered (within the exporter's deadline) and stops. */
  shutdown(): Promise<void>;
}

/** The exporter gives up on a batch after this; shutdown waits at most about as long. */
const EXPORT_TIMEOUT_MS = 2000;

/**
 * OpenTelemetry tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set: one span per request, exported
 * over OTLP/HTTP in batches. The OpenTelemetry packages are imported here, on demand: without the
 * variable none of them is loaded. No global provider or context manager is installed, so the
 * cost per request is the span and nothing else.
 */
export async function startTracing(config: TracingConfig | undefined, logger: Logger): Promise<RequestTracing | undefined> {
  if (!config) return undefined;
  const [api, core, resources, sdk, exporter] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const provider = new sdk.TracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': config.serviceName }),
    spanProcessors: [
      new sdk.BatchSpanProcessor({
        exporter: new exporter.OTLPTraceExporter({ url: config.tracesUrl, timeoutMillis: EXPORT_TIMEOUT_MS }),
        exportTimeoutMillis: EXPORT_TIMEOUT_MS,
      }),
    ],
  });
  const tracer = provider.getTracer('graphql-auth-api');
  const propagator = new core.W3CTraceContextPropagator();
  logger.info({ tracesUrl: config.tracesUrl, serviceName: config.serviceName }, 'tracing: spans go to OTLP/HTTP');
  return {
    record(request) {
      const parent = propagator.extract(api.ROOT_CONTEXT, request.headers, api.defaultTextMapGetter);
      const name =
        request.operation === undefined ? `${request.method} ${request.route}` : `${request.method} ${request.route} ${request.operation}`;
      const span = tracer.startSpan(
        name,
        {
          kind: api.SpanKind.SERVER,
          startTime: request.startedAt,
          attributes: {
            'http.request.method': request.method,
            'http.route': request.route,
            'url.path': request.path,
            'http.response.status_code': request.status,
            'http.request.id': request.requestId,
            ...(request.clientIp === undefined ? {} : { 'client.address': request.clientIp }),
            ...(request.operation === undefined ? {} : { 'graphql.operation.root_field': request.operation }),
            ...(request.operationName === undefined ? {} : { 'graphql.operation.name': request.operationName }),
          },
        },
        parent,
      );
      if (request.status >= 500) span.setStatus({ code: api.SpanStatusCode.ERROR });
      span.end(request.endedAt);
    },
    async shutdown() {
      try {
        await provider.shutdown();
      } catch (err) {
        logger.warn({ err }, 'tracing: the last spans could not be sent');
      }
    },
  };
}
