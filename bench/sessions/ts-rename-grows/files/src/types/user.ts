export type Role = "owner" | "admin" | "member" | "guest";

export interface User {
  id: string;
  name: string;
  email: string;
  avatarUrl: string | null;
  role: Role;
  lastSeenAt: Date | null;
}

export interface UserDTO {
  id: string;
  name: string;
  email: string;
  avatar_url: string | null;
  role: Role;
  last_seen_at: string | null;
}

export function initials(user: Pick<User, "name">): string {
  return user.name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0]!.toUpperCase())
    .join("");
}
