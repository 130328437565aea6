import { Migration20261123000000Initial } from './Migration20261123000000Initial';
import { Migration20261123100000AuditLog } from './Migration20261123100000AuditLog';
import { Migration20261130000000SessionRotation } from './Migration20261130000000SessionRotation';
import { Migration20261130010000SessionTransport } from './Migration20261130010000SessionTransport';
import { Migration20261130020000EmailSkeleton } from './Migration20261130020000EmailSkeleton';
import { Migration20261130030000AccountRecovery } from './Migration20261130030000AccountRecovery';
import { Migration20261130040000SecondFactors } from './Migration20261130040000SecondFactors';
import { Migration20261130050000Passkeys } from './Migration20261130050000Passkeys';

/** Every migration, in order; listed explicitly so TypeScript and compiled builds load the same set. */
export const migrations = [
  { name: 'Migration20261123000000Initial', class: Migration20261123000000Initial },
  { name: 'Migration20261123100000AuditLog', class: Migration20261123100000AuditLog },
  { name: 'Migration20261130000000SessionRotation', class: Migration20261130000000SessionRotation },
  { name: 'Migration20261130010000SessionTransport', class: Migration20261130010000SessionTransport },
  { name: 'Migration20261130020000EmailSkeleton', class: Migration20261130020000EmailSkeleton },
  { name: 'Migration20261130030000AccountRecovery', class: Migration20261130030000AccountRecovery },
  { name: 'Migration20261130040000SecondFactors', class: Migration20261130040000SecondFactors },
  { name: 'Migration20261130050000Passkeys', class: Migration20261130050000Passkeys },
];
