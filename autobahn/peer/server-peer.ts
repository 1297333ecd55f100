/**
 * The fuzzing server: a client under test connects and the peer plays catalogue cases against it, speaking the
 * same protocol as the suite's fuzzingserver, so any Autobahn client driver works unchanged:
 *
 *   GET /getCaseCount                      → one text message with the number of cases, then a close
 *   GET /runCase?case=N&agent=NAME         → runs case N (1-based, in catalogue order); the client echoes
 *   GET /updateReports?agent=NAME          → writes the reports, then a close
 */
import http2 from 'node:http2';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { CaseDef } from '../catalogue/types.js';
import type { Profile } from './bytes.js';
import { runCase } from './case-runner.js';
import type { CaseResult } from './case-runner.js';
import { PeerDeflate } from './deflate-codec.js';
import { checkClientRequest, errorResponse, parseHead, serverResponse } from './handshake.js';
import type { UpgradeRequest } from './handshake.js';
import { acceptOffers, readClientOffers } from './pmce-negotiation.js';
import { FuzzSession } from './session.js';
import { acceptStream, checkStreamRequest, headersText, refuseStream } from './h2.js';

/** Options of the fuzzing server. */
export interface ServerPeerOptions {
  readonly port?: number;
  readonly host?: string;
  readonly profile: Profile;
  readonly cases: readonly CaseDef[];
  readonly timeScale?: number;
  readonly onResult?: (result: CaseResult) => void;
  /** Called for /updateReports; the close is sent once it resolves. */
  readonly onUpdateReports?: (agent: string) => Promise<void> | void;
  /** Take every connection as a stream of an HTTP/2 session (RFC 8441, h2c) instead of a TCP connection. */
  readonly http2?: boolean;
}

/** How one opening handshake is answered: over HTTP/1.1 on a socket, or on an HTTP/2 stream. */
interface Answer {
  readonly socket: Duplex;
  /** Accepts with the given extension; returns the answer as text for the reports. */
  accept(extensions: string | undefined): string;
  refuse(status: number, text: string): void;
}

/** A listening fuzzing server. */
export interface ServerPeer {
  readonly port: number;
  readonly url: string;
  /** Results so far: agent → case id → result. */
  readonly results: Map<string, Map<string, CaseResult>>;
  /** Resolves when /updateReports was handled for `agent` (the client driver is done). */
  reportsUpdated(agent: string): Promise<void>;
  close(): Promise<void>;
}

const SERVER_NAME = 'ws6455-conformance-peer';
const OPEN_HANDSHAKE_TIMEOUT = 5;
const MAX_HEAD = 64 * 1024;

/** Starts the fuzzing server on 127.0.0.1 (or `host`) and resolves once it listens. */
export async function startServerPeer(options: ServerPeerOptions): Promise<ServerPeer> {
  const host = options.host ?? '127.0.0.1';
  const results = new Map<string, Map<string, CaseResult>>();
  const waiting = new Map<string, Array<() => void>>();
  const updated = new Set<string>();
  const sockets = new Set<Socket>();

  const h2sessions = new Set<http2.ServerHttp2Session>();
  const server: Server = options.http2 === true ? h2Server() : createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), OPEN_HANDSHAKE_TIMEOUT * 1000);
    const onData = (chunk: Buffer): void => {
      data = Buffer.concat([data, chunk]);
      const head = parseHead(data);
      if (!head) {
        if (data.length > MAX_HEAD) socket.destroy();
        return;
      }
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      const req = checkClientRequest(head);
      if (typeof req === 'string') return reject(socket, 400, req);
      const answer: Answer = {
        socket,
        accept: (extensions) => {
          const text = serverResponse(req.key, SERVER_NAME, extensions);
          socket.write(text);
          return text;
        },
        refuse: (status, text) => reject(socket, status, text),
      };
      void accept(answer, req, head.raw, head.rest);
    };
    socket.on('data', onData);
  });

  /** The same fuzzing server as streams of HTTP/2 sessions (RFC 8441 §3: extended CONNECT advertised). */
  function h2Server(): Server {
    const h2 = http2.createServer({ settings: { enableConnectProtocol: true } });
    h2.on('session', (session) => {
      h2sessions.add(session);
      session.on('close', () => h2sessions.delete(session));
      session.on('error', () => {});
    });
    h2.on('stream', (stream, headers) => {
      stream.on('error', () => {});
      const req = checkStreamRequest(headers);
      if (typeof req === 'string') return refuseStream(stream, 400, req);
      const answer: Answer = {
        socket: stream,
        accept: (extensions) => acceptStream(stream, SERVER_NAME, extensions),
        refuse: (status, text) => refuseStream(stream, status, text),
      };
      stream.pause();
      void accept(answer, req, headersText(headers), Buffer.alloc(0));
    });
    return h2;
  }

  function reject(socket: Socket, status: number, text: string): void {
    socket.end(errorResponse(status, text));
  }

  async function accept(answer: Answer, req: Omit<UpgradeRequest, 'key'>, httpRequest: string, rest: Buffer): Promise<void> {
    const socket = answer.socket;
    const agent = req.query.get('agent') ?? '';
    let def: CaseDef | undefined;
    if (req.path === '/runCase') {
      const n = Number(req.query.get('case'));
      def = Number.isInteger(n) && n >= 1 ? options.cases[n - 1] : undefined;
      if (!def) return answer.refuse(400, `case ${req.query.get('case') ?? ''} not found`);
      if (!agent) return answer.refuse(400, 'need agent to run case');
    } else if (req.path === '/updateReports') {
      if (!agent) return answer.refuse(400, 'need agent to update reports for');
    } else if (req.path !== '/getCaseCount') {
      return answer.refuse(404, `unknown path ${req.path}`);
    }
    // As the suite: a malformed permessage-deflate offer fails any handshake; only 12.x/13.x accept the extension.
    const offers = readClientOffers(req.extensions);
    if (typeof offers === 'string') return answer.refuse(400, offers);
    const accepted = def?.flow?.kind === 'deflate' ? acceptOffers(offers, def.flow.serverAccepts) : null;
    const httpResponse = answer.accept(accepted?.response);
    const deflate = accepted ? new PeerDeflate(accepted.params, true) : null;
    const session = new FuzzSession(socket, { isServer: true, timeScale: options.timeScale ?? 1, deflate });
    if (def) {
      const running = runCase(session, def, { agent, profile: options.profile, httpRequest, httpResponse }, options.timeScale ?? 1);
      session.receive(rest);
      socket.resume();
      const result = await running;
      let byCase = results.get(agent);
      if (!byCase) results.set(agent, (byCase = new Map()));
      byCase.set(result.id, result);
      options.onResult?.(result);
      return;
    }
    session.receive(rest);
    socket.resume();
    if (req.path === '/getCaseCount') {
      session.sendMessage(Buffer.from(String(options.cases.length)), false);
      session.sendClose();
    } else {
      try {
        await options.onUpdateReports?.(agent);
      } finally {
        session.sendClose();
        updated.add(agent);
        for (const wake of waiting.get(agent) ?? []) wake();
        waiting.delete(agent);
      }
    }
    // Bound the control connections too: a client that never answers the close is dropped.
    const t = setTimeout(() => session.failConnection('control connection not closed by the client'), 10_000);
    await session.lost;
    clearTimeout(t);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9001, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 9001);
  return {
    port,
    url: `ws://${host}:${port}`,
    results,
    reportsUpdated: (agent) =>
      updated.has(agent)
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const list = waiting.get(agent) ?? [];
            list.push(resolve);
            waiting.set(agent, list);
          }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        for (const s of h2sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}
