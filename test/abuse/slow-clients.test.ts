// Slow and idle clients against the real server over TCP: a client that dribbles its headers
// (slowloris) or stalls its body is answered 408 and disconnected after a short deadline instead of
// holding a descriptor for minutes, and connections beyond HTTP_MAX_CONNECTIONS are closed at once
// while the clients already connected are still served.
import net from 'node:net';
import { startTestApp, type TestApp } from '../helpers/app';
import { until } from '../helpers/eventually';
import { must } from '../helpers/must';

let app: TestApp;
let port: number;

beforeAll(async () => {
  app = await startTestApp({
    env: {
      HTTP_HEADERS_TIMEOUT: '1s',
      HTTP_REQUEST_TIMEOUT: '2s',
      // Long enough that the connections the cap test holds stay open for the whole test.
      HTTP_KEEP_ALIVE_TIMEOUT: '60s',
      HTTP_MAX_CONNECTIONS: '3',
    },
  });
  port = Number(new URL(app.url).port);
});

afterAll(async () => {
  await app.stop();
});

/** Far below Node's own defaults (60 s for headers, 300 s for a request): only a configured deadline meets it. */
const DEADLINE_MS = 20_000;

interface RawConnection {
  readonly socket: net.Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves with everything the server sent once it closed the connection. */
  readonly closed: Promise<string>;
}

function rawConnection(): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => (text += chunk));
    // A reset (a connection closed by the cap) ends the connection like a close.
    socket.on('error', () => undefined);
    const closed = new Promise<string>((done) =>
      socket.once('close', () => {
        done(text);
      }),
    );
    socket.once('connect', () => {
      resolve({ socket, received: () => text, closed });
    });
    socket.once('error', reject);
  });
}

/** Within `ms`, or a failure naming `what`: a generous bound, so the test never hangs. */
async function within<T>(what: string, promise: Promise<T>, ms = DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} did not happen within ${String(ms)} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One GET /healthz on a kept-alive connection; resolves once the whole answer has arrived. */
async function healthOn(connection: RawConnection): Promise<string> {
  const before = connection.received().length;
  connection.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
  await until('the /healthz answer', async () => connection.received().slice(before).includes('{"status":"ok"}'), DEADLINE_MS, 10);
  return connection.received().slice(before);
}

it('answers 408 and closes a connection whose headers trickle in byte by byte (slowloris)', async () => {
  const connection = await rawConnection();
  const headers = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n' + 'X-Padding: slowly\r\n'.repeat(1000);
  let sent = 0;
  // The attack itself: one byte every 20 ms, each well within any per-packet idle timeout.
  const dribble = setInterval(() => {
    if (connection.socket.destroyed || sent >= headers.length) return;
    connection.socket.write(headers[sent++] ?? '');
  }, 20);
  try {
    const answer = await within('closing the slowloris connection', connection.closed);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(sent).toBeLessThan(headers.length);
  } finally {
    clearInterval(dribble);
    connection.socket.destroy();
  }
}, 60_000);

it('answers 408 and closes a connection whose body stalls', async () => {
  const connection = await rawConnection();
  connection.socket.write(
    'POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"query":',
  );
  try {
    const answer = await within('closing the stalled connection', connection.closed);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  } finally {
    connection.socket.destroy();
  }
}, 60_000);

it('closes connections beyond HTTP_MAX_CONNECTIONS at once and keeps serving the connected clients', async () => {
  // Three clients, each served once, so the server holds their connections (kept alive).
  const held = [await rawConnection(), await rawConnection(), await rawConnection()];
  try {
    for (const connection of held) expect(await healthOn(connection)).toMatch(/^HTTP\/1\.1 200 /);

    // The fourth is closed without an answer, even though it sends a complete request.
    const extra = await rawConnection();
    extra.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(await within('closing the connection beyond the cap', extra.closed)).toBe('');

    // The connected clients are still served.
    expect(await healthOn(must(held[0], 'the first connection'))).toMatch(/^HTTP\/1\.1 200 /);

    // Once one of them leaves, a new client gets in.
    const leaving = must(held.pop(), 'the last connection');
    leaving.socket.destroy();
    await leaving.closed;
    await until(
      'a new connection to be served',
      async () => {
        const next = await rawConnection();
        next.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
        return (await next.closed).startsWith('HTTP/1.1 200 ');
      },
      DEADLINE_MS,
      50,
    );
  } finally {
    for (const connection of held) connection.socket.destroy();
  }
}, 60_000);
