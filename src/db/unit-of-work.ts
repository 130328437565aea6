import type { SqlEntityManager } from '@mikro-orm/sql';
import type { Orm } from './orm';

/**
 * One request's unit of work, forked from the ORM the first time a resolver asks for it: a request
 * that needs only its viewer (`me`, the guards, the auth checker) or no database at all forks none.
 *
 * The context holds this handle, not an entity manager, and `em` is a getter of the class, not an
 * own property: Apollo copies the context for every operation (`Object.assign` in
 * `internalExecuteOperation`), and a copy takes the handle as it is, so copying never forks and the
 * copy and the original share one unit of work.
 */
export class UnitOfWork {
  #em: SqlEntityManager | undefined;
  readonly #orm: Orm;

  constructor(orm: Orm) {
    this.#orm = orm;
  }

  /** The request's entity manager: forked on first use, the same one afterwards. */
  get em(): SqlEntityManager {
    return (this.#em ??= this.#orm.em.fork());
  }
}
