import { GraphQLError } from 'graphql';
import { isDatabaseUnavailable } from '../../src/db/database-unavailable';

function withCode(code: string, message = 'failure'): Error {
  return Object.assign(new Error(message), { code });
}

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a refused connection', withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['a reset connection', withCode('ECONNRESET')],
    ['an administrator shutdown (57P01)', withCode('57P01', 'terminating connection due to administrator command')],
    ['a server starting up (57P03)', withCode('57P03', 'the database system is starting up')],
    ['a connection exception (08006)', withCode('08006')],
    ['too many connections (53300)', withCode('53300')],
    ['a full disk (53100)', withCode('53100', 'could not extend file: No space left on device')],
    ['a full filesystem (ENOSPC)', withCode('ENOSPC')],
    ["PGlite's filesystem out of space (emscripten ErrnoError 51)", { name: 'ErrnoError', errno: 51 }],
    ['a connection lost mid-query', new Error('Connection terminated unexpectedly')],
    ['a connect that timed out', new Error('Connection terminated due to connection timeout')],
    ['a pool that found no connection in time', new Error('timeout exceeded when trying to connect')],
    ['a query on a dead client', new Error('Client has encountered a connection error and is not queryable')],
    ['a statement timeout (57014)', withCode('57014', 'canceling statement due to statement timeout')],
    ['a lock timeout (55P03)', withCode('55P03', 'canceling statement due to lock timeout')],
    ['an idle transaction ended (25P03)', withCode('25P03', 'terminating connection due to idle-in-transaction timeout')],
    ["pg's client-side deadline", new Error('Query read timeout')],
  ])('recognises %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('looks through GraphQL wrappers, non-Error throws, causes and aggregate errors', () => {
    const refused = { errno: -111, code: 'ECONNREFUSED', syscall: 'connect' };
    expect(
      isDatabaseUnavailable(
        new GraphQLError('Unexpected error value', { originalError: Object.assign(new Error('x'), { thrownValue: refused }) }),
      ),
    ).toBe(true);
    expect(isDatabaseUnavailable(new Error('outer', { cause: withCode('57P01') }))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'connect failed'))).toBe(true);
  });

  it.each([
    ['a unique violation (23505)', withCode('23505', 'duplicate key value violates unique constraint')],
    ['a raised exception (P0001)', withCode('P0001', 'injected failure')],
    ['a syntax error (42601)', withCode('42601')],
    ['a protocol violation (08P01), such as a NUL byte in a value', withCode('08P01', 'invalid byte sequence')],
    ['a plain bug', new TypeError('Cannot read properties of undefined')],
    ['out of memory (53200)', withCode('53200')],
    ["PGlite's filesystem: no such file (ErrnoError 44)", { name: 'ErrnoError', errno: 44 }],
    ['a non-object', 'ECONNREFUSED'],
    ['null', null],
  ])('does not take %s for an outage', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('stops on a cycle of causes', () => {
    const a: Error & { cause?: unknown } = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(isDatabaseUnavailable(a)).toBe(false);
  });
});
