import { create } from "zustand";
import { api } from "../sync/api";

export interface Note {
  id: string;
  title: string;
  body: string;
  tags: string[];
  updatedAt: string; // ISO, set by the server
  version: number; // incremented by the server on every write
}

interface NotesState {
  notes: Record<string, Note>;
  loading: boolean;
  error: string | null;
  load: () => Promise<void>;
  save: (id: string, patch: Partial<Pick<Note, "title" | "body" | "tags">>) => Promise<void>;
  create: (title: string) => Promise<string>;
  remove: (id: string) => Promise<void>;
}

export const useNotes = create<NotesState>((set, get) => ({
  notes: {},
  loading: false,
  error: null,

  async load() {
    set({ loading: true, error: null });
    try {
      const list = await api.listNotes();
      set({ notes: Object.fromEntries(list.map((n) => [n.id, n])), loading: false });
    } catch (e) {
      set({ loading: false, error: (e as Error).message });
    }
  },

  async save(id, patch) {
    const current = get().notes[id];
    if (!current) return;
    set({ notes: { ...get().notes, [id]: { ...current, ...patch } } });
    const saved = await api.updateNote(id, { ...patch, version: current.version });
    set({ notes: { ...get().notes, [id]: saved } });
  },

  async create(title) {
    const note = await api.createNote({ title, body: "", tags: [] });
    set({ notes: { ...get().notes, [note.id]: note } });
    return note.id;
  },

  async remove(id) {
    await api.deleteNote(id);
    const { [id]: _gone, ...rest } = get().notes;
    set({ notes: rest });
  },
}));
