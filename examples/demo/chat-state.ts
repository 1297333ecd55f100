/**
 * What the demo's chat remembers across a restart of its process: each session's name and
 * room (so a resumed session is put back in its room) and the last messages of each room
 * (shown to whoever joins, and used to recognise a message a client sends again after the
 * restart). Written to one small JSON file, replaced atomically on every change.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** A chat message as the server sends it to the pages. */
export interface ChatLine {
  t: 'msg';
  room: string;
  /** Chosen by the sending page (unique per page and message): a resent message has the same id. */
  id: string;
  from: string;
  text: string;
  /** The server that received it from its author. */
  server: string;
  at: number;
}

interface Saved {
  members: Record<string, { name: string; room: string }>;
  history: Record<string, ChatLine[]>;
}

/** Messages kept per room. */
export const HISTORY = 50;
/** Rooms whose history is kept (the least recently used one goes first). */
export const ROOMS = 20;

export class ChatState {
  private members = new Map<string, { name: string; room: string }>();
  private history = new Map<string, ChatLine[]>();

  constructor(private readonly file: string) {
    if (!existsSync(file)) return;
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Saved;
      this.members = new Map(Object.entries(saved.members));
      this.history = new Map(Object.entries(saved.history));
    } catch {
      // A damaged file (a kill in the middle of a write cannot do it: the write is a rename) starts empty.
    }
  }

  member(session: string): { name: string; room: string } | undefined {
    return this.members.get(session);
  }

  setMember(session: string, name: string, room: string): void {
    this.members.set(session, { name, room });
    this.save();
  }

  forget(session: string): void {
    if (this.members.delete(session)) this.save();
  }

  recent(room: string): ChatLine[] {
    return this.history.get(room) ?? [];
  }

  /** `true` when a message with this id is among the room's recent ones (a client sent it again). */
  seen(room: string, id: string): boolean {
    return this.recent(room).some((line) => line.id === id);
  }

  add(line: ChatLine): void {
    const lines = [...this.recent(line.room), line].slice(-HISTORY);
    this.history.delete(line.room); // a Map keeps insertion order: this room is now the newest
    this.history.set(line.room, lines);
    for (const room of this.history.keys()) {
      if (this.history.size <= ROOMS) break;
      this.history.delete(room);
    }
    this.save();
  }

  private save(): void {
    const saved: Saved = { members: Object.fromEntries(this.members), history: Object.fromEntries(this.history) };
    writeFileSync(this.file + '.tmp', JSON.stringify(saved), { mode: 0o600 });
    renameSync(this.file + '.tmp', this.file);
  }
}
