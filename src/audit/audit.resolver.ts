import { Args, Ctx, Query, Resolver } from 'type-graphql';
import { Auth } from '../auth/auth.decorator';
import type { Context } from '../context';
import { Role } from '../users/role';
import { AuditEventConnection, AuditLogArgs } from './audit.types';

@Resolver()
export class AuditResolver {
  @Query(() => AuditEventConnection, { nullable: true, description: 'Security events, newest first.' })
  @Auth({ roles: [Role.ADMIN] })
  auditLog(@Args(() => AuditLogArgs) args: AuditLogArgs, @Ctx() ctx: Context): Promise<AuditEventConnection> {
    return ctx.services.audit.list(ctx.em, args);
  }
}
