/**
 * Demo: an echo endpoint and a broadcast endpoint on http://127.0.0.1:8080, plus a page whose
 * browser WebSocket talks to both. Run with `npm start`; set PORT / HOST to change the address
 * (`PORT=0`: a free port, printed).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from '../../src/index.js';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const page = readFileSync(new URL('./index.html', import.meta.url));

const http = createServer((req, res) => {
  if (req.url === '/' || req.url === '/index.html') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': page.length });
    res.end(page);
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('Not found');
});

// Echo: every message goes back to its sender, text as text and binary as binary.
const echo = new WebSocketServer({ noServer: true });
echo.on('connection', (ws: WebSocket) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});

// Broadcast: every text message goes to every connected client, sender included.
const broadcast = new WebSocketServer({ noServer: true });
broadcast.on('connection', (ws: WebSocket) => {
  ws.on('message', (data, isBinary) => {
    for (const client of broadcast.clients) {
      if (client.readyState === client.OPEN) client.send(data, { binary: isBinary });
    }
  });
});

http.on('upgrade', (req, socket, head) => {
  const path = (req.url ?? '').split('?')[0];
  const target = path === '/echo' ? echo : path === '/broadcast' ? broadcast : null;
  if (target === null) {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
});

http.listen(port, host, () => {
  // The port actually bound: PORT=0 picks a free one.
  const { port: bound } = http.address() as AddressInfo;
  console.log(`ws6455 demo on http://${host}:${bound} (WebSockets: /echo, /broadcast)`);
});

function shutdown(): void {
  echo.close();
  broadcast.close();
  http.close();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
