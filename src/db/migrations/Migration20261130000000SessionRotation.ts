import { Migration } from '@mikro-orm/migrations';

/**
 * The refresh token a session rotated last (its hash): the only one a replay within
 * REFRESH_REUSE_GRACE may present. Null when no grace applies (never rotated, or ended by a
 * password change).
 */
export class Migration20261130000000SessionRotation extends Migration {
  override up(): void {
    this.addSql(`alter table "sessions" add column "last_rotated_hash" varchar(64) null;`);
  }

  override down(): void {
    this.addSql(`alter table "sessions" drop column "last_rotated_hash";`);
  }
}
