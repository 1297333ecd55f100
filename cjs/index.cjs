'use strict';
// The CommonJS entry point of "ws6455", shipped as written (not built). `require('ws6455')` is
// the WebSocket class itself, as `require('ws')` is: dist/index.cjs (the CommonJS build of
// src/index.ts) attaches every named export to the class as a static (`Server`, `WebSocketServer`,
// `WebSocket`, `createWebSocketStream`, ...), and shares its chunks with the other entry points,
// so `ws6455/hub` and `ws6455/reconnect` use this very class.
module.exports = require('../dist/index.cjs').WebSocket;
