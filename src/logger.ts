import { DriverException } from '@mikro-orm/core';
import pino from 'pino';
import type { Config } from './config';

export type Logger = pino.Logger;

/** Paths that could hold a secret anywhere in a log record; pino replaces them. */
const REDACTED_PATHS = [
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'accessToken',
  'refreshToken',
  'passwordHash',
  'authorization',
  'cookie',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.passwordHash',
  '*.authorization',
  '*.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'variables.*.password',
  'variables.*.newPassword',
  'variables.*.currentPassword',
];

/**
 * Database errors carry the failed SQL with its parameters inlined in their message and
 * stack (an INSERT would show a password hash): log only the driver's own words and codes.
 */
function serializeError(error: unknown): unknown {
  if (error instanceof DriverException) {
    return {
      type: error.name,
      code: error.code,
      sqlState: error.sqlState,
      message: error.message.split(' - ').at(-1),
    };
  }
  return error instanceof Error ? pino.stdSerializers.err(error) : error;
}

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'graphql-auth-api' },
    serializers: { err: serializeError },
  };
  return destination ? pino(options, destination) : pino(options);
}
