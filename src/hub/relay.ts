/**
 * The seam between a Hub and whatever carries its messages to other processes (the cluster,
 * `src/cluster/`). The hub hands every `publish` and `broadcast` to its relay just before the
 * local delivery, and the relay hands messages from elsewhere back through `Hub.publishLocal`, which
 * never relays. Nothing here knows Redis.
 *
 * @module
 */
export { toPayload } from '../node/socket/send-data.js';

/** Receives what a hub published, for other processes. @internal */
export interface HubRelay {
  /**
   * `room` is `null` for a broadcast. `payload` may be the caller's own buffer: copy it before
   * returning if it is kept. Called synchronously, just before the local delivery.
   */
  relay(room: string | null, payload: Buffer, binary: boolean, compress: boolean): void;
}
