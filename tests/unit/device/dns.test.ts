/** The DNS message codec, on hand-made packets (RFC 1035 §4, RFC 6762 §18). */

import assert from "node:assert/strict";
import {
  decodeMessage,
  DnsFormatError,
  type DnsRecord,
  encodeMessage,
  firstLabel,
  formatIpv6,
  parseIpv6,
  parseTxt,
  RR_TYPE,
  txtStrings,
} from "../../../core/device/dns.ts";

const enc = new TextEncoder();

/** Bytes from numbers and strings (each string as its UTF-8 bytes). */
function bytes(...parts: (number | string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") out.push(...enc.encode(p));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}

/** A name as length-prefixed labels, without the final zero. */
function labels(...ls: string[]): number[] {
  return ls.flatMap((l) => [l.length, ...enc.encode(l)]);
}

Deno.test("encodeMessage writes an mDNS PTR query byte for byte", () => {
  const packet = encodeMessage({ questions: [{ name: "_ssh._tcp.local.", type: RR_TYPE.PTR }] });
  assert.deepEqual(
    packet,
    bytes(
      [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0], // id 0, flags 0, one question
      labels("_ssh", "_tcp", "local"),
      0,
      [0, 12, 0, 1], // PTR, IN
    ),
  );
});

Deno.test("encodeMessage sets the QU bit and the cache-flush bit in the class", () => {
  const packet = encodeMessage({
    id: 0x1234,
    response: true,
    flags: 0x0400,
    questions: [{ name: "a.local", type: RR_TYPE.A, unicastResponse: true }],
    answers: [{ name: "a.local.", type: RR_TYPE.A, cacheFlush: true, ttl: 120, data: "10.1.2.3" }],
  });
  assert.deepEqual(
    packet,
    bytes(
      [0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0],
      labels("a", "local"),
      0,
      [0, 1, 0x80, 1],
      labels("a", "local"),
      0,
      [0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 10, 1, 2, 3],
    ),
  );
});

/**
 * A response as avahi sends it: the PTR answer, then SRV, TXT, A and AAAA as additionals,
 * names compressed with pointers into earlier names.
 */
function avahiLikeResponse(): Uint8Array {
  // Offsets: header 12 bytes; the question-less answer's owner name starts at 12.
  const header = [0, 0, 0x84, 0x00, 0, 0, 0, 1, 0, 0, 0, 4];
  const service = [...labels("_ssh", "_tcp", "local"), 0]; // at 12, "local" at 12+10=22
  const ptrRdata = [...labels("pv 1"), 0xc0, 12]; // instance name at 12+17+10=39
  const ptr = [...service, 0, 12, 0, 1, 0, 0, 0x11, 0x94, 0, ptrRdata.length, ...ptrRdata];
  const instanceAt = 12 + service.length + 10;
  const srvTarget = [...labels("pantavisor"), 0xc0, 22];
  const srv = [
    0xc0,
    instanceAt,
    [0, 33, 0x80, 1, 0, 0, 0, 120],
    [0, 6 + srvTarget.length],
    [0, 0, 0, 0, 0x1f, 0x90], // priority 0, weight 0, port 8080
    srvTarget,
  ].flat();
  const hostAt = 12 + ptr.length + 2 + 10 + 6; // the SRV target's first label
  const txtData = [
    ...[11, ...enc.encode("device-id=X")],
    ...[23, ...enc.encode("pantahub=https://hub.io")],
    ...[4, ...enc.encode("flag")],
  ];
  const txt = [0xc0, instanceAt, 0, 16, 0x80, 1, 0, 0, 0x11, 0x94, 0, txtData.length, ...txtData];
  const a = [0xc0, hostAt, 0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 192, 168, 7, 9];
  const aaaa = [
    [0xc0, hostAt, 0, 28, 0x80, 1, 0, 0, 0, 120, 0, 16],
    [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55],
  ].flat();
  return Uint8Array.from([...header, ...ptr, ...srv, ...txt, ...a, ...aaaa]);
}

Deno.test("decodeMessage reads a compressed DNS-SD response with all record types", () => {
  const m = decodeMessage(avahiLikeResponse());
  assert.equal(m.response, true);
  assert.equal(m.flags, 0x0400);
  assert.deepEqual(m.questions, []);
  assert.deepEqual(m.answers, [{
    name: "_ssh._tcp.local.",
    type: RR_TYPE.PTR,
    class: 1,
    cacheFlush: false,
    ttl: 4500,
    data: "pv 1._ssh._tcp.local.",
  }]);
  const [srv, txt, a, aaaa] = m.additionals;
  assert.deepEqual(srv, {
    name: "pv 1._ssh._tcp.local.",
    type: RR_TYPE.SRV,
    class: 1,
    cacheFlush: true,
    ttl: 120,
    data: { priority: 0, weight: 0, port: 8080, target: "pantavisor.local." },
  });
  assert.equal(txt.name, "pv 1._ssh._tcp.local.");
  assert.deepEqual(parseTxt(txt.data as Uint8Array[]), {
    "device-id": "X",
    pantahub: "https://hub.io",
    flag: "",
  });
  assert.deepEqual([a.name, a.data], ["pantavisor.local.", "192.168.7.9"]);
  assert.deepEqual([aaaa.name, aaaa.data], ["pantavisor.local.", "fe80::211:22ff:fe33:4455"]);
});

Deno.test("decodeMessage keeps unknown record types as raw bytes", () => {
  const packet = bytes(
    [0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0],
    labels("x", "local"),
    0,
    [0, 47, 0, 1, 0, 0, 0, 10, 0, 3, 7, 8, 9], // NSEC, 3 bytes
  );
  assert.deepEqual(decodeMessage(packet).answers[0].data, Uint8Array.from([7, 8, 9]));
});

Deno.test("decodeMessage rejects truncated and hostile packets", () => {
  const cases: [string, Uint8Array][] = [
    ["short header", bytes(0, 0, 0x84)],
    ["missing record", bytes([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0])],
    ["pointer to itself", bytes([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0], 0xc0, 12)],
    ["forward pointer", bytes([0, 0, 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0], 0xc0, 20, [0, 1, 0, 1])],
    ["label past the end", bytes([0, 0, 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0], 40, "abc")],
    ["reserved label type", bytes([0, 0, 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0], 0x40, 0, [0, 1, 0, 1])],
    [
      "A record of 3 bytes",
      bytes([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0], 0, [0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3]),
    ],
    [
      "rdlength shorter than the SRV inside",
      bytes([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0], 0, [0, 33, 0, 1, 0, 0, 0, 1, 0, 2, 0, 0]),
    ],
  ];
  for (const [what, packet] of cases) {
    assert.throws(() => decodeMessage(packet), DnsFormatError, what);
  }
});

Deno.test("encodeMessage and decodeMessage round-trip every supported record type", () => {
  const records: DnsRecord[] = [
    {
      name: "_ssh._tcp.local.",
      type: RR_TYPE.PTR,
      ttl: 4500,
      data: "My\\.Device._ssh._tcp.local.",
    },
    {
      name: "My\\.Device._ssh._tcp.local.",
      type: RR_TYPE.SRV,
      cacheFlush: true,
      ttl: 120,
      data: { priority: 1, weight: 2, port: 22, target: "host.local." },
    },
    {
      name: "My\\.Device._ssh._tcp.local.",
      type: RR_TYPE.TXT,
      ttl: 4500,
      data: txtStrings(["device-id=abc", "challenge=x=y"]),
    },
    { name: "host.local.", type: RR_TYPE.A, ttl: 120, data: "169.254.1.2" },
    { name: "host.local.", type: RR_TYPE.AAAA, ttl: 120, data: "2001:db8::1" },
    { name: "host.local.", type: 99, ttl: 1, data: Uint8Array.from([1, 2]) },
  ];
  const m = decodeMessage(encodeMessage({ id: 7, response: true, additionals: records }));
  assert.equal(m.id, 7);
  assert.deepEqual(
    m.additionals,
    records.map((r) => ({ class: 1, cacheFlush: false, ...r })),
  );
  assert.equal(firstLabel(m.additionals[0].data as string), "My.Device");
});

Deno.test("an empty TXT record is written as one empty string (RFC 6763 §6.1)", () => {
  const packet = encodeMessage({
    response: true,
    answers: [{ name: "a.local.", type: RR_TYPE.TXT, ttl: 1, data: [] }],
  });
  assert.deepEqual(packet.slice(-3), Uint8Array.from([0, 1, 0]));
  assert.deepEqual(decodeMessage(packet).answers[0].data, [new Uint8Array()]);
});

Deno.test("encodeMessage refuses labels, names and addresses DNS cannot carry", () => {
  const answer = (name: string, type: number, data: string) =>
    encodeMessage({ answers: [{ name, type, ttl: 1, data }] });
  assert.throws(() => answer("x".repeat(64) + ".local.", RR_TYPE.A, "1.2.3.4"), DnsFormatError);
  assert.throws(
    () => answer(("x".repeat(60) + ".").repeat(5), RR_TYPE.A, "1.2.3.4"),
    DnsFormatError,
  );
  assert.throws(() => answer("a.local.", RR_TYPE.A, "1.2.3"), DnsFormatError);
  assert.throws(() => answer("a.local.", RR_TYPE.A, "1.2.3.256"), DnsFormatError);
  assert.throws(() => answer("a.local.", RR_TYPE.AAAA, "1::2::3"), DnsFormatError);
  assert.throws(() => answer("a.local.", RR_TYPE.AAAA, "12345::"), DnsFormatError);
});

Deno.test("IPv6 text follows RFC 5952 both ways", () => {
  const cases: [string, number[]][] = [
    ["::", []],
    ["::1", [15, 1]],
    ["fe80::1", [0, 0xfe, 1, 0x80, 15, 1]],
    ["2001:db8:0:1:1:1:1:1", [0, 0x20, 1, 0x01, 2, 0x0d, 3, 0xb8, 7, 1, 9, 1, 11, 1, 13, 1, 15, 1]],
    ["2001:db8::1:0:0:1", [0, 0x20, 1, 0x01, 2, 0x0d, 3, 0xb8, 9, 1, 15, 1]],
    ["::ffff:192.0.2.1", [10, 0xff, 11, 0xff, 12, 192, 13, 0, 14, 2, 15, 1]],
  ];
  for (const [text, sets] of cases) {
    const b = new Uint8Array(16);
    for (let i = 0; i < sets.length; i += 2) b[sets[i]] = sets[i + 1];
    assert.equal(formatIpv6(b), text);
    assert.deepEqual(parseIpv6(text), b, text);
  }
  assert.deepEqual(parseIpv6("FE80:0:0:0:0:0:0:1%eth0"), parseIpv6("fe80::1"));
});

Deno.test("parseTxt: keys without case, first one wins, bare keys, no empty keys", () => {
  assert.deepEqual(
    parseTxt(txtStrings(["Device-ID=a", "device-id=b", "=nokey", "bare", "v=x=y", ""])),
    { "device-id": "a", bare: "", v: "x=y" },
  );
});
