/**
 * Cluster-wide connection ids and application-given user ids of this server's connections.
 * A connection id is `<server id>.<n>` (n in base 36), so any server can tell where to send.
 * Entries disappear when the connection closes.
 *
 * @module
 */
import type { WebSocket } from '../node/socket/websocket.js';

/** @internal */
export class Addressing {
  private readonly ids = new Map<WebSocket, string>();
  private readonly byId = new Map<string, WebSocket>();
  private readonly userOf = new Map<WebSocket, string>();
  private readonly byUser = new Map<string, Set<WebSocket>>();
  private next = 0;
  private readonly onClose: (this: WebSocket) => void;

  constructor(private readonly serverId: string) {
    const self = this;
    this.onClose = function (this: WebSocket) {
      self.forget(this);
    };
  }

  /** The connection's id, made on first use. */
  idOf(ws: WebSocket): string {
    let id = this.ids.get(ws);
    if (id === undefined) {
      id = `${this.serverId}.${(++this.next).toString(36)}`;
      this.track(ws);
      this.ids.set(ws, id);
      this.byId.set(id, ws);
    }
    return id;
  }

  /** The local connection with this id. */
  connection(id: string): WebSocket | undefined {
    return this.byId.get(id);
  }

  /** Whether `id` names a connection of this server. */
  isLocal(id: string): boolean {
    return id.length > this.serverId.length && id.startsWith(this.serverId) && id.charCodeAt(this.serverId.length) === 46; // '.'
  }

  bindUser(ws: WebSocket, user: string): void {
    this.unbindUser(ws);
    this.track(ws);
    this.userOf.set(ws, user);
    let set = this.byUser.get(user);
    if (set === undefined) this.byUser.set(user, (set = new Set()));
    set.add(ws);
  }

  unbindUser(ws: WebSocket): boolean {
    const user = this.userOf.get(ws);
    if (user === undefined) return false;
    this.userOf.delete(ws);
    const set = this.byUser.get(user);
    set?.delete(ws);
    if (set?.size === 0) this.byUser.delete(user);
    return true;
  }

  user(ws: WebSocket): string | undefined {
    return this.userOf.get(ws);
  }

  /** This server's connections of `user`. */
  connectionsOf(user: string): ReadonlySet<WebSocket> {
    return this.byUser.get(user) ?? EMPTY;
  }

  /** Forgets everything (the cluster closed). */
  clear(): void {
    for (const ws of new Set([...this.ids.keys(), ...this.userOf.keys()])) ws.off('close', this.onClose);
    this.ids.clear();
    this.byId.clear();
    this.userOf.clear();
    this.byUser.clear();
  }

  private track(ws: WebSocket): void {
    if (!this.ids.has(ws) && !this.userOf.has(ws)) ws.on('close', this.onClose);
  }

  private forget(ws: WebSocket): void {
    ws.off('close', this.onClose);
    const id = this.ids.get(ws);
    if (id !== undefined) {
      this.ids.delete(ws);
      this.byId.delete(id);
    }
    this.unbindUser(ws);
  }
}

const EMPTY: ReadonlySet<WebSocket> = new Set();
