/**
 * The yes/no state of a {@link Connection}, packed into one number: a dozen boolean fields would
 * cost 8 bytes each in every idle connection, and most connections sit idle.
 *
 * @internal
 * @module
 */

import { ConnectionState, type Role } from './connection-types.js';

// Bits of ConnectionFlags.flags.
const FLAG_MASKED = 1;
const FLAG_AUTO_PONG = 2;
const FLAG_CLOSE_SENT = 4;
const FLAG_CLOSE_RECEIVED = 8;
const FLAG_SENDING_FRAGMENTS = 16;
const FLAG_SENDING_COMPRESSED = 32;
const FLAG_DECODING = 128;
const FLAG_USER_PAUSED = 256;
const FLAG_ENDED = 512;
const FLAG_FAILED = 1024;
const FLAG_END_REQUESTED = 2048;
const FLAG_INPUT_ENDING = 4096;
const FLAG_SKIP_UTF8 = 8192;
const FLAG_HELD = 16384;
// The connection's state (ConnectionState: 1 to 3) in two bits from STATE_SHIFT.
const STATE_SHIFT = 15;
const STATE_MASK = 3 << STATE_SHIFT;

/**
 * Boolean state of a connection, one bit each, and its OPEN/CLOSING/CLOSED state in two more,
 * behind ordinary accessors. @internal
 */
export class ConnectionFlags {
  private flags = ConnectionState.Open << STATE_SHIFT;

  constructor(masked: boolean, autoPong: boolean, skipUtf8Validation = false) {
    if (masked) this.flags |= FLAG_MASKED;
    if (autoPong) this.flags |= FLAG_AUTO_PONG;
    if (skipUtf8Validation) this.flags |= FLAG_SKIP_UTF8;
  }

  /** Received text and close reasons are not checked as UTF-8 (the `skipUTF8Validation` option). */
  protected get skipUtf8Validation(): boolean {
    return (this.flags & FLAG_SKIP_UTF8) !== 0;
  }

  /** Frames we send are masked (client role). */
  protected get masked(): boolean {
    return (this.flags & FLAG_MASKED) !== 0;
  }

  /** Which end this is: the client masks what it sends (RFC 6455 §5.3). */
  get role(): Role {
    return (this.flags & FLAG_MASKED) !== 0 ? 'client' : 'server';
  }

  /** OPEN, CLOSING or CLOSED. */
  protected get stateValue(): ConnectionState {
    return ((this.flags & STATE_MASK) >> STATE_SHIFT) as ConnectionState;
  }

  protected set stateValue(value: ConnectionState) {
    this.flags = (this.flags & ~STATE_MASK) | (value << STATE_SHIFT);
  }

  /** Answer pings automatically. */
  get autoPong(): boolean {
    return (this.flags & FLAG_AUTO_PONG) !== 0;
  }

  set autoPong(value: boolean) {
    this.flags = value ? this.flags | FLAG_AUTO_PONG : this.flags & ~FLAG_AUTO_PONG;
  }

  /** A close frame was sent. */
  get closeSent(): boolean {
    return (this.flags & FLAG_CLOSE_SENT) !== 0;
  }

  set closeSent(value: boolean) {
    this.flags = value ? this.flags | FLAG_CLOSE_SENT : this.flags & ~FLAG_CLOSE_SENT;
  }

  /** The peer's close frame arrived. */
  get closeReceived(): boolean {
    return (this.flags & FLAG_CLOSE_RECEIVED) !== 0;
  }

  set closeReceived(value: boolean) {
    this.flags = value ? this.flags | FLAG_CLOSE_RECEIVED : this.flags & ~FLAG_CLOSE_RECEIVED;
  }

  /** The application is sending a fragmented message (sent `fin: false`). */
  protected get sendingFragments(): boolean {
    return (this.flags & FLAG_SENDING_FRAGMENTS) !== 0;
  }

  protected set sendingFragments(value: boolean) {
    this.flags = value ? this.flags | FLAG_SENDING_FRAGMENTS : this.flags & ~FLAG_SENDING_FRAGMENTS;
  }

  /** The fragmented message being sent is compressed. */
  protected get sendingCompressed(): boolean {
    return (this.flags & FLAG_SENDING_COMPRESSED) !== 0;
  }

  protected set sendingCompressed(value: boolean) {
    this.flags = value ? this.flags | FLAG_SENDING_COMPRESSED : this.flags & ~FLAG_SENDING_COMPRESSED;
  }

  /** An extension is transforming an incoming message. */
  protected get decoding(): boolean {
    return (this.flags & FLAG_DECODING) !== 0;
  }

  protected set decoding(value: boolean) {
    this.flags = value ? this.flags | FLAG_DECODING : this.flags & ~FLAG_DECODING;
  }

  /** The application paused reading. */
  protected get userPaused(): boolean {
    return (this.flags & FLAG_USER_PAUSED) !== 0;
  }

  protected set userPaused(value: boolean) {
    this.flags = value ? this.flags | FLAG_USER_PAUSED : this.flags & ~FLAG_USER_PAUSED;
  }

  /** The input ended. */
  protected get ended(): boolean {
    return (this.flags & FLAG_ENDED) !== 0;
  }

  protected set ended(value: boolean) {
    this.flags = value ? this.flags | FLAG_ENDED : this.flags & ~FLAG_ENDED;
  }

  /** The connection was failed: nothing but its close frame may be written. */
  protected get failed(): boolean {
    return (this.flags & FLAG_FAILED) !== 0;
  }

  protected set failed(value: boolean) {
    this.flags = value ? this.flags | FLAG_FAILED : this.flags & ~FLAG_FAILED;
  }

  /** The transport may end as soon as the send queue is empty. */
  protected get endRequested(): boolean {
    return (this.flags & FLAG_END_REQUESTED) !== 0;
  }

  protected set endRequested(value: boolean) {
    this.flags = value ? this.flags | FLAG_END_REQUESTED : this.flags & ~FLAG_END_REQUESTED;
  }

  /** The input ended while received bytes were still held (a decode in flight): they are being delivered first. */
  protected get inputEnding(): boolean {
    return (this.flags & FLAG_INPUT_ENDING) !== 0;
  }

  protected set inputEnding(value: boolean) {
    this.flags = value ? this.flags | FLAG_INPUT_ENDING : this.flags & ~FLAG_INPUT_ENDING;
  }

  /** The binding holds input between two events (see Connection.hold). */
  protected get held(): boolean {
    return (this.flags & FLAG_HELD) !== 0;
  }

  protected set held(value: boolean) {
    this.flags = value ? this.flags | FLAG_HELD : this.flags & ~FLAG_HELD;
  }
}
