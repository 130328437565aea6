import { Migration } from '@mikro-orm/migrations';

const AUDIT_TYPES = [
  'SIGNUP',
  'LOGIN_SUCCEEDED',
  'LOGIN_FAILED',
  'TOKEN_REFRESHED',
  'REFRESH_TOKEN_REUSED',
  'LOGOUT',
  'SESSION_REVOKED',
  'PASSWORD_CHANGED',
  'ROLE_CHANGED',
  'USER_DEACTIVATED',
  'USER_REACTIVATED',
  'PASSWORD_RESET_REQUESTED',
  'PASSWORD_RESET',
  'VERIFICATION_EMAIL_SENT',
  'EMAIL_VERIFIED',
  'EMAIL_CHANGE_REQUESTED',
  'EMAIL_CHANGED',
];

/**
 * Account recovery and email verification: `users.email_verified`; single-use account tokens
 * (password reset, email verification, email change), stored as hashes; the mail outbox, whose
 * rows are written in the transaction of the token they carry and delivered by a loop in every
 * instance.
 */
export class Migration20261130030000AccountRecovery extends Migration {
  override up(): void {
    this.addSql(`alter table "users" add column "email_verified" boolean not null default false;`);
    this.addSql(
      `create table "account_tokens" ("id" uuid not null, "user_id" uuid not null, "purpose" text not null, "token_hash" varchar(64) not null, "email" varchar(254) not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "voided_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`alter table "account_tokens" add constraint "account_tokens_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "account_tokens_user_id_purpose_index" on "account_tokens" ("user_id", "purpose");`);
    this.addSql(
      `alter table "account_tokens" add constraint "account_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "account_tokens" add constraint "account_tokens_purpose_check" check ("purpose" in ('PASSWORD_RESET', 'EMAIL_VERIFICATION', 'EMAIL_CHANGE'));`,
    );
    this.addSql(
      `create table "outbox_messages" ("id" uuid not null, "kind" text not null, "recipient" varchar(254) not null, "subject" text null, "text_body" text null, "html_body" text null, "created_at" timestamptz not null, "due_at" timestamptz not null, "attempts" int not null default 0, "claimed_by" varchar(64) null, "claimed_until" timestamptz null, "sent_at" timestamptz null, "failed_at" timestamptz null, "last_error" text null, primary key ("id"));`,
    );
    this.addSql(
      `create index "outbox_messages_pending_index" on "outbox_messages" ("due_at") where "sent_at" is null and "failed_at" is null;`,
    );
    this.addSql(
      `alter table "outbox_messages" add constraint "outbox_messages_kind_check" check ("kind" in ('MAIL', 'PASSWORD_RESET_REQUEST'));`,
    );
    this.addSql(`alter table "audit_events" drop constraint "audit_events_type_check";`);
    this.addSql(
      `alter table "audit_events" add constraint "audit_events_type_check" check ("type" in (${AUDIT_TYPES.map((type) => `'${type}'`).join(', ')}));`,
    );
  }

  override down(): void {
    this.addSql(`drop table if exists "outbox_messages";`);
    this.addSql(`drop table if exists "account_tokens";`);
    this.addSql(`alter table "users" drop column "email_verified";`);
  }
}
