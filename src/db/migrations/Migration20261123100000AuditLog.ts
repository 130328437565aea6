import { Migration } from '@mikro-orm/migrations';

/** The audit log: security events, kept without foreign keys so they outlive users and sessions. */
export class Migration20261123100000AuditLog extends Migration {
  override up(): void {
    this.addSql(
      `create table "audit_events" ("id" uuid not null, "type" text not null, "actor_id" uuid null, "subject_id" uuid null, "session_id" uuid null, "ip" varchar(45) null, "user_agent" text null, "detail" text null, "created_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`create index "audit_events_subject_id_id_index" on "audit_events" ("subject_id", "id");`);
    this.addSql(
      `alter table "audit_events" add constraint "audit_events_type_check" check ("type" in ('SIGNUP', 'LOGIN_SUCCEEDED', 'LOGIN_FAILED', 'TOKEN_REFRESHED', 'REFRESH_TOKEN_REUSED', 'LOGOUT', 'SESSION_REVOKED', 'PASSWORD_CHANGED', 'ROLE_CHANGED', 'USER_DEACTIVATED', 'USER_REACTIVATED'));`,
    );
  }

  override down(): void {
    this.addSql(`drop table if exists "audit_events";`);
  }
}
