import { PostgreSqlConnection } from '@mikro-orm/postgresql';
import type { Pool, PoolClient } from 'pg';
import type { Orm } from './orm';

/** PostgreSQL's answer when a prepared statement's result columns changed type since it was planned. */
const RESULT_TYPE_CHANGED = '0A000';

function resultTypeChanged(error: unknown): boolean {
  const { code, message } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  return code === RESULT_TYPE_CHANGED && typeof message === 'string' && message.includes('must not change result type');
}

/** A parameter of a prepared statement: sent as text (`null`: SQL NULL). */
type StatementParameter = string | null;

/** A row as positional values, in the order of the statement's select list, converted to JavaScript values. */
export type PositionalRow = readonly unknown[];

type TextParser = (text: string) => unknown;

/** The parts of pg's protocol connection (pg/lib/connection.js) an execution writes to. */
interface ProtocolConnection {
  readonly stream: { cork(): void; uncork(): void };
  readonly parsedStatements: Record<string, string | undefined>;
  readonly submittedNamedStatements: Record<string, string | undefined>;
  parse(query: { text: string; name: string; types: readonly number[] }): void;
  bind(config: { portal: string; statement: string; values: readonly StatementParameter[]; binary: boolean }): void;
  describe(message: { type: 'P'; name: string }): void;
  execute(config: { portal: string; rows: number }): void;
  sync(): void;
  sendCopyFail(message: string): void;
}

interface RowDescription {
  readonly fields: readonly { readonly dataTypeID: number }[];
}

/**
 * One execution of a named statement on one client, as a pg "submittable" (the interface pg-cursor
 * and pg-query-stream implement): Parse the first time on a connection, then Bind, Execute, Sync,
 * written in one go. Describe only while the column types are not known yet: without it the server
 * sends no RowDescription, and pg builds no field list, no parser list and no row object per
 * execution. Rows are kept as the column texts the server sent; the caller converts them.
 */
class Execution {
  /** Set by pg's client.query (the client's own, or its read-timeout wrapper around it). */
  callback: ((error: Error | null, rows?: (string | null)[][]) => void) | undefined;
  /** The row description, when `describe` asked for one. */
  described: RowDescription | undefined;
  private readonly rows: (string | null)[][] = [];

  constructor(
    /** Read by pg's client when the server confirms the Parse (its per-connection list of prepared statements). */
    readonly name: string,
    readonly text: string,
    private readonly values: readonly StatementParameter[],
    private readonly describe: boolean,
  ) {}

  submit(connection: ProtocolConnection): undefined {
    const prepared = connection.parsedStatements[this.name] !== undefined || connection.submittedNamedStatements[this.name] !== undefined;
    connection.stream.cork();
    try {
      if (!prepared) {
        connection.parse({ text: this.text, name: this.name, types: [] });
        connection.submittedNamedStatements[this.name] = this.text;
      }
      connection.bind({ portal: '', statement: this.name, values: this.values, binary: false });
      if (this.describe) connection.describe({ type: 'P', name: '' });
      connection.execute({ portal: '', rows: 0 });
      connection.sync();
    } finally {
      connection.stream.uncork();
    }
    return undefined;
  }

  handleRowDescription(message: RowDescription): void {
    this.described = message;
  }

  handleDataRow(message: { readonly fields: (string | null)[] }): void {
    this.rows.push(message.fields);
  }

  handleCommandComplete(): void {
    // the rows are complete; the answer comes with ReadyForQuery
  }

  handleEmptyQuery(): void {
    // not sent for a select
  }

  handlePortalSuspended(): void {
    // not sent: Execute asks for every row
  }

  handleCopyInResponse(connection: ProtocolConnection): void {
    connection.sendCopyFail('No source stream defined');
  }

  handleCopyData(): void {
    // not sent for a select
  }

  handleError(error: Error): void {
    this.callback?.(error);
  }

  handleReadyForQuery(): void {
    this.callback?.(null, this.rows);
  }
}

/** Told of each batch written (the metrics: viewer reads per round trip). */
export interface BatchObserver {
  written(size: number): void;
}

/** Reads written to the server in one round trip at most (the keys of one execution). */
const MAX_BATCH = 64;

/** A read waiting for its batch to be written. */
interface Waiting {
  readonly key: string;
  readonly resolve: (rows: PositionalRow[]) => void;
  readonly reject: (error: unknown) => void;
}

/** PostgreSQL's text form of an array of text keys, for a `$1::<type>[]` parameter: each element quoted. */
function arrayLiteral(keys: readonly string[]): string {
  return `{${keys.map((key) => `"${key.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}

/** A query by key: for one key, and for several at once. */
export interface KeyedQuery {
  /** The query of one key, `$1`. */
  readonly text: string;
  /** The same query for several keys, `$1` an array of them (`... = any($1::uuid[])`). */
  readonly batchText: string;
  /**
   * The select-list position of the key column. A row belongs to the read whose key equals that
   * column's text as the server sends it (for `uuid`, lower case): keys are given in that form.
   */
  readonly keyColumn: number;
}

/**
 * A query by key that runs on every request, with fixed SQL text, whose rows come back as positional
 * values in the order of its select list.
 *
 * On a PostgreSQL server (and `named`) it is a named prepared statement on the ORM's own pool:
 * each pooled connection parses and plans it once, then only binds and executes it, where the
 * ORM would send the text with its values inlined, parsed and planned anew on every call. It runs
 * with the pool's deadlines (`DATABASE_STATEMENT_TIMEOUT`, the client-side read deadline) like
 * every statement of the ORM. The column types are asked for (Describe) until one execution has
 * told them; their values are then converted by the pool's own type parsers, as pg converts the
 * ORM's rows.
 *
 * The reads asked for during one turn of the event loop (the requests whose bytes arrived
 * together) are one execution of the statement for all their keys (`batchText`), written once the
 * turn's I/O callbacks have run (`setImmediate`): under load, one round trip and one statement
 * answer several requests; a lone request makes a batch of one. Each read gets the rows of its own
 * key. The reads of a batch share its outcome: one statement, one deadline, one error for all.
 *
 * A migration that changes the type of a selected column makes PostgreSQL refuse the statements
 * already prepared ("cached plan must not change result type", 0A000): each read of the batch is
 * then sent again, once, under a new name, which each connection prepares afresh, and the column
 * types are asked for again; the old statement stays unused until its connection closes.
 *
 * On the embedded database (PGlite: one in-process connection, no pool), or with `named` false
 * (a pooler that cannot keep prepared statements), each read goes through the ORM's connection like
 * any raw query, one key at a time (`text`).
 */
export class PreparedStatement {
  private generation = 1;
  /** The converters of the current generation's columns, once an execution described them. */
  private parsers: { readonly generation: number; readonly parse: readonly TextParser[] } | undefined;
  private readonly unnamedText: string;
  /** The reads asked for since the last batch was written, and the pool to write them to. */
  private waiting: { readonly pool: Pool; readonly reads: Waiting[] } | undefined;
  private readonly writeWaiting = (): void => {
    const { waiting } = this;
    this.waiting = undefined;
    if (waiting) void this.send(waiting.pool, waiting.reads);
  };

  constructor(
    private readonly orm: Orm,
    private readonly name: string,
    private readonly query: KeyedQuery,
    private readonly named: boolean,
    private readonly observer?: BatchObserver,
  ) {
    // The ORM's raw queries take `?` placeholders.
    this.unnamedText = query.text.replace(/\$\d+/g, '?');
  }

  async rows(key: string): Promise<PositionalRow[]> {
    const connection = this.orm.em.getConnection();
    if (!this.named || !(connection instanceof PostgreSqlConnection)) {
      const rows = await connection.execute<Record<string, unknown>[]>(this.unnamedText, [key], 'all');
      // Keyed by the select list's distinct aliases, in its order.
      return rows.map((row) => Object.values(row));
    }
    const pool: Pool = await connection.getNativeClient();
    try {
      return await this.queue(pool, key);
    } catch (error) {
      // The batch failed on a statement a migration changed, and moved on to a new name: once more.
      if (!resultTypeChanged(error)) throw error;
      return this.queue(pool, key);
    }
  }

  /** Joins the batch of this turn of the event loop (a new one when it is full). */
  private queue(pool: Pool, key: string): Promise<PositionalRow[]> {
    return new Promise((resolve, reject) => {
      let { waiting } = this;
      if (waiting?.pool !== pool) {
        if (waiting) this.writeWaiting();
        waiting = { pool, reads: [] };
        this.waiting = waiting;
        setImmediate(this.writeWaiting);
      }
      waiting.reads.push({ key, resolve, reject });
      if (waiting.reads.length >= MAX_BATCH) this.writeWaiting();
    });
  }

  /** Runs a batch on one pooled connection and settles each of its reads; never rejects. */
  private async send(pool: Pool, reads: readonly Waiting[]): Promise<void> {
    const generation = this.generation;
    const known = this.parsers?.generation === generation ? this.parsers.parse : undefined;
    const keys = [...new Set(reads.map((read) => read.key))];
    const execution = new Execution(`${this.name}_${String(generation)}`, this.query.batchText, [arrayLiteral(keys)], known === undefined);
    const fail = (error: unknown): void => {
      // Concurrent batches that meet the same change move on to one new name together.
      if (resultTypeChanged(error) && this.generation === generation) this.generation = generation + 1;
      for (const read of reads) read.reject(error);
    };
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      fail(error);
      return;
    }
    this.observer?.written(reads.length);
    let texts: (string | null)[][];
    try {
      texts = await execute(client, execution);
    } catch (error) {
      // As pg-pool's own pool.query does: a client whose query failed is not used again.
      client.release(error instanceof Error ? error : new Error('the statement failed'));
      fail(error);
      return;
    }
    let parse = known;
    if (parse === undefined) {
      const { described } = execution;
      if (!described) {
        const missing = new Error(`${execution.name}: the server sent no row description`);
        client.release(missing);
        fail(missing);
        return;
      }
      // The pool's type parsers (pg's defaults and whatever the ORM set), as for every other query.
      const types = client as unknown as { getTypeParser(oid: number, format: 'text'): TextParser };
      parse = described.fields.map((field) => types.getTypeParser(field.dataTypeID, 'text'));
      if (generation >= (this.parsers?.generation ?? 0)) this.parsers = { generation, parse };
    }
    client.release();
    const columns = parse;
    const byKey = new Map<string | null | undefined, PositionalRow[]>();
    for (const row of texts) {
      const key = row[this.query.keyColumn];
      const converted = row.map((text, i) => (text === null ? null : columns[i]?.(text)));
      const found = byKey.get(key);
      if (found) found.push(converted);
      else byKey.set(key, [converted]);
    }
    for (const read of reads) read.resolve(byKey.get(read.key) ?? []);
  }
}

/**
 * Runs an execution on a checked-out client. While it runs, the client's 'error' event (its
 * connection lost) fails the execution instead of going unheard, as in pg-pool's pool.query.
 */
function execute(client: PoolClient, execution: Execution): Promise<(string | null)[][]> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const onError = (error: Error): void => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    client.once('error', onError);
    execution.callback = (error, rows) => {
      client.removeListener('error', onError);
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve(rows ?? []);
    };
    (client as unknown as { query(submittable: Execution): unknown }).query(execution);
  });
}
