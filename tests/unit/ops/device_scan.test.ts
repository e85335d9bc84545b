/** `deviceScan()`: Pantavisor devices out of DNS-SD answers (fake network). */

import assert from "node:assert/strict";
import {
  decodeMessage,
  type DnsRecord,
  encodeMessage,
  RR_TYPE,
  txtStrings,
} from "../../../core/device/dns.ts";
import type { MdnsTransportFactory } from "../../../core/device/mdns.ts";
import { deviceScan, type ScannedDevice } from "../../../core/ops/device_scan.ts";
import { PvrError } from "../../../core/errors.ts";

const SERVICE = "_ssh._tcp.local.";

function service(label: string, host: string, addr: string, txt: string[]): DnsRecord[] {
  const name = `${label}.${SERVICE}`;
  return [
    { name: SERVICE, type: RR_TYPE.PTR, ttl: 4500, data: name },
    {
      name,
      type: RR_TYPE.SRV,
      ttl: 120,
      data: { priority: 0, weight: 0, port: 22, target: host },
    },
    { name, type: RR_TYPE.TXT, ttl: 4500, data: txtStrings(txt) },
    { name: host, type: RR_TYPE.A, ttl: 120, data: addr },
  ];
}

/** A network where three `_ssh._tcp` services answer every PTR query. */
function network(): MdnsTransportFactory {
  return (onPacket) =>
    Promise.resolve({
      send(packet: Uint8Array) {
        const q = decodeMessage(packet);
        if (q.questions.some((x) => x.type === RR_TYPE.PTR)) {
          const answers = [
            ...service("unclaimed", "pv1.local.", "169.254.9.1", [
              "device-id=id1",
              "pantahub=https://api.pantahub.com:443",
              "challenge=happy-fox",
            ]),
            ...service("plain-ssh", "laptop.local.", "169.254.9.2", []),
            ...service("owned", "pv2.local.", "169.254.9.3", [
              "device-id=id2",
              "pantahub=https://api2.pantahub.com",
            ]),
          ];
          queueMicrotask(() =>
            onPacket(encodeMessage({ response: true, answers }), { address: "x", port: 5353 })
          );
        }
        return Promise.resolve();
      },
      close() {},
    });
}

Deno.test("deviceScan() reports only services with a device-id, as they arrive", async () => {
  const seen: string[] = [];
  const r = await deviceScan({
    timeoutMs: 500,
    socketFactory: network(),
    onDevice: (d) => {
      seen.push(d.deviceId);
    },
  });
  assert.deepEqual(seen, ["id1", "id2"]);
  const expected: ScannedDevice[] = [
    {
      deviceId: "id1",
      pantahub: "https://api.pantahub.com:443",
      challenge: "happy-fox",
      owned: false,
      host: "pv1.local.",
      port: 22,
      ipv4: ["169.254.9.1"],
      ipv6: [],
      instance: "unclaimed",
      txt: {
        "device-id": "id1",
        pantahub: "https://api.pantahub.com:443",
        challenge: "happy-fox",
      },
    },
    {
      deviceId: "id2",
      pantahub: "https://api2.pantahub.com",
      owned: true,
      host: "pv2.local.",
      port: 22,
      ipv4: ["169.254.9.3"],
      ipv6: [],
      instance: "owned",
      txt: { "device-id": "id2", pantahub: "https://api2.pantahub.com" },
    },
  ];
  assert.deepEqual(r.devices, expected);
});

Deno.test("deviceScan() refuses a timeout that is not a positive number", async () => {
  for (const timeoutMs of [0, -1, NaN, Infinity]) {
    await assert.rejects(
      deviceScan({ timeoutMs, socketFactory: network() }),
      (err) => err instanceof PvrError && err.code === "USAGE",
    );
  }
});

Deno.test("deviceScan() returns at once when the signal is already aborted", async () => {
  const ac = new AbortController();
  ac.abort();
  const r = await deviceScan({ timeoutMs: 60_000, socketFactory: network(), signal: ac.signal });
  assert.deepEqual(r.devices, []);
});
