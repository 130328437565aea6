import { DriverException } from '@mikro-orm/core';
import pino from 'pino';
import pinoPretty from 'pino-pretty';
import type { Config } from './config/config';

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

/**
 * JSON lines (production, test, LOG_FORMAT=json) or pino-pretty's readable lines (the development
 * default). Redaction happens before either, so the pretty output hides the same secrets.
 * A `destination` (tests) always receives JSON.
 */
export function createLogger(
  config: Pick<Config, 'logLevel'> & Partial<Pick<Config, 'logFormat'>>,
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'graphql-auth-api' },
    serializers: { err: serializeError },
  };
  if (destination) return pino(options, destination);
  if (config.logFormat === 'pretty') {
    return pino(
      options,
      pinoPretty({ colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', sync: true }),
    );
  }
  return pino(options);
}
