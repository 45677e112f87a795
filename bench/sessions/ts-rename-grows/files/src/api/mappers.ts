import type { User, UserDTO } from "../types/user";

export function userFromDTO(dto: UserDTO): User {
  return {
    id: dto.id,
    name: dto.name,
    email: dto.email,
    avatarUrl: dto.avatar_url,
    role: dto.role,
    lastSeenAt: dto.last_seen_at ? new Date(dto.last_seen_at) : null,
  };
}

export function userToDTO(user: User): UserDTO {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    avatar_url: user.avatarUrl,
    role: user.role,
    last_seen_at: user.lastSeenAt ? user.lastSeenAt.toISOString() : null,
  };
}

export function sortByName(users: User[]): User[] {
  return [...users].sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }));
}
