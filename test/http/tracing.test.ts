// OpenTelemetry tracing as a collector sees it: with OTEL_EXPORTER_OTLP_ENDPOINT set, each request
// becomes a SERVER span, child of the caller's traceparent, sent over OTLP/HTTP; no secret in it.
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { loadConfig } from '../../src/config/config';
import { startTestApp, stopApps, testEnv, type TestApp } from '../helpers/app';
import { PASSWORD, signUp } from '../helpers/factories';
import { gql } from '../helpers/graphql';

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: number | string };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: OtlpAttribute[];
}
interface OtlpExport {
  resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

/** A local OTLP/HTTP receiver: keeps each export's path, content type and body. */
async function otlpReceiver(): Promise<{ url: string; exports: { path: string; type: string; body: string }[]; close(): Promise<void> }> {
  const exports: { path: string; type: string; body: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      exports.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    exports,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

const attribute = (attributes: OtlpAttribute[], key: string): string | number | undefined => {
  const value = attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
};

describe('tracing with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  let receiver: Awaited<ReturnType<typeof otlpReceiver>>;
  let app: TestApp;
  beforeAll(async () => {
    receiver = await otlpReceiver();
    app = await startTestApp({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'auth-api-under-test' } });
  });
  afterAll(async () => {
    await stopApps(app);
    await receiver.close();
  });

  it('sends a SERVER span per request, child of the incoming traceparent, with no secret in it', async () => {
    const user = await signUp(app);
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const requestId = `traced-${randomUUID()}`;
    const login = await gql(
      app,
      'mutation SignIn($input: LoginInput!) { login(input: $input) { accessToken } }',
      { input: { email: user.email, password: PASSWORD } },
      { headers: { traceparent: `00-${traceId}-${parentId}-01`, 'x-request-id': requestId } },
    );
    const accessToken = login.data?.['login'].accessToken as string;
    expect(accessToken).toBeTruthy();
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);

    // Stopping the app flushes the spans still batched.
    await app.stop();
    expect(receiver.exports.length).toBeGreaterThan(0);
    for (const sent of receiver.exports) {
      expect(sent.path).toBe('/v1/traces');
      expect(sent.type).toMatch(/^application\/json/);
    }
    const batches = receiver.exports.map((sent) => JSON.parse(sent.body) as OtlpExport);
    const resources = batches.flatMap((batch) => batch.resourceSpans.map((r) => r.resource.attributes));
    for (const resource of resources) expect(attribute(resource, 'service.name')).toBe('auth-api-under-test');
    const spans = batches.flatMap((batch) => batch.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));

    const loginSpan = spans.find((span) => attribute(span.attributes, 'http.request.id') === requestId);
    expect(loginSpan).toMatchObject({ name: 'POST /graphql login', kind: 2, traceId, parentSpanId: parentId });
    expect(attribute(loginSpan?.attributes ?? [], 'http.response.status_code')).toBe(200);
    expect(attribute(loginSpan?.attributes ?? [], 'graphql.operation.name')).toBe('SignIn');
    expect(attribute(loginSpan?.attributes ?? [], 'client.address')).toBe('127.0.0.1');
    expect(spans.some((span) => span.name === 'POST /graphql signup' && span.traceId !== traceId)).toBe(true);
    expect(spans.some((span) => span.name === 'GET /healthz' && span.parentSpanId === undefined)).toBe(true);

    const everything = receiver.exports.map((sent) => sent.body).join('\n');
    for (const secret of [PASSWORD, accessToken, user.accessToken, user.refreshToken]) expect(everything).not.toContain(secret);
  });
});

describe('tracing without OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('is off, and the app loads no OpenTelemetry SDK or exporter', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'auth-api-tracing-'));
    try {
      expect(loadConfig(testEnv({ dataDir, databaseUrl: undefined })).tracing).toBeUndefined();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    // A process of its own: Jest's module registry is no picture of what Node loads.
    const script = `
      require('reflect-metadata');
      require('./src/app');
      const pattern = /@opentelemetry[\\/](sdk-|exporter-|otlp-|resources|core)/;
      process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((file) => pattern.test(file))));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['-r', '@swc-node/register', '-e', script], {
      cwd: path.resolve(__dirname, '..', '..'),
      timeout: 60_000,
    });
    expect(JSON.parse(stdout)).toEqual([]);
  });
});
