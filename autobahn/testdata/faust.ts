/**
 * Stand-in for the suite's Gutenberg text of Goethe's "Faust I": German verse in UTF-8 (umlauts and ß included),
 * speaker headings and stage directions, made from a small vocabulary. The suite sends it as binary messages, so a
 * slice that cuts a multi-byte character in half is fine.
 */
import { Random, fillText } from './random.js';

const WORDS = (
  'ich du er sie es wir ihr und der die das den dem des ein eine nicht mit zu von auf ist war hat so wie wo ' +
  'nun noch schon doch wohl ach weh mir dir mich dich sich Geist Welt Herz Brust Nacht Tag Licht Himmel Erde ' +
  'Seele Leben Tod Liebe Glück Schmerz Gefühl Natur Wissen Kunst Gott Teufel Hölle Blut Feuer Wasser Luft ' +
  'gehen sehen stehen kommen fühlen wissen sagen bleiben streben träumen müssen können möchte würde wäre ' +
  'schön süß groß klein alt jung dunkel hell früh spät ewig heiß kühl über unter hinter zwischen während ' +
  'Bücher Gelehrte Schüler Straße Brücke Mädchen Gärten Blüten Bäume Vögel Flüsse Städte Häuser Fenster Türen'
).split(' ');
const SPEAKERS = ['FAUST', 'MEPHISTOPHELES', 'WAGNER', 'MARGARETE', 'MARTHE', 'CHOR DER ENGEL', 'DER HERR', 'SCHÜLER'];
const DIRECTIONS = ['Er geht ab.', 'Nacht. In einem hochgewölbten, engen gotischen Zimmer.', 'Er schlägt das Buch auf.', 'Pause.', 'Glockenklang und Chorgesang.'];

function verse(rnd: Random): string {
  const words: string[] = [];
  const n = rnd.int(4, 9);
  for (let i = 0; i < n; i++) words.push(rnd.pick(WORDS));
  const line = words.join(' ');
  return `${line.charAt(0).toUpperCase()}${line.slice(1)}${rnd.pick([',', ',', '.', ';', '!', '?', ''])}\r\n`;
}

/** `size` bytes of German verse. */
export function generateFaust(size: number): Buffer {
  const rnd = new Random(0xfa57);
  return fillText(size, () => {
    let out = `\r\n${rnd.pick(SPEAKERS)}:\r\n`;
    if (rnd.next() < 0.15) out += `(${rnd.pick(DIRECTIONS)})\r\n`;
    const lines = rnd.int(2, 12);
    for (let i = 0; i < lines; i++) out += verse(rnd);
    return out;
  });
}
