/**
 * Stand-in for the suite's `data1.html`: a large HTML results table in the style of an Autobahn report, ASCII only
 * (any byte range of it is valid UTF-8 and can go out as a text message).
 */
import { Random, fillText } from './random.js';

const AGENTS = ['autobahnpython_0_6_0', 'chrome_29_0_1531_1', 'firefox_24_0_20130607'];
const TITLES = ['Framing', 'Pings/Pongs', 'Reserved Bits', 'Opcodes', 'Fragmentation', 'UTF-8 Handling', 'Close Handling', 'Limits/Performance'];
const OUTCOMES: ReadonlyArray<readonly [string, string]> = [
  ['case_ok', 'Pass'],
  ['case_ok', 'Pass'],
  ['case_ok', 'Pass'],
  ['case_non_strict', 'Non-Strict'],
  ['case_info', 'Info'],
  ['case_failed', 'Fail'],
];
const CODES = ['1000', '1002', '1007', 'None'];

/** `size` bytes of HTML text. */
export function generateHtml(size: number): Buffer {
  const rnd = new Random(0x417e);
  let section = 1;
  let sub = 1;
  let n = 0;
  let started = false;
  return fillText(size, () => {
    let out = started ? '' : '<!DOCTYPE html>\n<html>\n   <head>\n      <title>Autobahn WebSocket Testsuite Report</title>\n   </head>\n   <body>\n      <table id="agent_case_results">\n';
    started = true;
    n++;
    if (n > rnd.int(4, 18)) {
      n = 1;
      sub++;
      if (sub > 12) {
        sub = 1;
        section = (section % TITLES.length) + 1;
      }
      out +=
        '         <tr class="case_category_row">\n' +
        `            <td class="case_category">${section} ${TITLES[section - 1] ?? ''}</td>\n` +
        '         </tr>\n' +
        `         <tr class="case_subcategory_row">\n            <td class="case_subcategory" colspan="7">${section}.${sub}</td>\n         </tr>\n`;
    }
    const id = `${section}_${sub}_${n}`;
    out += `         <tr class="agent_case_result_row">\n            <td class="case"><a href="#case_desc_${id}">Case ${section}.${sub}.${n}</a></td>\n`;
    for (const agent of AGENTS) {
      const [cls, text] = rnd.pick(OUTCOMES);
      out += `            <td class="${cls}"><a href="${agent}_case_${id}.html">${text}</a></td><td class="close close_hide ${cls}"><span class="close_code">${rnd.pick(CODES)}</span></td>\n`;
    }
    return `${out}         </tr>\n`;
  });
}
