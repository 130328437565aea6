import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import type { Context } from '../context';
import type { Logger } from '../logger';
import { isUnexpectedError } from './format-error';

/** Logs each unexpected error of one request with its request id; the client only sees a masked error. */
export function logUnexpectedErrors(
  logger: Logger,
  errors: readonly GraphQLError[],
  requestId: string,
  operationName: string | null | undefined,
): void {
  for (const error of errors) {
    if (isUnexpectedError(error)) {
      logger.error({ err: error.originalError ?? error, requestId, operationName, path: error.path }, 'request failed');
    }
  }
}

/** Logs every unexpected error with the request id; the client only sees a masked error. */
export function errorLoggingPlugin(logger: Logger): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          logUnexpectedErrors(logger, errors, contextValue.requestId, operationName);
        },
      };
    },
  };
}
