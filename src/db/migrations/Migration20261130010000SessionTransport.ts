import { Migration } from '@mikro-orm/migrations';

/**
 * How a session's refresh token travels (BODY or COOKIE), chosen at login: every later answer for
 * that session uses it, whatever a request carries, so a cookie-mode token never appears in a body.
 */
export class Migration20261130010000SessionTransport extends Migration {
  override up(): void {
    this.addSql(`alter table "sessions" add column "refresh_transport" text not null default 'BODY';`);
    this.addSql(
      `alter table "sessions" add constraint "sessions_refresh_transport_check" check ("refresh_transport" in ('BODY', 'COOKIE'));`,
    );
  }

  override down(): void {
    this.addSql(`alter table "sessions" drop column "refresh_transport";`);
  }
}
