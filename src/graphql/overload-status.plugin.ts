import type { ApolloServerPlugin } from '@apollo/server';
import type { FormattedExecutionResult } from 'graphql';
import type { Context } from '../context';
import { ErrorCode } from '../errors';

/**
 * The `Retry-After` seconds of a refusal for overload (`SERVICE_UNAVAILABLE` with `retryAfter`)
 * that left no data, or undefined: a response with some data keeps its 200, part of it succeeded.
 */
export function overloadRetryAfter(result: FormattedExecutionResult): number | undefined {
  const { data, errors } = result;
  if (data !== null && data !== undefined) return undefined;
  const retryAfter = (errors ?? [])
    .filter((error) => error.extensions?.['code'] === ErrorCode.SERVICE_UNAVAILABLE)
    .map((error) => error.extensions?.['retryAfter'])
    .filter((seconds): seconds is number => typeof seconds === 'number');
  return retryAfter.length === 0 ? undefined : Math.max(...retryAfter);
}

/**
 * A refusal for overload that left no data is also an HTTP 503 with `Retry-After`, which proxies,
 * load balancers and HTTP client libraries understand without reading the body.
 */
export function overloadStatusPlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const retryAfter = overloadRetryAfter(response.body.singleResult);
          if (retryAfter === undefined) return;
          response.http.status = 503;
          response.http.headers.set('retry-after', String(retryAfter));
        },
      };
    },
  };
}
