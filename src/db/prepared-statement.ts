import { PostgreSqlConnection } from '@mikro-orm/postgresql';
import type { Pool } from 'pg';
import type { Orm } from './orm';

/** PostgreSQL's answer when a prepared statement's result columns changed type since it was planned. */
const RESULT_TYPE_CHANGED = '0A000';

function resultTypeChanged(error: unknown): boolean {
  const { code, message } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  return code === RESULT_TYPE_CHANGED && typeof message === 'string' && message.includes('must not change result type');
}

/**
 * A query that runs on every request, with fixed SQL text and `$n` parameters.
 *
 * On a PostgreSQL server (and `named`) it is a named prepared statement on the ORM's own pool:
 * each pooled connection parses and plans it once, then only binds and executes it, where the
 * ORM would send the text with its values inlined, parsed and planned anew on every call. It runs
 * with the pool's deadlines (`DATABASE_STATEMENT_TIMEOUT`) like every statement of the ORM.
 *
 * A migration that changes the type of a selected column makes PostgreSQL refuse the statements
 * already prepared ("cached plan must not change result type", 0A000): the query is then sent again
 * once under a new name, which each connection prepares afresh; the old one stays unused until
 * its connection closes.
 *
 * On the embedded database (PGlite: one in-process connection, no pool), or with `named` false
 * (a pooler that cannot keep prepared statements), it goes through the ORM's connection like any
 * raw query.
 */
export class PreparedStatement<Row extends object> {
  private generation = 1;
  private readonly unnamedText: string;

  constructor(
    private readonly orm: Orm,
    private readonly name: string,
    private readonly text: string,
    private readonly named: boolean,
  ) {
    // The ORM's raw queries take `?` placeholders.
    this.unnamedText = text.replace(/\$\d+/g, '?');
  }

  async rows(values: readonly unknown[]): Promise<Row[]> {
    const connection = this.orm.em.getConnection();
    if (!this.named || !(connection instanceof PostgreSqlConnection)) {
      return connection.execute<Row[]>(this.unnamedText, [...values], 'all');
    }
    const pool: Pool = await connection.getNativeClient();
    const generation = this.generation;
    try {
      return await this.run(pool, generation, values);
    } catch (error) {
      if (!resultTypeChanged(error)) throw error;
      // Concurrent requests that hit the same change move on to one new name together.
      if (this.generation === generation) this.generation = generation + 1;
      return this.run(pool, this.generation, values);
    }
  }

  private async run(pool: Pool, generation: number, values: readonly unknown[]): Promise<Row[]> {
    const result = await pool.query<Row>({ name: `${this.name}_${String(generation)}`, text: this.text, values: [...values] });
    return result.rows;
  }
}
