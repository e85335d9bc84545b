/**
 * `pvr device scan` against a real mDNS responder: avahi-daemon publishes Pantavisor-like
 * `_ssh._tcp` services in one network namespace, and pvr scans from another one, the two
 * joined by a veth pair with link-local addresses. Nothing leaves the namespaces.
 *
 * Needs root, `ip` (iproute2) with network namespaces, `mount` and `avahi-daemon`; without
 * them the test is skipped and its name says why. avahi runs without D-Bus
 * (`enable-dbus=no`), without chroot or privilege drop, and sees a temp `services/` dir
 * and `/run` through bind mounts private to its mount namespace (`ip netns exec` makes
 * one), so it neither needs nor touches the host's avahi set-up.
 */

import assert from "node:assert/strict";
import { callerDenoDir, PROJECT_ROOT } from "../support/cli.ts";

const tag = `${Deno.pid % 100000}`;
const NS_DEVICE = `pvrscan-${tag}-d`;
const NS_SCANNER = `pvrscan-${tag}-s`;
const IF_DEVICE = `pvs${tag}d`;
const IF_SCANNER = `pvs${tag}s`;
const DEVICE_ADDR = "169.254.213.1";
const SCANNER_ADDR = "169.254.213.2";
/** Fixed MACs give fixed EUI-64 link-local addresses (fe80::ff:fe00:1 for the device). */
const DEVICE_MAC = "02:00:00:00:00:01";
const SCANNER_MAC = "02:00:00:00:00:02";

const UNCLAIMED_ID = "5f1a2b3c4d5e6f7a8b9c0d1e";
const OWNED_ID = "6a7b8c9d0e1f2a3b4c5d6e7f";

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { ok: o.success, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
  } catch (err) {
    return { ok: false, out: String(err) };
  }
}

async function must(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (!r.ok) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.out}`);
  return r.out;
}

/** Why this test cannot run here, or `undefined` when it can. */
async function unavailable(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "needs Linux network namespaces";
  if (Deno.uid() !== 0) return "needs root for ip netns";
  for (const tool of ["ip", "avahi-daemon", "mount"]) {
    if (!(await run("sh", ["-c", `command -v ${tool}`])).ok) return `${tool} is not installed`;
  }
  const probe = `pvrscan-${tag}-probe`;
  const r = await run("ip", ["netns", "add", probe]);
  if (!r.ok) return `ip netns add failed: ${r.out.trim()}`;
  await run("ip", ["netns", "del", probe]);
  return undefined;
}

const SKIP = await unavailable();

const AVAHI_CONF = (host: string, iface: string) =>
  `[server]
host-name=${host}
domain-name=local
use-ipv4=yes
use-ipv6=yes
allow-interfaces=${iface}
enable-dbus=no
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
[reflector]
[rlimits]
`;

const SERVICES = `<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group>
  <name replace-wildcards="yes">pantavisor-%h</name>
  <service>
    <type>_ssh._tcp</type>
    <port>8222</port>
    <txt-record>device-id=${UNCLAIMED_ID}</txt-record>
    <txt-record>pantahub=https://api.pantahub.com:443</txt-record>
    <txt-record>challenge=marginally-optimum-midge</txt-record>
  </service>
</service-group>
`;

const OWNED_SERVICE = `<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group>
  <name>owned-pantavisor</name>
  <service>
    <type>_ssh._tcp</type>
    <port>22</port>
    <txt-record>device-id=${OWNED_ID}</txt-record>
    <txt-record>pantahub=https://api2.pantahub.com</txt-record>
  </service>
</service-group>
`;

/** An ordinary SSH server: no device-id, so not a Pantavisor device. */
const PLAIN_SSH = `<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group>
  <name>just-ssh</name>
  <service><type>_ssh._tcp</type><port>2222</port></service>
</service-group>
`;

/** A running avahi-daemon and what it printed. */
interface Avahi {
  child: Deno.ChildProcess;
  log: () => string;
  /** Resolves when the log has `text`; rejects after `ms`. */
  waitFor: (text: string, ms: number) => Promise<void>;
  done: Promise<void>;
}

async function startAvahi(
  ns: string,
  dir: string,
  host: string,
  iface: string,
  services: Record<string, string>,
): Promise<Avahi> {
  await Deno.mkdir(`${dir}/services`, { recursive: true });
  await Deno.mkdir(`${dir}/run`, { recursive: true });
  await Deno.writeTextFile(`${dir}/avahi-daemon.conf`, AVAHI_CONF(host, iface));
  for (const [name, xml] of Object.entries(services)) {
    await Deno.writeTextFile(`${dir}/services/${name}`, xml);
  }
  const script =
    `mount --bind "$1/services" /etc/avahi/services && mount --bind "$1/run" /run && ` +
    `exec avahi-daemon --no-chroot --no-drop-root --no-rlimits --no-proc-title -f "$1/avahi-daemon.conf"`;
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", ns, "sh", "-c", script, "sh", dir],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const waiters: (() => void)[] = [];
  const done = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      text += dec.decode(chunk, { stream: true });
      waiters.forEach((w) => w());
    }
  })();
  return {
    child,
    log: () => text,
    done,
    waitFor: (wanted, ms) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`avahi in ${ns} did not log "${wanted}":\n${text}`)),
          ms,
        );
        const check = () => {
          if (text.includes(wanted)) {
            clearTimeout(timer);
            resolve();
          }
        };
        waiters.push(check);
        check();
      }),
  };
}

async function stopAvahi(a: Avahi | undefined): Promise<void> {
  if (!a) return;
  try {
    a.child.kill("SIGTERM");
  } catch { /* already gone */ }
  await a.child.status;
  await a.done.catch(() => {});
}

/** Runs `pvr <args>` as a subprocess inside the scanner namespace. */
async function pvrInScanner(args: string[], home: string) {
  const o = await new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      NS_SCANNER,
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      "main.ts",
      ...args,
    ],
    cwd: PROJECT_ROOT,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      DENO_DIR: callerDenoDir(),
      HOME: home,
      PVR_CONFIG_DIR: `${home}/config`,
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
}

/** Sets an IPv6 sysctl inside a namespace (no procps needed). */
function sysctl6(ns: string, key: string, value: string) {
  return run("ip", [
    "netns",
    "exec",
    ns,
    "sh",
    "-c",
    `echo ${value} > /proc/sys/net/ipv6/conf/${key}`,
  ]);
}

/** The link-local IPv6 address of `iface` in `ns`, if IPv6 is on. */
async function linkLocal(ns: string, iface: string): Promise<string | undefined> {
  const out = (await run("ip", ["-n", ns, "-6", "addr", "show", "dev", iface])).out;
  return out.match(/inet6 (fe80::[0-9a-f:]+)\/64/)?.[1];
}

Deno.test({
  name: "pvr device scan finds avahi-published Pantavisor devices across a veth pair" +
    (SKIP ? ` (skipped: ${SKIP})` : ""),
  ignore: SKIP !== undefined,
  sanitizeResources: true,
  sanitizeOps: true,
}, async () => {
  const tmp = await Deno.makeTempDir({ prefix: "pvr-scan-" });
  let device: Avahi | undefined;
  let scannerAvahi: Avahi | undefined;
  try {
    await must("ip", ["netns", "add", NS_DEVICE]);
    await must("ip", ["netns", "add", NS_SCANNER]);
    for (const ns of [NS_DEVICE, NS_SCANNER]) {
      // Link-local IPv6 at once and from the MAC: no duplicate-address wait, no privacy
      // addresses (best effort: a kernel without IPv6 just gives `IPv6: []`).
      await sysctl6(ns, "default/accept_dad", "0");
      await sysctl6(ns, "default/addr_gen_mode", "0");
      await must("ip", ["-n", ns, "link", "set", "lo", "up"]);
    }
    await must("ip", [
      "-n",
      NS_DEVICE,
      "link",
      "add",
      IF_DEVICE,
      "address",
      DEVICE_MAC,
      "type",
      "veth",
      "peer",
      "name",
      IF_SCANNER,
      "address",
      SCANNER_MAC,
      "netns",
      NS_SCANNER,
    ]);
    await must("ip", ["-n", NS_DEVICE, "addr", "add", `${DEVICE_ADDR}/24`, "dev", IF_DEVICE]);
    await must("ip", ["-n", NS_SCANNER, "addr", "add", `${SCANNER_ADDR}/24`, "dev", IF_SCANNER]);
    await must("ip", ["-n", NS_DEVICE, "link", "set", IF_DEVICE, "multicast", "on", "up"]);
    await must("ip", ["-n", NS_SCANNER, "link", "set", IF_SCANNER, "multicast", "on", "up"]);
    const deviceV6 = await linkLocal(NS_DEVICE, IF_DEVICE);

    // The device: two Pantavisor services and one plain SSH service.
    device = await startAvahi(NS_DEVICE, `${tmp}/device`, "pvr-scan-device", IF_DEVICE, {
      "pantavisor.service": SERVICES,
      "owned.service": OWNED_SERVICE,
      "ssh.service": PLAIN_SSH,
    });
    // The scanner's host runs its own avahi-daemon on port 5353: pvr must share the port.
    scannerAvahi = await startAvahi(NS_SCANNER, `${tmp}/scanner`, "pvr-scan-host", IF_SCANNER, {});
    for (const file of ["pantavisor", "owned", "ssh"]) {
      await device.waitFor(`/services/${file}.service) successfully established`, 15_000);
    }
    await scannerAvahi.waitFor("Server startup complete", 15_000);

    // Two scanners at once: the current command, and the deprecated one with --json.
    const [text, json] = await Promise.all([
      pvrInScanner(["device", "scan", "--timeout", "5"], tmp),
      pvrInScanner(["scan", "--json", "--timeout", "3"], tmp),
    ]);

    const ipv6 = `[${deviceV6 ?? ""}]`;
    const unclaimedBlock = `\tID: ${UNCLAIMED_ID} (unclaimed)\n` +
      `\tHost: pvr-scan-device.local.\n` +
      `\tIPv4: [${DEVICE_ADDR}]\n` +
      `\tIPv6: ${ipv6}\n` +
      `\tPort: 8222\n` +
      `\tClaim Cmd: pvr claim -c marginally-optimum-midge ` +
      `https://api.pantahub.com:443/devices/${UNCLAIMED_ID}\n`;
    const ownedBlock = `\tID: ${OWNED_ID} (owned)\n` +
      `\tHost: pvr-scan-device.local.\n` +
      `\tIPv4: [${DEVICE_ADDR}]\n` +
      `\tIPv6: ${ipv6}\n` +
      `\tPort: 22\n` +
      `\tPantahub WWW: https://stage.hub.pantacor.com/u/_/devices/${OWNED_ID}\n` +
      `\tPVR Clone: https://api2.pantahub.com/trails/${OWNED_ID}\n`;
    const summary = "Pantavisor devices detected in network: 2 (see above for details)\n";

    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, "");
    const orders = [
      "Scanning ...\n" + unclaimedBlock + ownedBlock + summary,
      "Scanning ...\n" + ownedBlock + unclaimedBlock + summary,
    ];
    assert.ok(orders.includes(text.stderr), `unexpected output:\n${text.stderr}`);

    assert.equal(json.code, 0, json.stderr);
    assert.ok(json.stderr.startsWith("\nDEPRECATED: the pvr scan command is deprecated"));
    assert.ok(json.stderr.endsWith("Scanning ...\n" + summary), json.stderr);
    const devices = json.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    devices.sort((a, b) => a.deviceId.localeCompare(b.deviceId));
    assert.deepEqual(
      devices.map((d) => [d.deviceId, d.owned, d.challenge, d.pantahub, d.port, d.ipv4]),
      [
        [
          UNCLAIMED_ID,
          false,
          "marginally-optimum-midge",
          "https://api.pantahub.com:443",
          8222,
          [DEVICE_ADDR],
        ],
        [OWNED_ID, true, undefined, "https://api2.pantahub.com", 22, [DEVICE_ADDR]],
      ],
    );
    assert.deepEqual(devices.map((d) => d.host), [
      "pvr-scan-device.local.",
      "pvr-scan-device.local.",
    ]);
  } finally {
    await stopAvahi(device);
    await stopAvahi(scannerAvahi);
    await run("ip", ["netns", "del", NS_DEVICE]); // also removes the veth pair
    await run("ip", ["netns", "del", NS_SCANNER]);
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
