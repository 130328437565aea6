import { registerEnumType } from 'type-graphql';

export enum Role {
  USER = 'USER',
  MODERATOR = 'MODERATOR',
  ADMIN = 'ADMIN',
}

registerEnumType(Role, {
  name: 'Role',
  description: 'USER: every account from signup. MODERATOR: may read other accounts. ADMIN: may also administer them.',
});
