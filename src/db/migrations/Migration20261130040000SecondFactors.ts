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
  'MFA_ENABLED',
  'MFA_DISABLED',
  'RECOVERY_CODES_REGENERATED',
  'MFA_SUCCEEDED',
  'MFA_FAILED',
  'MFA_RESET',
];

/**
 * Second factors: TOTP (secret encrypted at rest) with hashed recovery codes, the short-lived MFA
 * challenge of a login, `users.mfa_enabled`, and the authentication methods of each session
 * (`sessions.amr`, RFC 8176 values).
 */
export class Migration20261130040000SecondFactors extends Migration {
  override up(): void {
    this.addSql(`alter table "users" add column "mfa_enabled" boolean not null default false;`);
    this.addSql(`alter table "sessions" add column "amr" text not null default 'pwd';`);
    this.addSql(
      `create table "totp_credentials" ("user_id" uuid not null, "secret" text not null, "created_at" timestamptz not null, "confirmed_at" timestamptz null, "last_used_step" int null, primary key ("user_id"));`,
    );
    this.addSql(
      `alter table "totp_credentials" add constraint "totp_credentials_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`,
    );
    this.addSql(
      `create table "recovery_codes" ("id" uuid not null, "user_id" uuid not null, "code_hash" varchar(64) not null, "created_at" timestamptz not null, "used_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`create index "recovery_codes_user_id_index" on "recovery_codes" ("user_id");`);
    this.addSql(
      `alter table "recovery_codes" add constraint "recovery_codes_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`,
    );
    this.addSql(
      `create table "mfa_challenges" ("id" uuid not null, "user_id" uuid not null, "token_hash" varchar(64) not null, "refresh_transport" text not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "failures" int not null default 0, primary key ("id"));`,
    );
    this.addSql(`alter table "mfa_challenges" add constraint "mfa_challenges_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "mfa_challenges_user_id_index" on "mfa_challenges" ("user_id");`);
    this.addSql(
      `alter table "mfa_challenges" add constraint "mfa_challenges_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`,
    );
    this.addSql(`alter table "audit_events" drop constraint "audit_events_type_check";`);
    this.addSql(
      `alter table "audit_events" add constraint "audit_events_type_check" check ("type" in (${AUDIT_TYPES.map((type) => `'${type}'`).join(', ')}));`,
    );
  }

  override down(): void {
    this.addSql(`drop table if exists "mfa_challenges";`);
    this.addSql(`drop table if exists "recovery_codes";`);
    this.addSql(`drop table if exists "totp_credentials";`);
    this.addSql(`alter table "sessions" drop column "amr";`);
    this.addSql(`alter table "users" drop column "mfa_enabled";`);
  }
}
