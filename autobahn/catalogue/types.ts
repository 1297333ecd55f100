/**
 * The shape of one Autobahn case as data. A case is what the fuzzing peer does once the WebSocket is open
 * (`actions`), what it expects to observe (`expected`), and how it expects the connection to end (`expectedClose`).
 * The peer (autobahn/peer/) interprets these records byte for byte in either role; nothing here touches a socket.
 */
import type { PayloadSpec, Size } from '../peer/bytes.js';

/** Verdict classes of the suite, for what the testee did. */
export type Behavior = 'OK' | 'NON-STRICT' | 'INFORMATIONAL' | 'UNIMPLEMENTED' | 'FAILED';

/** Verdict classes of the suite, for how the connection ended. */
export type CloseBehavior = 'OK' | 'FAILED' | 'WRONG CODE' | 'UNCLEAN' | 'FAILED BY CLIENT' | 'INFORMATIONAL';

/** One thing the peer observed (the suite's `received` list). */
export type Observed =
  | { readonly kind: 'message'; readonly payload: Uint8Array; readonly binary: boolean }
  | { readonly kind: 'pong'; readonly payload: Uint8Array }
  | { readonly kind: 'timeout'; readonly tag: string };

/** How the case expects the connection to end. */
export interface ExpectedClose {
  /** True when the peer (the fuzzer) is expected to send the first close frame. */
  readonly closedByMe: boolean;
  /** Close codes the testee may send; the first is the one the peer uses when it closes. */
  readonly closeCode: readonly number[];
  /** True when the close handshake must complete (and the server drop TCP). */
  readonly requireClean: boolean;
  /** UTF-8 cases: if the wrong side closed, the testee did not detect the bad text, so the case FAILS. */
  readonly closedByWrongEndpointIsFatal?: boolean;
}

/** A step of a case script, mirroring the suite's protocol primitives. */
export type Action =
  /** One raw frame, possibly invalid on purpose. `chop` splits the octets into TCP writes of that size. */
  | {
      readonly do: 'frame';
      readonly opcode: number;
      readonly payload?: PayloadSpec;
      readonly fin?: boolean;
      readonly rsv?: number;
      readonly chop?: number;
      /** Write this frame on its own and yield to the event loop before the next write. */
      readonly sync?: boolean;
    }
  /** A message, optionally split into frames of `fragmentSize` payload bytes (first frame text/binary, rest continuation). */
  | { readonly do: 'message'; readonly payload: PayloadSpec; readonly binary: boolean; readonly fragmentSize?: Size }
  /** A close frame through the normal API: only while open, and it starts the closing handshake. */
  | { readonly do: 'close'; readonly code?: number; readonly reason?: Uint8Array }
  /** A close frame whose payload is not checked (invalid codes, 1-byte or over-long payloads). */
  | { readonly do: 'closeFrame'; readonly code?: number; readonly reason?: Uint8Array; readonly rawPayload?: Uint8Array }
  /** Fail the connection (drop TCP) after this many seconds, unless it is already gone. */
  | { readonly do: 'killAfter'; readonly seconds: number }
  /** Start a closing handshake (no code) after this many seconds, unless already closing. */
  | { readonly do: 'closeAfter'; readonly seconds: number }
  /**
   * Run the remaining actions later. With `mark`, they run only if the connection is still open, and the mark is
   * recorded as an observed `timeout` first (fail-fast UTF-8 cases: reaching the mark means the testee waited).
   */
  | { readonly do: 'wait'; readonly seconds: number; readonly mark?: string }
  /** Start a frame of `length` payload bytes whose payload follows in later `frameData` steps (FIN clear). */
  | { readonly do: 'beginFrame'; readonly opcode: number; readonly length: number }
  | { readonly do: 'frameData'; readonly payload: Uint8Array }
  /** End a streamed message: an empty continuation frame with FIN set. */
  | { readonly do: 'endMessage' };

/** Section 9: one large message; OK when an echo of the right type and length arrives. */
export interface EchoCheck {
  readonly kind: 'echo-length';
  readonly binary: boolean;
  readonly length: Size;
  readonly waitSecs: number;
}

/** Section 9.7/9.8: `count` messages, each sent after the previous echo came back. */
export interface RoundTrips {
  readonly kind: 'round-trips';
  readonly binary: boolean;
  readonly length: number;
  readonly count: Size;
  readonly waitSecs: number;
}

/** The permessage-deflate test data sets of sections 12/13 (generated stand-ins for the suite's files). */
export type DeflateDataSet = 'json' | 'lena' | 'faust' | 'html' | 'pdf';

/**
 * One permessage-deflate parameter pair as the suite writes it, `(requestNoContextTakeover, requestMaxWindowBits)`.
 * In a client offer it asks the server (`server_no_context_takeover`, `server_max_window_bits=N`); in a server
 * acceptance it asks the client (`client_no_context_takeover`, `client_max_window_bits=N`). 0 means no window request.
 */
export interface DeflateRequest {
  readonly noContextTakeover: boolean;
  readonly maxWindowBits: number;
}

/**
 * Sections 12/13: `count` round trips of `messageSize`-byte slices of a data set over permessage-deflate, each
 * message compressed by the peer and auto-fragmented (after compression) into frames of `autoFragmentSize` octets.
 */
export interface DeflateCase {
  readonly kind: 'deflate';
  readonly messageSize: number;
  /** Messages per case: 1000 in the suite; the CI profile sends fewer. */
  readonly count: Size;
  /** 0: one frame per message. */
  readonly autoFragmentSize: number;
  readonly waitSecs: number;
  readonly data: DeflateDataSet;
  /** True: the data goes out as binary messages, else as text. */
  readonly binary: boolean;
  /** What the peer offers when it is the client, one offer per element, in order. */
  readonly clientOffers: readonly DeflateRequest[];
  /** How the peer accepts when it is the server: the first request some offer can grant wins. */
  readonly serverAccepts: readonly DeflateRequest[];
}

/** Post-processing a few cases apply after the standard verdict. */
export type PostVerdict =
  /** Section 7: a wrong close code turns the behaviour into FAILED. */
  | 'wrong-code-fails'
  /** 7.13.x: undefined by the spec; always INFORMATIONAL. */
  | 'informational'
  /** 7.1.6: INFORMATIONAL, noting whether the echo came before the close (OK list) or not (NON-STRICT list). */
  | 'informational-close-order'
  /** 10.1.1: the peer checks its own frame counts for the auto-fragmented message. */
  | { readonly txFrames: Readonly<Record<number, number>> };

/** One catalogue entry, keyed by the suite's case id. */
export interface CaseDef {
  readonly id: string;
  readonly description: string;
  readonly expectation: string;
  /** Observation lists per verdict class; the first that equals what was observed wins. */
  readonly expected: Readonly<Partial<Record<'OK' | 'NON-STRICT', readonly Observed[]>>>;
  readonly expectedClose: ExpectedClose;
  readonly actions: readonly Action[];
  /** Do not close automatically when the observations match (cases that send their own close). */
  readonly suppressClose?: boolean;
  readonly post?: readonly PostVerdict[];
  /** Replaces expectation matching by a custom flow (sections 9, 12, 13). */
  readonly flow?: EchoCheck | RoundTrips | DeflateCase;
  /** Duration is meaningful (section 9): shown in reports. */
  readonly reportTime?: boolean;
}

/** Close codes the suite names. */
export const CLOSE_NORMAL = 1000;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_INVALID_PAYLOAD = 1007;
