/**
 * `ws6455/hub`: rooms and pre-framed broadcast with per-recipient backpressure policies.
 *
 * ```ts
 * import { WebSocketServer } from 'ws6455';
 * import { Hub } from 'ws6455/hub';
 * ```
 *
 * @module ws6455/hub
 */
export { Hub } from './hub.js';
export type { HubTarget } from './hub.js';
export type { HubOptions, HubMemberOptions, HubStats, PublishOptions, PublishResult } from './hub.js';
export type { HubDeflateOptions } from './message.js';
export { DEFAULT_HUB_HIGH_WATER_MARK, DEFAULT_MAX_QUEUED_BYTES } from './policy.js';
export type { BackpressurePolicy, ClosePolicy, DropPolicy, QueuePolicy } from './policy.js';
