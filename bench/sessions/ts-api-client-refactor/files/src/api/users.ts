import { API_BASE, authHeader } from "./config";

export interface User {
  id: string;
  email: string;
  displayName: string;
  roles: string[];
}

export async function getUser(id: string): Promise<User> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const res = await fetch(`${API_BASE}/users/${id}`, { headers: authHeader() });
      if (res.status >= 500) throw new Error(`server error ${res.status}`);
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        throw new Error(body.message ?? `request recieved ${res.status}`);
      }
      return (await res.json()) as User;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    }
  }
  throw lastError;
}

export async function updateUser(id: string, patch: Partial<Pick<User, "email" | "displayName">>): Promise<User> {
  const res = await fetch(`${API_BASE}/users/${id}`, {
    method: "PATCH",
    headers: { ...authHeader(), "Content-Type": "application/json" },
    body: JSON.stringify(patch),
  });
  if (res.status === 409) throw new Error("email already in use");
  if (!res.ok) throw new Error(`request failed: ${res.status}`);
  return (await res.json()) as User;
}
