import type { ApolloServerPlugin } from '@apollo/server';
import type { Context } from '../context';
import type { Logger } from '../logger';
import { isUnexpectedError } from './format-error';

/** Logs every unexpected error with the request id; the client only sees a masked error. */
export function errorLoggingPlugin(logger: Logger): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          for (const error of errors) {
            if (isUnexpectedError(error)) {
              logger.error(
                { err: error.originalError ?? error, requestId: contextValue.requestId, operationName, path: error.path },
                'request failed',
              );
            }
          }
        },
      };
    },
  };
}
