/**
 * A small DNS message codec (RFC 1035 §4) with the mDNS bits (RFC 6762 §10.2, §5.4): the
 * cache-flush bit on answers and the unicast-response ("QU") bit on questions. It knows the
 * record types DNS-SD needs (RFC 6763) — PTR, SRV, TXT, A, AAAA — and keeps any other type
 * as raw bytes.
 *
 * Written by hand because the one well-kept npm package for it (`dns-packet`, under
 * `multicast-dns`) is not among our pinned dependencies, and this subset is small and
 * fully specified. Pure: no `Deno.*`, no sockets, no clock.
 *
 * @module
 */

/** Record types by number. */
export const RR_TYPE = { A: 1, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, ANY: 255 } as const;

/** The Internet class. */
export const CLASS_IN = 1;

/** An SRV record's data (RFC 2782). */
export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  /** The host name, absolute, with the trailing dot (`device.local.`). */
  target: string;
}

/** A question. */
export interface DnsQuestion {
  /** Absolute name with the trailing dot (`_ssh._tcp.local.`). */
  name: string;
  type: number;
  /** Defaults to IN. */
  class?: number;
  /** mDNS: ask for a unicast response (the top bit of the class). */
  unicastResponse?: boolean;
}

/** A resource record. `data` depends on `type`: see {@link RecordData}. */
export interface DnsRecord {
  /** Absolute name with the trailing dot. */
  name: string;
  type: number;
  /** Defaults to IN. */
  class?: number;
  /** mDNS: the cache-flush bit (the top bit of the class). */
  cacheFlush?: boolean;
  /** Seconds; 0 is an mDNS "goodbye". */
  ttl: number;
  data: RecordData;
}

/**
 * Record data: a name for PTR, {@link SrvData} for SRV, the character-strings for TXT,
 * dotted text for A, RFC 5952 text for AAAA, raw bytes for anything else.
 */
export type RecordData = string | SrvData | Uint8Array[] | Uint8Array;

/** A whole DNS message. */
export interface DnsMessage {
  id: number;
  /** True for a response (the QR bit). */
  response: boolean;
  /** The other header flags (opcode, AA, TC, RD, RA, rcode), as on the wire minus QR. */
  flags: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

/** A malformed message. */
export class DnsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DnsFormatError";
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: false });

// ---------------------------------------------------------------------------------------
// Decoding

/** Decodes one DNS message; throws {@link DnsFormatError} when it is malformed. */
export function decodeMessage(bytes: Uint8Array): DnsMessage {
  const r = new Reader(bytes);
  const id = r.u16();
  const rawFlags = r.u16();
  const qd = r.u16(), an = r.u16(), ns = r.u16(), ar = r.u16();
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qd; i++) {
    const name = r.name();
    const type = r.u16();
    const cls = r.u16();
    questions.push({ name, type, class: cls & 0x7fff, unicastResponse: (cls & 0x8000) !== 0 });
  }
  const section = (n: number) => {
    const out: DnsRecord[] = [];
    for (let i = 0; i < n; i++) out.push(r.record());
    return out;
  };
  return {
    id,
    response: (rawFlags & 0x8000) !== 0,
    flags: rawFlags & 0x7fff,
    questions,
    answers: section(an),
    authorities: section(ns),
    additionals: section(ar),
  };
}

class Reader {
  private view: DataView;
  pos = 0;
  constructor(private bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number, at = this.pos): void {
    if (at + n > this.bytes.length) throw new DnsFormatError("message truncated");
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  take(n: number): Uint8Array {
    this.need(n);
    const v = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A possibly compressed name (RFC 1035 §4.1.4), returned absolute with a trailing dot. */
  name(): string {
    const labels: string[] = [];
    let pos = this.pos;
    let jumped = false;
    let jumps = 0;
    let length = 0;
    for (;;) {
      this.need(1, pos);
      const len = this.bytes[pos];
      if ((len & 0xc0) === 0xc0) {
        this.need(2, pos);
        const target = ((len & 0x3f) << 8) | this.bytes[pos + 1];
        if (!jumped) this.pos = pos + 2;
        jumped = true;
        // Pointers must go backwards; with a bound on jumps this also stops loops.
        if (target >= pos || ++jumps > 64) throw new DnsFormatError("bad name pointer");
        pos = target;
        continue;
      }
      if ((len & 0xc0) !== 0) throw new DnsFormatError("bad label type");
      pos++;
      if (len === 0) break;
      this.need(len, pos);
      labels.push(escapeLabel(this.bytes.subarray(pos, pos + len)));
      pos += len;
      length += len + 1;
      if (length > 255) throw new DnsFormatError("name too long");
    }
    if (!jumped) this.pos = pos;
    return labels.length === 0 ? "." : labels.join(".") + ".";
  }

  record(): DnsRecord {
    const name = this.name();
    const type = this.u16();
    const cls = this.u16();
    const ttl = this.u32();
    const rdlength = this.u16();
    this.need(rdlength);
    const end = this.pos + rdlength;
    let data: RecordData;
    switch (type) {
      case RR_TYPE.PTR:
        data = this.name();
        break;
      case RR_TYPE.SRV:
        data = { priority: this.u16(), weight: this.u16(), port: this.u16(), target: this.name() };
        break;
      case RR_TYPE.TXT: {
        const strings: Uint8Array[] = [];
        while (this.pos < end) strings.push(this.take(this.u8()));
        data = strings;
        break;
      }
      case RR_TYPE.A:
        if (rdlength !== 4) throw new DnsFormatError("bad A record");
        data = Array.from(this.take(4)).join(".");
        break;
      case RR_TYPE.AAAA:
        if (rdlength !== 16) throw new DnsFormatError("bad AAAA record");
        data = formatIpv6(this.take(16));
        break;
      default:
        data = this.take(rdlength);
    }
    if (this.pos !== end) throw new DnsFormatError("record data length mismatch");
    return { name, type, class: cls & 0x7fff, cacheFlush: (cls & 0x8000) !== 0, ttl, data };
  }
}

/** A label as text: dots and backslashes escaped, so that names stay unambiguous. */
function escapeLabel(bytes: Uint8Array): string {
  return textDecoder.decode(bytes).replace(/[\\.]/g, (c) => "\\" + c);
}

/** Splits an absolute or relative name into raw labels, honouring `\.` and `\\`. */
export function splitName(name: string): string[] {
  const labels: string[] = [];
  let cur = "";
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === "\\" && i + 1 < name.length) cur += name[++i];
    else if (c === ".") {
      labels.push(cur);
      cur = "";
    } else cur += c;
  }
  if (cur !== "") labels.push(cur);
  return labels.filter((l, i) => l !== "" || i < labels.length - 1);
}

/** The first label of a name, unescaped (an instance's display name). */
export function firstLabel(name: string): string {
  return splitName(name)[0] ?? "";
}

/** Text for 16 IPv6 address bytes in the RFC 5952 form (`fe80::1`). */
export function formatIpv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  // IPv4-mapped addresses as Go prints them.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  let bestAt = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) [bestAt, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(":");
  return hex.slice(0, bestAt).join(":") + "::" + hex.slice(bestAt + bestLen).join(":");
}

/** Parses IPv6 text (`fe80::1`, `::ffff:1.2.3.4`) into 16 bytes. */
export function parseIpv6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  let s = text.replace(/%.*$/, "");
  const v4 = s.match(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    if ([a, b, c, d].some((o) => o > 255)) throw new DnsFormatError(`bad IPv6 address: ${text}`);
    const hex = (x: number) => x.toString(16);
    s = s.slice(0, s.length - v4[0].length) + hex((a << 8) | b) + ":" + hex((c << 8) | d);
  }
  const halves = s.split("::");
  if (halves.length > 2) throw new DnsFormatError(`bad IPv6 address: ${text}`);
  const parse = (p: string) => (p === "" ? [] : p.split(":").map((g) => parseInt(g, 16)));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const fill = 8 - head.length - rest.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) {
    throw new DnsFormatError(`bad IPv6 address: ${text}`);
  }
  const groups = [...head, ...new Array(fill).fill(0), ...rest];
  groups.forEach((g, i) => {
    if (!(g >= 0 && g <= 0xffff)) throw new DnsFormatError(`bad IPv6 address: ${text}`);
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

// ---------------------------------------------------------------------------------------
// Encoding (no name compression: our messages are small queries and test responses)

/** The fields of a message to encode; missing sections are empty. */
export interface DnsMessageInit {
  id?: number;
  response?: boolean;
  /** Header flags other than QR (for example 0x0400, AA, in an mDNS response). */
  flags?: number;
  questions?: DnsQuestion[];
  answers?: DnsRecord[];
  authorities?: DnsRecord[];
  additionals?: DnsRecord[];
}

/** Encodes a message (names uncompressed). */
export function encodeMessage(m: DnsMessageInit): Uint8Array {
  const w = new Writer();
  const questions = m.questions ?? [], answers = m.answers ?? [];
  const authorities = m.authorities ?? [], additionals = m.additionals ?? [];
  w.u16(m.id ?? 0);
  w.u16((m.response ? 0x8000 : 0) | ((m.flags ?? 0) & 0x7fff));
  w.u16(questions.length);
  w.u16(answers.length);
  w.u16(authorities.length);
  w.u16(additionals.length);
  for (const q of questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16((q.class ?? CLASS_IN) | (q.unicastResponse ? 0x8000 : 0));
  }
  for (const rec of [...answers, ...authorities, ...additionals]) w.record(rec);
  return w.bytes();
}

class Writer {
  private parts: number[] = [];

  u8(v: number): void {
    this.parts.push(v & 0xff);
  }

  u16(v: number): void {
    this.parts.push((v >> 8) & 0xff, v & 0xff);
  }

  u32(v: number): void {
    this.u16(Math.floor(v / 0x10000));
    this.u16(v & 0xffff);
  }

  raw(b: Uint8Array): void {
    for (const x of b) this.parts.push(x);
  }

  name(name: string): void {
    let total = 1;
    for (const label of splitName(name)) {
      const b = textEncoder.encode(label);
      if (b.length === 0 || b.length > 63) throw new DnsFormatError(`bad label in ${name}`);
      total += b.length + 1;
      this.u8(b.length);
      this.raw(b);
    }
    if (total > 255) throw new DnsFormatError(`name too long: ${name}`);
    this.u8(0);
  }

  record(rec: DnsRecord): void {
    this.name(rec.name);
    this.u16(rec.type);
    this.u16((rec.class ?? CLASS_IN) | (rec.cacheFlush ? 0x8000 : 0));
    this.u32(rec.ttl);
    const lengthAt = this.parts.length;
    this.u16(0);
    const start = this.parts.length;
    const d = rec.data;
    switch (rec.type) {
      case RR_TYPE.PTR:
        this.name(d as string);
        break;
      case RR_TYPE.SRV: {
        const s = d as SrvData;
        this.u16(s.priority);
        this.u16(s.weight);
        this.u16(s.port);
        this.name(s.target);
        break;
      }
      case RR_TYPE.TXT: {
        const strings = d as Uint8Array[];
        // RFC 6763 §6.1: an empty TXT record is one empty string.
        for (const s of strings.length === 0 ? [new Uint8Array()] : strings) {
          if (s.length > 255) throw new DnsFormatError("TXT string longer than 255 bytes");
          this.u8(s.length);
          this.raw(s);
        }
        break;
      }
      case RR_TYPE.A: {
        const octets = (d as string).split(".").map(Number);
        if (octets.length !== 4 || octets.some((o) => !(o >= 0 && o <= 255))) {
          throw new DnsFormatError(`bad IPv4 address: ${d}`);
        }
        octets.forEach((o) => this.u8(o));
        break;
      }
      case RR_TYPE.AAAA:
        this.raw(parseIpv6(d as string));
        break;
      default:
        this.raw(d as Uint8Array);
    }
    const len = this.parts.length - start;
    this.parts[lengthAt] = len >> 8;
    this.parts[lengthAt + 1] = len & 0xff;
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

// ---------------------------------------------------------------------------------------
// TXT key/value pairs (RFC 6763 §6)

/** TXT strings from `key=value` texts (for building records). */
export function txtStrings(entries: string[]): Uint8Array[] {
  return entries.map((e) => textEncoder.encode(e));
}

/**
 * The key/value pairs of a TXT record (RFC 6763 §6.3–6.4): keys compared without case
 * (returned lower-cased), the first occurrence of a key wins, a key without `=` has the
 * value `""`, strings starting with `=` are ignored.
 */
export function parseTxt(strings: Uint8Array[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of strings) {
    const text = textDecoder.decode(s);
    const eq = text.indexOf("=");
    const key = (eq < 0 ? text : text.slice(0, eq)).toLowerCase();
    if (key === "" || Object.hasOwn(out, key)) continue;
    out[key] = eq < 0 ? "" : text.slice(eq + 1);
  }
  return out;
}

/** Compares two DNS names as DNS does (ASCII case-insensitive). */
export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
