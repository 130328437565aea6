import { Args, Ctx, Query, Resolver } from 'type-graphql';
import { Auth } from '../access/auth.decorator';
import { Role } from '../access/role';
import type { Context } from '../context';
import type { AuditService } from './audit.service';
import { AuditEventConnection, AuditLogArgs } from './audit.types';

@Resolver()
export class AuditResolver {
  constructor(private readonly audit: AuditService) {}

  @Query(() => AuditEventConnection, { nullable: true, description: 'Security events, newest first.' })
  @Auth({ roles: [Role.ADMIN] })
  auditLog(@Args(() => AuditLogArgs) args: AuditLogArgs, @Ctx() ctx: Context): Promise<AuditEventConnection> {
    return this.audit.list(ctx.em, args);
  }
}
