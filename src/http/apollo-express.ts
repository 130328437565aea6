import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLRequest } from '@apollo/server';
import type { Request, RequestHandler, Response } from 'express';

export interface ApolloHandlerOptions<TContext extends BaseContext> {
  readonly context: (args: { req: Request; res: Response }) => Promise<TContext>;
}

/** `?` and what follows, without the fragment (clients do not send one; Node would pass it on). */
function searchOf(url: string): string {
  const question = url.indexOf('?');
  if (question === -1) return '';
  const hash = url.indexOf('#', question);
  return hash === -1 ? url.slice(question) : url.slice(question, hash);
}

/** Node's headers as Apollo's map: multi-valued headers joined with `, `, as the Fetch API does. */
function headersOf(req: Request): HeaderMap {
  const headers = new HeaderMap();
  const raw = req.headers;
  for (const key in raw) {
    const value = raw[key];
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

/**
 * Serves Apollo Server from Express, in place of `@as-integrations/express5` (1.1.2 and 2.0.0-alpha.1
 * alike), which costs every request twice: `url.parse()` (on Node 24 it inspects the stack for its
 * deprecation check on every call) and `res.send()` (hashes each body for an ETag that a `no-store`
 * POST never uses). Here the search string is sliced from `req.url`, and the answer is written with
 * `writeHead`/`end`. Otherwise it does what the upstream handler does: the context function runs in
 * Apollo's pipeline, incremental (`@defer`) answers are streamed chunk by chunk, and anything that
 * throws goes to Express's error handler through `next`.
 */
export function apolloHandler<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  options: ApolloHandlerOptions<TContext>,
): RequestHandler {
  server.assertStarted('apolloHandler()');
  const { context } = options;
  return async (req, res, next) => {
    try {
      if (!('body' in req)) {
        // express.json() always sets req.body (to undefined when there is no JSON body).
        next(new Error('req.body is not set: express.json() must run before the GraphQL handler'));
        return;
      }
      const httpGraphQLRequest: HTTPGraphQLRequest = {
        method: req.method.toUpperCase(),
        headers: headersOf(req),
        search: searchOf(req.url),
        body: req.body,
      };
      const response = await server.executeHTTPGraphQLRequest({ httpGraphQLRequest, context: () => context({ req, res }) });
      for (const [key, value] of response.headers) res.setHeader(key, value);
      res.statusCode = response.status ?? 200;
      if (response.body.kind === 'complete') {
        const body = response.body.string;
        res.setHeader('content-length', Buffer.byteLength(body));
        res.writeHead(res.statusCode);
        // HEAD is answered like GET by Apollo; Node drops the body of a HEAD response itself.
        res.end(body);
        return;
      }
      res.writeHead(res.statusCode);
      for await (const chunk of response.body.asyncIterator) {
        res.write(chunk);
      }
      res.end();
    } catch (error) {
      next(error);
    }
  };
}
