/**
 * Stand-in for the suite's "larger PDF": PDF structure in text (objects, dictionaries, cross references) around
 * FlateDecode streams, i.e. mostly data that is already compressed and will not shrink again.
 */
import { deflateSync } from 'node:zlib';
import { Random } from './random.js';

function pageText(rnd: Random, n: number): string {
  const words = ['WebSocket', 'frame', 'message', 'deflate', 'window', 'context', 'latency', 'throughput', 'browser', 'server', 'protocol', 'extension'];
  let text = 'BT /F1 10 Tf 72 720 Td 12 TL\n';
  for (let i = 0; i < n; i++) {
    const line: string[] = [];
    for (let j = rnd.int(6, 14); j > 0; j--) line.push(rnd.pick(words));
    text += `(${line.join(' ')}) '\n`;
  }
  return `${text}ET\n`;
}

/** `size` bytes of PDF-like binary data. */
export function generatePdf(size: number): Buffer {
  const rnd = new Random(0x0bdf);
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let total = parts[0]?.length ?? 0;
  // Each object adds at least a few dozen bytes, so the loop ends well before `size` iterations.
  for (let obj = 1; total < size && obj <= size; obj++) {
    let chunk: Buffer;
    if (obj % 3 === 0) {
      const dict = `${obj} 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${obj + 1} 0 R /Resources << /Font << /F1 5 0 R >> >> >>\nendobj\n`;
      chunk = Buffer.from(dict, 'latin1');
    } else {
      const raw = Buffer.from(pageText(rnd, rnd.int(40, 160)), 'latin1');
      // Images and fonts in a real PDF are compressed too; scramble some bytes so they do not shrink to nothing.
      for (let i = 0; i < raw.length; i += rnd.int(3, 9)) raw[i] = rnd.int(0, 255);
      const stream = deflateSync(raw);
      chunk = Buffer.concat([
        Buffer.from(`${obj} 0 obj\n<< /Length ${stream.length} /Filter /FlateDecode >>\nstream\n`, 'latin1'),
        stream,
        Buffer.from('\nendstream\nendobj\n', 'latin1'),
      ]);
    }
    parts.push(chunk);
    total += chunk.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}
