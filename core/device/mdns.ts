/**
 * A minimal mDNS / DNS-SD browser (RFC 6762, RFC 6763): it asks for the instances of one
 * service type (`_ssh._tcp.local.`), follows each instance to its SRV (host, port), TXT and
 * A/AAAA records, and reports every instance once, soon after it is complete (a short
 * settle time collects the addresses that responders send in separate IPv4 and IPv6
 * answers).
 *
 * Queries go out at 0 s, 1 s, 3 s, 7 s, … — intervals doubling from 1 s (RFC 6762 §5.2) — with the instances already
 * reported as known answers (§7.1), until the timeout or the abort signal. Instances whose
 * answers were incomplete get follow-up SRV/TXT or A/AAAA questions, at most one a second
 * per name.
 *
 * The network is behind {@link MdnsTransport}, so tests can drive the browser with
 * hand-made packets; {@link openMulticastTransport} is the real one (`node:dgram`, since
 * `Deno.listenDatagram` still needs `--unstable-net`).
 *
 * @module
 */

import dgram from "node:dgram";
import { PvrError } from "../errors.ts";
import os from "node:os";
import {
  decodeMessage,
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
  encodeMessage,
  firstLabel,
  parseTxt,
  RR_TYPE,
  type SrvData,
} from "./dns.ts";

/** The mDNS IPv4 group. */
export const MDNS_IPV4 = "224.0.0.251";
/** The mDNS IPv6 link-local group. */
export const MDNS_IPV6 = "ff02::fb";
/** The mDNS port. */
export const MDNS_PORT = 5353;

/** Where a datagram came from. */
export interface PacketSource {
  address: string;
  port: number;
}

/** A way to send mDNS queries and receive the answers. */
export interface MdnsTransport {
  /** Sends one query to the mDNS group(s), on every interface the transport covers. */
  send(packet: Uint8Array): Promise<void>;
  /**
   * True when the transport could not bind port 5353: queries are then "legacy unicast"
   * (RFC 6762 §6.7) and responders answer straight to our port.
   */
  readonly legacyUnicast?: boolean;
  /** Closes the sockets; no packet is delivered afterwards. */
  close(): void;
}

/** Opens a transport that hands every datagram it receives to `onPacket`. */
export type MdnsTransportFactory = (
  onPacket: (packet: Uint8Array, from: PacketSource) => void,
) => Promise<MdnsTransport>;

/** One discovered service instance. */
export interface ServiceInstance {
  /** The full instance name (`my device._ssh._tcp.local.`). */
  name: string;
  /** The instance label (`my device`). */
  instance: string;
  /** The SRV target, absolute (`pantavisor.local.`). */
  host: string;
  /** The SRV port. */
  port: number;
  /** The TXT key/value pairs (keys lower-cased, RFC 6763 §6.4). */
  txt: Record<string, string>;
  /** IPv4 addresses of `host`, in the order they arrived. */
  ipv4: string[];
  /** IPv6 addresses of `host`, in the order they arrived. */
  ipv6: string[];
}

/** Options of {@link browse}. */
export interface BrowseOptions {
  /** The service type, absolute (`_ssh._tcp.local.`). */
  service: string;
  /** How long to browse, in milliseconds. */
  timeoutMs: number;
  /** Stops browsing early (the instances found so far are returned). */
  signal?: AbortSignal;
  /** Receives each instance once, when it is complete, in order. */
  onInstance?: (instance: ServiceInstance) => void | Promise<void>;
  /** The network (default {@link openMulticastTransport}). */
  transport?: MdnsTransportFactory;
  /**
   * How long to wait, once an instance is complete, for more of its addresses before
   * reporting it (default {@link DEFAULT_SETTLE_MS}; 0 reports at once).
   */
  settleMs?: number;
}

/** The largest query we send (a 1500-byte Ethernet payload minus IP and UDP headers). */
const MAX_QUERY_BYTES = 1400;

/** The default {@link BrowseOptions.settleMs}. */
export const DEFAULT_SETTLE_MS = 300;

interface Timed<T> {
  value: T;
  ttl: number;
  /** `performance.now()` when it arrived. */
  at: number;
}

const key = (name: string) => name.toLowerCase();

/**
 * Browses for `service` until `timeoutMs` passes (or `signal` aborts) and returns the
 * complete instances, each reported to `onInstance` as soon as it was complete.
 * Throws `FAILED` when the transport cannot be opened, and what `onInstance` throws.
 */
export async function browse(opts: BrowseOptions): Promise<ServiceInstance[]> {
  const service = opts.service.endsWith(".") ? opts.service : opts.service + ".";
  const ptrs = new Map<string, Timed<string>>();
  const srvs = new Map<string, SrvData>();
  const txts = new Map<string, Uint8Array[]>();
  const ipv4 = new Map<string, string[]>();
  const ipv6 = new Map<string, string[]>();
  const reported = new Map<string, ServiceInstance>();
  const lastAsked = new Map<string, number>();
  let delivery: Promise<void> = Promise.resolve();
  let failure: unknown = undefined;
  let finish = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const addAddress = (map: Map<string, string[]>, host: string, addr: string) => {
    const list = map.get(key(host)) ?? [];
    if (!list.includes(addr)) list.push(addr);
    map.set(key(host), list);
  };

  const store = (rec: DnsRecord) => {
    const k = key(rec.name);
    switch (rec.type) {
      case RR_TYPE.PTR:
        if (key(rec.name) !== key(service)) return;
        if (rec.ttl === 0) ptrs.delete(key(rec.data as string));
        else {
          ptrs.set(key(rec.data as string), {
            value: rec.data as string,
            ttl: rec.ttl,
            at: performance.now(),
          });
        }
        return;
      case RR_TYPE.SRV:
        if (rec.ttl > 0) srvs.set(k, rec.data as SrvData);
        return;
      case RR_TYPE.TXT:
        if (rec.ttl > 0 && (rec.cacheFlush || !txts.has(k))) txts.set(k, rec.data as Uint8Array[]);
        return;
      case RR_TYPE.A:
        if (rec.ttl > 0) addAddress(ipv4, rec.name, rec.data as string);
        return;
      case RR_TYPE.AAAA:
        if (rec.ttl > 0) addAddress(ipv6, rec.name, rec.data as string);
        return;
    }
  };

  let transport: MdnsTransport | undefined;
  const send = (questions: DnsQuestion[], knownAnswers: DnsRecord[] = []) => {
    if (!transport) return;
    const legacy = transport.legacyUnicast === true;
    const known = [...knownAnswers];
    let packet: Uint8Array;
    // Stay within one unfragmented datagram: drop known answers that do not fit (their
    // instances may then be answered again, and are ignored as already reported).
    do {
      packet = encodeMessage({
        id: legacy ? 1 + Math.floor(Math.random() * 0xfffe) : 0,
        questions,
        answers: known,
      });
    } while (packet.length > MAX_QUERY_BYTES && known.pop() !== undefined);
    transport.send(packet).catch(() => {/* a lost query is like a lost packet */});
  };

  const askOnce = (name: string, types: number[]) => {
    const now = performance.now();
    const k = key(name) + "/" + types.join(",");
    if (now - (lastAsked.get(k) ?? -Infinity) < 1000) return;
    lastAsked.set(k, now);
    send(types.map((type) => ({ name, type })));
  };

  const settling = new Map<string, ReturnType<typeof setTimeout>>();
  const settleMs = opts.settleMs ?? DEFAULT_SETTLE_MS;

  /** Reports instance `k` with what is known now (unless a goodbye removed it). */
  const report = (k: string) => {
    clearTimeout(settling.get(k));
    settling.delete(k);
    const ptr = ptrs.get(k), srv = srvs.get(k), txt = txts.get(k);
    if (!ptr || !srv || !txt || reported.has(k)) return;
    const instance: ServiceInstance = {
      name: ptr.value,
      instance: firstLabel(ptr.value),
      host: srv.target,
      port: srv.port,
      txt: parseTxt(txt),
      ipv4: [...(ipv4.get(key(srv.target)) ?? [])],
      ipv6: [...(ipv6.get(key(srv.target)) ?? [])],
    };
    reported.set(k, instance);
    if (opts.onInstance) {
      const deliver = opts.onInstance;
      delivery = delivery.then(() => deliver(instance)).catch((err) => {
        failure ??= err;
        finish();
      });
    }
  };

  const onMessage = (msg: DnsMessage) => {
    if (!msg.response) return; // our own (looped-back) queries, or other browsers'
    for (const rec of [...msg.answers, ...msg.additionals]) store(rec);
    for (const [k, ptr] of ptrs) {
      if (reported.has(k) || settling.has(k)) continue;
      const srv = srvs.get(k);
      const txt = txts.get(k);
      if (!srv || !txt) {
        askOnce(ptr.value, [RR_TYPE.SRV, RR_TYPE.TXT]);
        continue;
      }
      const v4 = ipv4.get(key(srv.target)) ?? [];
      const v6 = ipv6.get(key(srv.target)) ?? [];
      if (v4.length === 0 && v6.length === 0) {
        askOnce(srv.target, [RR_TYPE.A, RR_TYPE.AAAA]);
        continue;
      }
      // Responders such as avahi answer once per interface and address family, each
      // answer with that family's addresses only: wait a moment for the other one.
      if (settleMs <= 0) report(k);
      else settling.set(k, setTimeout(() => report(k), settleMs));
    }
  };

  const onPacket = (packet: Uint8Array) => {
    let msg: DnsMessage;
    try {
      msg = decodeMessage(packet);
    } catch {
      return; // not ours to fix: ignore malformed packets
    }
    onMessage(msg);
  };

  if (opts.signal?.aborted) return [];
  try {
    transport = await (opts.transport ?? openMulticastTransport)(onPacket);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new PvrError("FAILED", `cannot open the mDNS socket: ${why}`, { cause: err });
  }
  const timers: ReturnType<typeof setTimeout>[] = [];
  try {
    const query = () => {
      const now = performance.now();
      // Known-answer suppression: PTRs we reported with more than half their TTL left.
      const known: DnsRecord[] = [];
      for (const [k, ptr] of ptrs) {
        const left = ptr.ttl - (now - ptr.at) / 1000;
        if (reported.has(k) && left > ptr.ttl / 2) {
          known.push({ name: service, type: RR_TYPE.PTR, ttl: Math.floor(left), data: ptr.value });
        }
      }
      send([{ name: service, type: RR_TYPE.PTR }], known);
    };
    let interval = 1000;
    let elapsed = 0;
    const schedule = () => {
      if (elapsed + interval >= opts.timeoutMs) return;
      timers.push(setTimeout(() => {
        elapsed += interval;
        interval = Math.min(interval * 2, 60_000);
        query();
        schedule();
      }, interval));
    };
    query();
    schedule();
    timers.push(setTimeout(finish, opts.timeoutMs));
    const onAbort = () => finish();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.signal?.aborted) finish();
    await finished;
    opts.signal?.removeEventListener("abort", onAbort);
  } finally {
    timers.forEach(clearTimeout);
    // Instances still settling were complete before the end: report them now.
    if (failure === undefined) [...settling.keys()].forEach(report);
    settling.forEach(clearTimeout);
    transport.close();
    transport = undefined;
  }
  await delivery;
  if (failure !== undefined) throw failure;
  return [...reported.values()];
}

/** Options of {@link openMulticastTransport}. */
export interface MulticastTransportOptions {
  /** Also use IPv6 (ff02::fb) where it works (default true). */
  ipv6?: boolean;
}

/**
 * The real transport: UDP sockets bound to port 5353 with SO_REUSEADDR (so that they share
 * the port with avahi-daemon or another responder), joined to 224.0.0.251 (and ff02::fb)
 * on every non-loopback interface with an address (the default interface when there is
 * none). Queries go out on each of those interfaces. When port 5353 cannot be bound, it
 * falls back to an ephemeral port and legacy-unicast queries. IPv6 is best effort.
 */
export function openMulticastTransport(
  onPacket: (packet: Uint8Array, from: PacketSource) => void,
  options: MulticastTransportOptions = {},
): Promise<MdnsTransport> {
  return openTransport(onPacket, options);
}

interface Family {
  socket: dgram.Socket;
  /** Outgoing interface per send: an IPv4 address, or `::%<ifname>` for IPv6. */
  interfaces: (string | undefined)[];
  group: string;
}

function bindSocket(socket: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    socket.once("error", onError);
    socket.bind({ port, address, exclusive: false }, () => {
      socket.off("error", onError);
      resolve();
    });
  });
}

async function openTransport(
  onPacket: (packet: Uint8Array, from: PacketSource) => void,
  options: MulticastTransportOptions,
): Promise<MdnsTransport> {
  let closed = false;
  const families: Family[] = [];
  const deliver = (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
    if (!closed) onPacket(new Uint8Array(msg), { address: rinfo.address, port: rinfo.port });
  };
  const nets = Object.entries(os.networkInterfaces()).flatMap(([ifname, addrs]) =>
    (addrs ?? []).filter((a) => !a.internal).map((a) => ({ ifname, ...a }))
  );

  // IPv4: required.
  let legacyUnicast = false;
  const s4 = dgram.createSocket({ type: "udp4", reuseAddr: true });
  s4.on("message", deliver);
  s4.on("error", () => {/* reported through send() */});
  try {
    await bindSocket(s4, MDNS_PORT, "0.0.0.0");
  } catch {
    legacyUnicast = true;
    await bindSocket(s4, 0, "0.0.0.0");
  }
  const v4 = nets.filter((n) => n.family === "IPv4").map((n) => n.address);
  const v4Joined: (string | undefined)[] = [];
  for (const addr of v4.length ? v4 : [undefined]) {
    try {
      if (!legacyUnicast) s4.addMembership(MDNS_IPV4, addr);
      v4Joined.push(addr);
    } catch { /* an interface without multicast */ }
  }
  try {
    s4.setMulticastTTL(255);
    s4.setMulticastLoopback(true);
  } catch { /* defaults are fine */ }
  families.push({
    socket: s4,
    interfaces: v4Joined.length ? v4Joined : [undefined],
    group: MDNS_IPV4,
  });

  // IPv6: best effort (a host without IPv6, or without link-local addresses, is common).
  if (options.ipv6 !== false && !legacyUnicast) {
    const ifnames = [
      ...new Set(
        nets.filter((n) => n.family === "IPv6" && n.address.toLowerCase().startsWith("fe80:"))
          .map((n) => n.ifname),
      ),
    ];
    if (ifnames.length) {
      const s6 = dgram.createSocket({ type: "udp6", reuseAddr: true, ipv6Only: true });
      s6.on("message", deliver);
      s6.on("error", () => {});
      try {
        await bindSocket(s6, MDNS_PORT, "::");
        const joined: string[] = [];
        for (const ifname of ifnames) {
          try {
            s6.addMembership(MDNS_IPV6, `::%${ifname}`);
            joined.push(`::%${ifname}`);
          } catch { /* skip this interface */ }
        }
        try {
          s6.setMulticastTTL(255);
        } catch { /* default */ }
        if (joined.length) families.push({ socket: s6, interfaces: joined, group: MDNS_IPV6 });
        else s6.close();
      } catch {
        try {
          s6.close();
        } catch { /* already closed */ }
      }
    }
  }

  const sendOne = (f: Family, iface: string | undefined, packet: Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      try {
        if (iface !== undefined) f.socket.setMulticastInterface(iface);
        f.socket.send(packet, MDNS_PORT, f.group, (err) => (err ? reject(err) : resolve()));
      } catch (err) {
        reject(err);
      }
    });

  return {
    legacyUnicast,
    async send(packet: Uint8Array) {
      let sent = 0;
      let lastError: unknown;
      for (const f of families) {
        // One interface at a time: the outgoing interface is a socket-wide setting.
        for (const iface of f.interfaces) {
          try {
            await sendOne(f, iface, packet);
            sent++;
          } catch (err) {
            lastError = err;
          }
        }
      }
      if (sent === 0 && lastError !== undefined) throw lastError;
    },
    close() {
      if (closed) return;
      closed = true;
      for (const f of families) {
        try {
          f.socket.close();
        } catch { /* already closed */ }
      }
    },
  };
}
