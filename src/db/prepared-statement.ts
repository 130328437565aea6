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
export type StatementParameter = string | null;

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

/** Told of each batch written (the metrics: viewer reads per round trip). */
export interface BatchObserver {
  written(size: number): void;
}

/** An execution waiting for its batch to be written. */
interface Waiting {
  readonly generation: number;
  readonly values: readonly StatementParameter[];
  readonly resolve: (rows: PositionalRow[]) => void;
  readonly reject: (error: unknown) => void;
}

/** One execution of a batch: a statement name (its generation), its parameters, what came back. */
interface Entry {
  /** The request's execution this entry writes. */
  readonly execution: Waiting;
  readonly name: string;
  readonly values: readonly StatementParameter[];
  /** The converters of its generation's columns, known when the batch was written; otherwise a Describe is sent. */
  readonly parse: readonly TextParser[] | undefined;
  described: RowDescription | undefined;
  readonly rows: (string | null)[][];
}

/**
 * Executions of named statements on one client, written together as one pg "submittable" (the
 * interface pg-cursor and pg-query-stream implement): for each, Parse the first time its name is
 * used on the connection, then Bind, Execute; one Sync at the end. PostgreSQL reads them in one go,
 * runs them in order (each with its own statement_timeout) and flushes the answers once, at the
 * ReadyForQuery that answers the Sync: one write each way for the whole batch, where an execution
 * each would wake the server process, and then this one, once per request.
 *
 * Describe only while the column types are not known yet: without it the server sends no
 * RowDescription, and pg builds no field list, no parser list and no row object per execution.
 * Rows are kept as the column texts the server sent; the caller converts them.
 *
 * The server's messages come in the entries' order, each entry's ending with CommandComplete. An
 * error ends the batch at the entry that failed (`done` entries ran; those after it were skipped by
 * the server, which discards everything up to the Sync).
 */
class Batch {
  /** Set by pg's client.query (the client's own, or its read-timeout wrapper around it). */
  callback: ((error: Error | null) => void) | undefined;
  /** Entries whose CommandComplete came: the one the server's messages are about is `entries[done]`. */
  done = 0;

  constructor(
    readonly text: string,
    readonly entries: readonly Entry[],
  ) {}

  /**
   * Read by pg's client when the server confirms a Parse (its per-connection list of prepared
   * statements) or reports an error: the name of the entry the server's messages are about.
   */
  get name(): string | undefined {
    return this.entries[this.done]?.name;
  }

  submit(connection: ProtocolConnection): undefined {
    connection.stream.cork();
    try {
      for (const entry of this.entries) {
        const { name } = entry;
        if (connection.parsedStatements[name] === undefined && connection.submittedNamedStatements[name] === undefined) {
          connection.parse({ text: this.text, name, types: [] });
          connection.submittedNamedStatements[name] = this.text;
        }
        connection.bind({ portal: '', statement: name, values: entry.values, binary: false });
        if (!entry.parse) connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '', rows: 0 });
      }
      connection.sync();
    } finally {
      connection.stream.uncork();
    }
    return undefined;
  }

  handleRowDescription(message: RowDescription): void {
    const entry = this.entries[this.done];
    if (entry) entry.described = message;
  }

  handleDataRow(message: { readonly fields: (string | null)[] }): void {
    this.entries[this.done]?.rows.push(message.fields);
  }

  handleCommandComplete(): void {
    this.done++;
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
    this.callback?.(null);
  }
}

/** Executions written to one connection at most, in one batch. */
const MAX_BATCH = 64;

/** Why an execution did not run: one written before it in its batch failed (the error it failed with). */
class Skipped extends Error {
  constructor(readonly reason: unknown) {
    super('skipped: an execution before it in its batch failed');
  }
}

/**
 * Whether the executions skipped after a failed one are queued again: only when the statement
 * itself was refused (a migration changed a selected column's type), which the next batch, under
 * the statement's new name, does not meet. Any other failure (a deadline, the connection lost, the
 * server shutting down) is the database's, and would meet the next batch too: the skipped ones
 * fail with it, within the deadline they shared, rather than wait as long again.
 */
function skippedMayRunAgain(failure: unknown): boolean {
  return resultTypeChanged(failure);
}

/**
 * A query that runs on every request, with fixed SQL text and `$n` parameters, whose rows come back
 * as positional values in the order of its select list.
 *
 * On a PostgreSQL server (and `named`) it is a named prepared statement on the ORM's own pool:
 * each pooled connection parses and plans it once, then only binds and executes it, where the
 * ORM would send the text with its values inlined, parsed and planned anew on every call. It runs
 * with the pool's deadlines (`DATABASE_STATEMENT_TIMEOUT`, the client-side read deadline) like
 * every statement of the ORM. The column types are asked for (Describe) until one execution has
 * told them; their values are then converted by the pool's own type parsers, as pg converts the
 * ORM's rows.
 *
 * The executions asked for during one turn of the event loop (the requests whose bytes arrived
 * together) are written as one batch on one pooled connection, once the turn's I/O callbacks have
 * run (`setImmediate`): under load, one round trip answers several requests. A batch of one is what
 * a lone request gets. Each execution runs as a statement of its own, with its own deadline. When
 * one fails, the server skips those written after it in the batch: they are queued again if the
 * statement was refused for a migration (below), and fail with the same error otherwise (a
 * deadline passed, the connection or the server gone), which the next batch would meet too.
 *
 * A migration that changes the type of a selected column makes PostgreSQL refuse the statements
 * already prepared ("cached plan must not change result type", 0A000): the query is then sent again
 * once under a new name, which each connection prepares afresh, and its column types are asked for
 * again; the old statement stays unused until its connection closes.
 *
 * On the embedded database (PGlite: one in-process connection, no pool), or with `named` false
 * (a pooler that cannot keep prepared statements), it goes through the ORM's connection like any
 * raw query.
 */
export class PreparedStatement {
  private generation = 1;
  /** The converters of the current generation's columns, once an execution described them. */
  private parsers: { readonly generation: number; readonly parse: readonly TextParser[] } | undefined;
  private readonly unnamedText: string;
  /** The executions asked for since the last batch was written, and the pool to write them to. */
  private waiting: { readonly pool: Pool; readonly executions: Waiting[] } | undefined;
  private readonly writeWaiting = (): void => {
    const { waiting } = this;
    this.waiting = undefined;
    if (waiting) void this.send(waiting.pool, waiting.executions);
  };

  constructor(
    private readonly orm: Orm,
    private readonly name: string,
    private readonly text: string,
    private readonly named: boolean,
    private readonly observer?: BatchObserver,
  ) {
    // The ORM's raw queries take `?` placeholders.
    this.unnamedText = text.replace(/\$\d+/g, '?');
  }

  async rows(values: readonly StatementParameter[]): Promise<PositionalRow[]> {
    const connection = this.orm.em.getConnection();
    if (!this.named || !(connection instanceof PostgreSqlConnection)) {
      const rows = await connection.execute<Record<string, unknown>[]>(this.unnamedText, [...values], 'all');
      // Keyed by the select list's distinct aliases, in its order.
      return rows.map((row) => Object.values(row));
    }
    const pool: Pool = await connection.getNativeClient();
    let generation = this.generation;
    let renamed = false;
    let skipped = false;
    for (;;) {
      try {
        return await this.queue(pool, generation, values);
      } catch (error) {
        if (error instanceof Skipped) {
          // Queued once more, under the newest name (the one that failed may have renamed it).
          if (skipped) throw error.reason;
          skipped = true;
          generation = this.generation;
        } else if (!renamed && resultTypeChanged(error)) {
          renamed = true;
          // Concurrent requests that hit the same change move on to one new name together.
          if (this.generation === generation) this.generation = generation + 1;
          generation = this.generation;
        } else {
          throw error;
        }
      }
    }
  }

  /** Joins the batch of this turn of the event loop (a new one when it is full). */
  private queue(pool: Pool, generation: number, values: readonly StatementParameter[]): Promise<PositionalRow[]> {
    return new Promise((resolve, reject) => {
      let { waiting } = this;
      if (waiting?.pool !== pool) {
        if (waiting) this.writeWaiting();
        waiting = { pool, executions: [] };
        this.waiting = waiting;
        setImmediate(this.writeWaiting);
      }
      waiting.executions.push({ generation, values, resolve, reject });
      if (waiting.executions.length >= MAX_BATCH) this.writeWaiting();
    });
  }

  /** The converters of a generation's columns, when known. */
  private knownParsers(generation: number): readonly TextParser[] | undefined {
    return this.parsers?.generation === generation ? this.parsers.parse : undefined;
  }

  /** Writes a batch on one pooled connection and settles each of its executions; never rejects. */
  private async send(pool: Pool, executions: readonly Waiting[]): Promise<void> {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      for (const execution of executions) execution.reject(error);
      return;
    }
    const entries: Entry[] = executions.map((execution) => ({
      execution,
      name: `${this.name}_${String(execution.generation)}`,
      values: execution.values,
      parse: this.knownParsers(execution.generation),
      described: undefined,
      rows: [],
    }));
    const batch = new Batch(this.text, entries);
    this.observer?.written(entries.length);
    let failure: unknown;
    try {
      await execute(client, batch);
    } catch (error) {
      failure = error;
    }
    // The columns' converters: learnt from a description when one came (the pool's own type parsers,
    // pg's defaults and whatever the ORM set, as for every other query).
    const types = client as unknown as { getTypeParser(oid: number, format: 'text'): TextParser };
    const parsersOf = (generation: number, entry: Entry): readonly TextParser[] | undefined => {
      if (entry.parse || !entry.described) return entry.parse;
      const parse = entry.described.fields.map((field) => types.getTypeParser(field.dataTypeID, 'text'));
      if (generation >= (this.parsers?.generation ?? 0)) this.parsers = { generation, parse };
      return parse;
    };
    let missing: Error | undefined;
    entries.forEach((entry, i) => {
      const { generation, resolve, reject } = entry.execution;
      if (i > batch.done) {
        reject(skippedMayRunAgain(failure) ? new Skipped(failure) : failure);
        return;
      }
      if (i === batch.done) {
        // The one that failed (every execution but one that never ran has CommandComplete).
        reject(failure ?? new Error(`${entry.name}: the server did not complete the execution`));
        return;
      }
      const columns = parsersOf(generation, entry);
      if (!columns) {
        missing ??= new Error(`${entry.name}: the server sent no row description`);
        reject(missing);
        return;
      }
      resolve(entry.rows.map((row) => row.map((text, column) => (text === null ? null : columns[column]?.(text)))));
    });
    // As pg-pool's own pool.query does: a client whose query failed is not used again.
    if (failure !== undefined) client.release(failure instanceof Error ? failure : new Error('the batch failed'));
    else client.release(missing);
  }
}

/**
 * Runs a batch on a checked-out client. While it runs, the client's 'error' event (its connection
 * lost) fails the batch instead of going unheard, as in pg-pool's pool.query.
 */
function execute(client: PoolClient, batch: Batch): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const onError = (error: Error): void => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    client.once('error', onError);
    batch.callback = (error) => {
      client.removeListener('error', onError);
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve();
    };
    (client as unknown as { query(submittable: Batch): unknown }).query(batch);
  });
}
