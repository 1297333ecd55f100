/**
 * Stand-in for the suite's `data1.json`: a large, pretty-printed Autobahn results index (agent → case → verdict),
 * ASCII only, so that any byte range of it is valid UTF-8 and can go out as a text message.
 */
import { Random, fillText } from './random.js';

const AGENTS = ['AutobahnPython/0.6.0', 'Chrome/29.0.1531.1', 'Firefox/24.0-20130607', 'ws6455/0.1.0', 'Jetty/9.0.4', 'Netty/4.0.9'];
const BEHAVIORS = ['OK', 'OK', 'OK', 'OK', 'NON-STRICT', 'INFORMATIONAL', 'UNIMPLEMENTED', 'FAILED'];
const CODES = ['1000', '1000', '1000', '1002', '1007', 'null'];

function* caseIds(): Generator<string> {
  // The suite's numbering shape: sections, sub-sections, cases; bounded by the loops' limits.
  for (let s = 1; s <= 13; s++) for (let t = 1; t <= 9; t++) for (let c = 1; c <= 18; c++) yield `${s}.${t}.${c}`;
}

/** `size` bytes of JSON text. */
export function generateJson(size: number): Buffer {
  const rnd = new Random(0x1a50);
  let agentIndex = 0;
  let ids = caseIds();
  let started = false;
  return fillText(size, () => {
    const agent = AGENTS[agentIndex % AGENTS.length] as string;
    let next = ids.next();
    if (next.done) {
      agentIndex++;
      ids = caseIds();
      next = ids.next();
    }
    const id = next.value as string;
    const slug = agent.toLowerCase().replace(/[^a-z0-9]+/g, '_');
    const head = started ? '' : `{\n   "${agent}": {\n`;
    started = true;
    return (
      `${head}      "${id}": {\n` +
      `         "behavior": "${rnd.pick(BEHAVIORS)}",\n` +
      `         "behaviorClose": "${rnd.pick(BEHAVIORS.slice(0, 3))}",\n` +
      `         "duration": ${Math.floor(rnd.next() ** 3 * 2000)},\n` +
      `         "remoteCloseCode": ${rnd.pick(CODES)},\n` +
      `         "reportfile": "${slug}_case_${id.replace(/\./g, '_')}.json"\n` +
      '      },\n'
    );
  });
}
