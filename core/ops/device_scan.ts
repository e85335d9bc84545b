/**
 * `pvr device scan` (and the deprecated `pvr scan`, spec pvr-reference §8.7): find
 * Pantavisor devices on the local network. They announce themselves over mDNS/DNS-SD as
 * `_ssh._tcp` services whose TXT record carries `device-id`, `pantahub` and (while
 * unclaimed) `challenge`; services without a `device-id` are not devices and are skipped.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { browse, type MdnsTransportFactory, type ServiceInstance } from "../device/mdns.ts";

/** The DNS-SD service type Pantavisor devices announce. */
export const DEVICE_SERVICE = "_ssh._tcp.local.";

/** The scan time of the Go pvr. */
export const DEFAULT_SCAN_TIMEOUT_MS = 15_000;

/** Options of {@link deviceScan}. */
export interface DeviceScanOptions {
  /** How long to listen, in milliseconds (default 15 000, as the Go pvr). */
  timeoutMs?: number;
  /** Receives each device once, as soon as it is found, in order. */
  onDevice?: (device: ScannedDevice) => void | Promise<void>;
  /** Stops the scan early; the devices found so far are returned. */
  signal?: AbortSignal;
  /** The network (default: UDP multicast on every interface, port 5353). */
  socketFactory?: MdnsTransportFactory;
}

/** One Pantavisor device found on the network. */
export interface ScannedDevice {
  /** The TXT `device-id`. */
  deviceId: string;
  /** The TXT `pantahub` (the device's Pantahub API URL), `""` when absent. */
  pantahub: string;
  /** The TXT `challenge`, present while the device is unclaimed. */
  challenge?: string;
  /** False while the device announces a claim challenge. */
  owned: boolean;
  /** The SRV host name, absolute (`pantavisor.local.`). */
  host: string;
  /** The SRV port (the device's SSH port). */
  port: number;
  ipv4: string[];
  ipv6: string[];
  /** The DNS-SD instance name (`pantavisor-1234`). */
  instance: string;
  /** All TXT key/value pairs (keys lower-cased). */
  txt: Record<string, string>;
}

/** What {@link deviceScan} found. */
export interface DeviceScanResult {
  devices: ScannedDevice[];
}

/** The device an instance describes, or `undefined` when it has no `device-id`. */
export function deviceOf(instance: ServiceInstance): ScannedDevice | undefined {
  const id = instance.txt["device-id"];
  if (!id) return undefined;
  const challenge = instance.txt["challenge"] || undefined;
  return {
    deviceId: id,
    pantahub: instance.txt["pantahub"] ?? "",
    ...(challenge === undefined ? {} : { challenge }),
    owned: challenge === undefined,
    host: instance.host,
    port: instance.port,
    ipv4: instance.ipv4,
    ipv6: instance.ipv6,
    instance: instance.instance,
    txt: instance.txt,
  };
}

/**
 * Listens for Pantavisor devices for `timeoutMs` and returns them; each is also handed to
 * `onDevice` as soon as it is complete. Throws `USAGE` for a bad timeout and `FAILED`
 * when the network cannot be used.
 *
 * Needs `--allow-net` and `--allow-sys` (the interface list).
 *
 * @example
 * ```ts
 * const { devices } = await deviceScan({
 *   timeoutMs: 5000,
 *   onDevice: (d) => console.log(d.deviceId, d.ipv4),
 * });
 * ```
 */
export async function deviceScan(opts: DeviceScanOptions): Promise<DeviceScanResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SCAN_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new PvrError("USAGE", `the scan timeout must be a positive number: ${timeoutMs}`);
  }
  const devices: ScannedDevice[] = [];
  const factory = opts.socketFactory;
  await browse({
    service: DEVICE_SERVICE,
    timeoutMs,
    signal: opts.signal,
    ...(factory ? { transport: factory } : {}),
    onInstance: async (instance) => {
      const device = deviceOf(instance);
      if (!device) return;
      devices.push(device);
      await opts.onDevice?.(device);
    },
  });
  return { devices };
}
