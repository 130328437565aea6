import { Args, Ctx, Query, Resolver } from 'type-graphql';
import { Auth } from '../access/auth.decorator';
import { Role } from '../access/role';
import type { Context } from '../context';
import type { ConnectionShape } from '../graphql/connection';
import type { AuditEvent } from './audit-event.entity';
import type { AuditService } from './audit.service';
import { AuditEventConnection, AuditLogArgs } from './audit.types';

@Resolver()
export class AuditResolver {
  constructor(private readonly audit: AuditService) {}

  @Query(() => AuditEventConnection, { nullable: true, description: 'Security events, newest first.' })
  @Auth({ roles: [Role.ADMIN] })
  auditLog(@Args(() => AuditLogArgs) args: AuditLogArgs, @Ctx() ctx: Context): Promise<ConnectionShape<AuditEvent>> {
    return this.audit.list(ctx.unitOfWork.em, args);
  }
}
