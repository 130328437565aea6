import type { ApolloServerPlugin } from '@apollo/server';
import type { Context } from '../context';
import { ErrorCode } from '../errors';

/**
 * A refusal for overload (`SERVICE_UNAVAILABLE` with `retryAfter`) that left no data is also an
 * HTTP 503 with `Retry-After`, which proxies, load balancers and HTTP client libraries understand
 * without reading the body. A response with some data keeps its 200: part of it succeeded.
 */
export function overloadStatusPlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const { data, errors } = response.body.singleResult;
          if (data !== null && data !== undefined) return;
          const retryAfter = (errors ?? [])
            .filter((error) => error.extensions?.['code'] === ErrorCode.SERVICE_UNAVAILABLE)
            .map((error) => error.extensions?.['retryAfter'])
            .filter((seconds): seconds is number => typeof seconds === 'number');
          if (retryAfter.length === 0) return;
          response.http.status = 503;
          response.http.headers.set('retry-after', String(Math.max(...retryAfter)));
        },
      };
    },
  };
}
