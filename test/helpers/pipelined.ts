import net from 'node:net';
import type { TestApp } from './app';
import type { GraphQLError } from './graphql';

/** A GraphQL POST of a pipelined batch. */
export interface PipelinedPost {
  readonly query: string;
  readonly token?: string;
}

export interface PipelinedAnswer {
  readonly status: number;
  /** The body as sent. */
  readonly text: string;
  readonly data: Record<string, any> | null | undefined;
  readonly errors: GraphQLError[] | undefined;
}

/**
 * HTTP/1.1 pipelining, as a client may use it: every request written to one connection in one
 * write, before any answer; the answers come back in the same order. The server reads them in one
 * go, so they reach the service together, in one turn of its event loop. Rejects when the answers
 * have not all come within `withinMs` or the connection ends first.
 */
export function pipelinedPosts(app: Pick<TestApp, 'url'>, posts: readonly PipelinedPost[], withinMs = 20_000): Promise<PipelinedAnswer[]> {
  const { hostname, port } = new URL(app.url);
  const requests = posts.map(({ query, token }) => {
    const body = JSON.stringify({ query });
    return [
      'POST /graphql HTTP/1.1',
      `host: ${hostname}:${port}`,
      'content-type: application/json',
      ...(token ? [`authorization: Bearer ${token}`] : []),
      `content-length: ${String(Buffer.byteLength(body))}`,
      '',
      body,
    ].join('\r\n');
  });
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const answers: PipelinedAnswer[] = [];
    let received = Buffer.alloc(0);
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(withinMs, () => {
      fail(new Error(`${String(answers.length)} of ${String(posts.length)} pipelined answers within ${String(withinMs)} ms`));
    });
    socket.on('error', fail);
    socket.on('end', () => {
      if (answers.length < posts.length)
        fail(new Error(`the connection ended after ${String(answers.length)} of ${String(posts.length)} answers`));
    });
    socket.on('connect', () => {
      socket.write(requests.join(''));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      for (;;) {
        const headEnd = received.indexOf('\r\n\r\n');
        if (headEnd === -1) return;
        const head = received.subarray(0, headEnd).toString('latin1');
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
        const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
        if (length === undefined) {
          fail(new Error(`a pipelined answer without content-length: ${head}`));
          return;
        }
        const end = headEnd + 4 + Number(length);
        if (received.length < end) return;
        const text = received.subarray(headEnd + 4, end).toString('utf8');
        const body = JSON.parse(text) as Pick<PipelinedAnswer, 'data' | 'errors'>;
        answers.push({ status, text, data: body.data, errors: body.errors });
        received = received.subarray(end);
        if (answers.length === posts.length) {
          socket.end();
          resolve(answers);
          return;
        }
      }
    });
  });
}
