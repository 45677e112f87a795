import type { Note } from "../store/notes";

const BASE = "/api/v1";

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(BASE + path, {
    ...init,
    headers: { "Content-Type": "application/json", ...(init?.headers ?? {}) },
    credentials: "include",
  });
  if (res.status === 409) throw new ConflictError(await res.json());
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${path}: ${res.status}`);
  return res.status === 204 ? (undefined as T) : ((await res.json()) as T);
}

export class ConflictError extends Error {
  constructor(public readonly server: Note) {
    super("the note was changed elsewhere");
  }
}

export const api = {
  listNotes: () => call<Note[]>("/notes"),
  createNote: (n: Pick<Note, "title" | "body" | "tags">) => call<Note>("/notes", { method: "POST", body: JSON.stringify(n) }),
  updateNote: (id: string, patch: Partial<Note> & { version: number }) =>
    call<Note>(`/notes/${id}`, { method: "PATCH", body: JSON.stringify(patch) }),
  deleteNote: (id: string) => call<void>(`/notes/${id}`, { method: "DELETE" }),
};
