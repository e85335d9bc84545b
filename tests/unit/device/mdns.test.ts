/** The mDNS browser, driven through a fake transport (no network). */

import assert from "node:assert/strict";
import {
  decodeMessage,
  type DnsMessage,
  type DnsRecord,
  encodeMessage,
  RR_TYPE,
  txtStrings,
} from "../../../core/device/dns.ts";
import {
  browse,
  type MdnsTransportFactory,
  type ServiceInstance,
} from "../../../core/device/mdns.ts";
import { PvrError } from "../../../core/errors.ts";

const SERVICE = "_ssh._tcp.local.";
const INSTANCE = "dev-1._ssh._tcp.local.";

/** A fake network: records the queries, and answers through `respond`. */
class FakeNet {
  queries: DnsMessage[] = [];
  /** The byte size of each query. */
  sizes: number[] = [];
  closed = false;
  private deliver: ((p: Uint8Array) => void) | undefined;
  constructor(
    private respond: (q: DnsMessage, net: FakeNet) => void = () => {},
    readonly legacyUnicast = false,
  ) {}

  factory: MdnsTransportFactory = (onPacket) => {
    this.deliver = (p) => onPacket(p, { address: "169.254.1.1", port: 5353 });
    return Promise.resolve({
      legacyUnicast: this.legacyUnicast,
      send: (packet: Uint8Array) => {
        const q = decodeMessage(packet);
        this.queries.push(q);
        this.sizes.push(packet.length);
        queueMicrotask(() => this.respond(q, this));
        return Promise.resolve();
      },
      close: () => {
        this.closed = true;
      },
    });
  };

  /** Delivers a response with these records (as answers). */
  answer(...answers: DnsRecord[]): void {
    this.deliver?.(encodeMessage({ response: true, flags: 0x0400, answers }));
  }

  raw(packet: Uint8Array): void {
    this.deliver?.(packet);
  }
}

const ptr = (instance = INSTANCE, ttl = 4500): DnsRecord => ({
  name: SERVICE,
  type: RR_TYPE.PTR,
  ttl,
  data: instance,
});
const srv = (instance = INSTANCE, target = "dev.local."): DnsRecord => ({
  name: instance,
  type: RR_TYPE.SRV,
  cacheFlush: true,
  ttl: 120,
  data: { priority: 0, weight: 0, port: 22, target },
});
const txt = (entries: string[], instance = INSTANCE): DnsRecord => ({
  name: instance,
  type: RR_TYPE.TXT,
  cacheFlush: true,
  ttl: 4500,
  data: txtStrings(entries),
});
const a = (addr: string, host = "dev.local."): DnsRecord => ({
  name: host,
  type: RR_TYPE.A,
  ttl: 120,
  data: addr,
});
const aaaa = (addr: string, host = "dev.local."): DnsRecord => ({
  name: host,
  type: RR_TYPE.AAAA,
  ttl: 120,
  data: addr,
});

const isPtrQuery = (q: DnsMessage) =>
  q.questions.some((x) => x.type === RR_TYPE.PTR && x.name === SERVICE);

Deno.test("browse() reports a complete instance once, however often it is answered", async () => {
  const net = new FakeNet((q, n) => {
    if (!isPtrQuery(q)) return;
    n.answer(ptr(), srv(), txt(["device-id=abc"]), a("169.254.1.1"), aaaa("fe80::1"));
    n.answer(ptr(), srv(), txt(["device-id=abc"]), a("169.254.1.1"));
  });
  const seen: ServiceInstance[] = [];
  const found = await browse({
    service: "_ssh._tcp.local",
    timeoutMs: 150,
    settleMs: 0,
    transport: net.factory,
    onInstance: (i) => {
      seen.push(i);
    },
  });
  const expected: ServiceInstance = {
    name: INSTANCE,
    instance: "dev-1",
    host: "dev.local.",
    port: 22,
    txt: { "device-id": "abc" },
    ipv4: ["169.254.1.1"],
    ipv6: ["fe80::1"],
  };
  assert.deepEqual(seen, [expected]);
  assert.deepEqual(found, [expected]);
  assert.equal(net.closed, true);
  assert.deepEqual(net.queries[0].questions, [{
    name: SERVICE,
    type: RR_TYPE.PTR,
    class: 1,
    unicastResponse: false,
  }]);
  assert.equal(net.queries[0].id, 0, "multicast queries carry id 0");
});

Deno.test("browse() follows a bare PTR with SRV/TXT and then A/AAAA questions", async () => {
  const net = new FakeNet((q, n) => {
    const types = q.questions.map((x) => x.type);
    if (isPtrQuery(q)) n.answer(ptr());
    else if (types.includes(RR_TYPE.SRV)) n.answer(srv(), txt(["device-id=abc"]));
    else if (types.includes(RR_TYPE.A)) n.answer(a("169.254.1.1"));
  });
  const found = await browse({
    service: SERVICE,
    timeoutMs: 150,
    settleMs: 0,
    transport: net.factory,
  });
  assert.equal(found.length, 1);
  assert.deepEqual(found[0].ipv4, ["169.254.1.1"]);
  assert.deepEqual(
    net.queries.map((q) => q.questions.map((x) => `${x.name} ${x.type}`)),
    [
      [`${SERVICE} ${RR_TYPE.PTR}`],
      [`${INSTANCE} ${RR_TYPE.SRV}`, `${INSTANCE} ${RR_TYPE.TXT}`],
      [`dev.local. ${RR_TYPE.A}`, `dev.local. ${RR_TYPE.AAAA}`],
    ],
  );
});

Deno.test("browse() waits the settle time for the other address family's answer", async () => {
  const net = new FakeNet((q, n) => {
    if (!isPtrQuery(q)) return;
    n.answer(ptr(), srv(), txt(["device-id=abc"]), aaaa("fe80::1"));
    setTimeout(() => n.answer(ptr(), srv(), txt(["device-id=abc"]), a("169.254.1.1")), 20);
  });
  const found = await browse({
    service: SERVICE,
    timeoutMs: 300,
    settleMs: 80,
    transport: net.factory,
  });
  assert.deepEqual([found[0].ipv4, found[0].ipv6], [["169.254.1.1"], ["fe80::1"]]);
});

Deno.test("browse() reports an instance still settling when the time is up", async () => {
  const net = new FakeNet((q, n) => {
    if (isPtrQuery(q)) n.answer(ptr(), srv(), txt(["device-id=abc"]), a("169.254.1.1"));
  });
  const found = await browse({
    service: SERVICE,
    timeoutMs: 50,
    settleMs: 10_000,
    transport: net.factory,
  });
  assert.equal(found.length, 1);
});

Deno.test("browse() ignores queries, other services, goodbyes and malformed packets", async () => {
  const net = new FakeNet((q, n) => {
    if (!isPtrQuery(q)) return;
    n.raw(Uint8Array.from([1, 2, 3]));
    n.raw(encodeMessage({ answers: [ptr("q._ssh._tcp.local.")] })); // a query with answers
    n.answer({ ...ptr("web._http._tcp.local."), name: "_http._tcp.local." });
    n.answer(ptr("gone._ssh._tcp.local."));
    n.answer(ptr("gone._ssh._tcp.local.", 0));
    n.answer(srv("gone._ssh._tcp.local."), txt(["device-id=x"], "gone._ssh._tcp.local."));
    n.answer(a("169.254.1.1"));
  });
  const found = await browse({
    service: SERVICE,
    timeoutMs: 100,
    settleMs: 0,
    transport: net.factory,
  });
  assert.deepEqual(found, []);
});

Deno.test("browse() re-queries with known answers, and stops on abort", async () => {
  const net = new FakeNet((q, n) => {
    if (isPtrQuery(q) && q.answers.length === 0) {
      n.answer(ptr(), srv(), txt(["device-id=abc"]), a("169.254.1.1"));
    }
  });
  const ac = new AbortController();
  const started = performance.now();
  const found = await browse({
    service: SERVICE,
    timeoutMs: 10_000,
    settleMs: 0,
    transport: net.factory,
    signal: ac.signal,
    onInstance: () => void setTimeout(() => ac.abort(), 1100),
  });
  assert.ok(performance.now() - started < 3000, "the abort ended the browse");
  assert.equal(found.length, 1);
  const ptrQueries = net.queries.filter(isPtrQuery);
  assert.equal(ptrQueries.length, 2, "one query at 0 s, one at 1 s");
  assert.deepEqual(ptrQueries[1].answers.map((r) => r.data), [INSTANCE]);
});

Deno.test("browse() asks with a random id when it must use legacy unicast", async () => {
  const net = new FakeNet(() => {}, true);
  await browse({ service: SERVICE, timeoutMs: 20, transport: net.factory });
  assert.notEqual(net.queries[0].id, 0);
});

Deno.test("browse() fails with FAILED when the network cannot be opened", async () => {
  await assert.rejects(
    browse({
      service: SERVICE,
      timeoutMs: 20,
      transport: () => Promise.reject(new Error("EADDRNOTAVAIL")),
    }),
    (err) => err instanceof PvrError && err.code === "FAILED",
  );
});

Deno.test("browse() passes on what onInstance throws, and closes the network", async () => {
  const net = new FakeNet((q, n) => {
    if (isPtrQuery(q)) n.answer(ptr(), srv(), txt(["device-id=abc"]), a("169.254.1.1"));
  });
  await assert.rejects(
    browse({
      service: SERVICE,
      timeoutMs: 5000,
      settleMs: 0,
      transport: net.factory,
      onInstance: () => {
        throw new Error("stdout closed");
      },
    }),
    /stdout closed/,
  );
  assert.equal(net.closed, true);
});

Deno.test("browse() keeps a re-query with many known answers within one datagram", async () => {
  const names = Array.from({ length: 80 }, (_, i) => `pantavisor-device-${i}._ssh._tcp.local.`);
  const net = new FakeNet((q, n) => {
    if (!isPtrQuery(q) || q.answers.length > 0) return;
    for (const name of names) {
      n.answer(ptr(name), srv(name), txt(["device-id=x"], name), a("169.254.1.1"));
    }
  });
  const found = await browse({
    service: SERVICE,
    timeoutMs: 1500,
    settleMs: 0,
    transport: net.factory,
  });
  assert.equal(found.length, 80);
  const requery = net.queries.findIndex((q, i) => i > 0 && isPtrQuery(q));
  assert.ok(net.queries[requery].answers.length > 10, "known answers are sent");
  assert.ok(net.queries[requery].answers.length < 80, "but not all of them");
  assert.ok(net.sizes[requery] <= 1400, `${net.sizes[requery]} bytes`);
});
