// Configuration for the MikroORM CLI (`npx mikro-orm migration:create`, `migration:up`, ...):
// the same options the service uses, from the same environment variables, without the statement
// deadlines (migrations may take longer than a request's statement).
import 'reflect-metadata';
import { loadConfig } from './src/config/config';
import { ormOptions } from './src/db/orm';

export default ormOptions(loadConfig(), undefined, 'none');
