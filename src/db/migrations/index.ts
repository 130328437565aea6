import { Migration20261123000000Initial } from './Migration20261123000000Initial';
import { Migration20261123100000AuditLog } from './Migration20261123100000AuditLog';

/** Every migration, in order; listed explicitly so TypeScript and compiled builds load the same set. */
export const migrations = [
  { name: 'Migration20261123000000Initial', class: Migration20261123000000Initial },
  { name: 'Migration20261123100000AuditLog', class: Migration20261123100000AuditLog },
];
