/** The Go-exact stderr block of `pvr device scan`. */

import assert from "node:assert/strict";
import {
  formatScannedDevice,
  formatScanSummary,
  SCAN_DEPRECATED,
} from "../../../commands/device/scan.ts";
import type { ScannedDevice } from "../../../core/ops/device_scan.ts";

const base: ScannedDevice = {
  deviceId: "61147e8af0e0f5000a50d11c",
  pantahub: "https://api.pantahub.com:443",
  owned: true,
  host: "localhost.local.",
  port: 22,
  ipv4: ["192.168.68.115"],
  ipv6: ["fe80::d4ac:9722:ab19:7b81"],
  instance: "pantavisor",
  txt: {},
};

Deno.test("an unclaimed device shows its claim command", () => {
  assert.equal(
    formatScannedDevice({ ...base, owned: false, challenge: "marginally-optimum-midge" }),
    "\tID: 61147e8af0e0f5000a50d11c (unclaimed)\n" +
      "\tHost: localhost.local.\n" +
      "\tIPv4: [192.168.68.115]\n" +
      "\tIPv6: [fe80::d4ac:9722:ab19:7b81]\n" +
      "\tPort: 22\n" +
      "\tClaim Cmd: pvr claim -c marginally-optimum-midge " +
      "https://api.pantahub.com:443/devices/61147e8af0e0f5000a50d11c\n",
  );
});

Deno.test("an owned device shows its hub page and clone URL; api2 means the staging hub", () => {
  assert.equal(
    formatScannedDevice({ ...base, ipv4: ["10.0.0.1", "10.0.0.2"], ipv6: [] }),
    "\tID: 61147e8af0e0f5000a50d11c (owned)\n" +
      "\tHost: localhost.local.\n" +
      "\tIPv4: [10.0.0.1 10.0.0.2]\n" +
      "\tIPv6: []\n" +
      "\tPort: 22\n" +
      "\tPantahub WWW: https://hub.pantacor.com/u/_/devices/61147e8af0e0f5000a50d11c\n" +
      "\tPVR Clone: https://api.pantahub.com:443/trails/61147e8af0e0f5000a50d11c\n",
  );
  assert.match(
    formatScannedDevice({ ...base, pantahub: "https://api2.pantahub.com" }),
    /\tPantahub WWW: https:\/\/stage\.hub\.pantacor\.com\/u\/_\/devices\/61147e8af0e0f5000a50d11c\n/,
  );
});

Deno.test("the summary line and the deprecation notice follow the Go pvr", () => {
  assert.equal(
    formatScanSummary(2),
    "Pantavisor devices detected in network: 2 (see above for details)\n",
  );
  assert.equal(
    SCAN_DEPRECATED,
    "\nDEPRECATED: the pvr scan command is deprecated and will go away in some future release. " +
      "It can now be found as a device subcommand:pvr device scan\n",
  );
});
