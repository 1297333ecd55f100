import { UpgradeFront } from '../src/node/upgrade-front.js';
import { plainAcceptResponse } from '../src/core/handshake.js';
process.on('SIGINT', () => process.exit(0));
const port = Number(process.argv[2]);
const mode = process.argv[3] ?? 'front';
function onData(this: import('node:net').Socket, first: Buffer): void {
  if (first[0] === 0x88) this.end(first);
}
const front = new UpgradeFront({
  handshakeTimeout: 10000,
  maxHeaderSize: 16384,
  onUpgrade(req, socket) {
    socket.write(plainAcceptResponse(String(req.headers['sec-websocket-key'])));
    socket.on('data', onData);
    socket.on('error', () => {});
    socket.resume();
  },
});
front.server.listen(port, '127.0.0.1', () => console.log('ready', mode));
