import { FormEvent, useEffect, useState } from "react";
import { useDebounce } from "../hooks/useDebounce";
import { api } from "../api";

type Availability = "unknown" | "checking" | "free" | "taken";

interface Props {
  inviteCode?: string;
  onDone: (userId: string) => void;
}

function normalizeHandle(handle: string): string {
  return handle.trim().toLowerCase().replace(/^@/, "");
}

export function SignupForm({ inviteCode, onDone }: Props) {
  const [handle, setHandle] = useState("");
  const [email, setEmail] = useState("");
  const [availability, setAvailability] = useState<Availability>("unknown");
  const [error, setError] = useState<string | null>(null);
  const debouncedHandle = useDebounce(handle, 400);

  useEffect(() => {
    if (!debouncedHandle) return;
    setAvailability("checking");
    api
      .get<{ available: boolean }>(`/handles/${encodeURIComponent(normalizeHandle(debouncedHandle))}`)
      .then((r) => setAvailability(r.available ? "free" : "taken"))
      .catch(() => setAvailability("unknown"));
  }, [debouncedHandle]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const res = await api.post<{ id: string }>("/signup", {
        handle: normalizeHandle(handle),
        email,
        invite: normalizeHandle(inviteCode),
      });
      onDone(res.id);
    } catch (err) {
      setError(err instanceof Error ? err.message : "signup failed");
    }
  }

  return (
    <form onSubmit={submit}>
      <label>
        Handle
        <input value={handle} onChange={(e) => setHandle(e.target.value)} autoComplete="username" />
      </label>
      {availability === "checking" && <span className="hint">checking…</span>}
      {availability === "taken" && <span className="hint error">that handle is taken</span>}
      <label>
        E-mail
        <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
      </label>
      {error && <p className="error">{error}</p>}
      <button type="submit" disabled={availability === "taken"}>
        Sign up
      </button>
    </form>
  );
}
