import type { User } from "../types/user";
import { initials } from "../types/user";

interface Props {
  user: User;
  compact?: boolean;
  onClick?: (user: User) => void;
}

export function UserCard({ user, compact = false, onClick }: Props) {
  const label = `${user.name} (${user.role})`;
  return (
    <button className={compact ? "user-card compact" : "user-card"} onClick={() => onClick?.(user)} title={label}>
      {user.avatarUrl ? (
        <img src={user.avatarUrl} alt={user.name} className="avatar" />
      ) : (
        <span className="avatar placeholder">{initials(user)}</span>
      )}
      {!compact && (
        <span className="details">
          <strong>{user.name}</strong>
          <span className="email">{user.email}</span>
        </span>
      )}
    </button>
  );
}
