/**
 * Test helpers for P1 telegrams. The CRC here is an independent bitwise CRC-16/ARC (not the table
 * version under test), so telegrams built with it check the parser rather than agree with it.
 */

export function refCrc16(bytes: Uint8Array | string): number {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  let crc = 0;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

export function hex4(crc: number): string {
  return crc.toString(16).toUpperCase().padStart(4, '0');
}

/**
 * Builds a telegram: `/header`, an empty line, the data lines, `!` and the CRC (4 digits; `none`
 * for a DSMR 2.2/3 telegram; a string to force a given trailer). All lines end in CR LF.
 */
export function buildTelegram(
  header: string,
  lines: string[],
  crc: 'ok' | 'none' | { trailer: string } = 'ok',
): string {
  const body = `/${header}\r\n\r\n${lines.map((l) => `${l}\r\n`).join('')}!`;
  if (crc === 'none') return `${body}\r\n`;
  if (crc === 'ok') return `${body}${hex4(refCrc16(body))}\r\n`;
  return `${body}${crc.trailer}\r\n`;
}

/** The part a CRC covers: from `/` through `!`. */
export function bodyOf(telegram: string): string {
  return telegram.slice(telegram.indexOf('/'), telegram.indexOf('!') + 1);
}
