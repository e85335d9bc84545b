/** What `pvr self-upgrade` prints when it is done. */

import assert from "node:assert/strict";
import { upgradeReport } from "../../../commands/self_upgrade.ts";
import type { SelfUpgradeResult } from "../../../core/ops/self_upgrade.ts";

const base: SelfUpgradeResult = {
  image: "registry.gitlab.com/pantacor/pvr:develop",
  version: `sha256:${"a".repeat(64)}`,
  upToDate: false,
  exe: "/usr/local/bin/pvr",
  backup: "/usr/local/bin/pvr.bak",
  cacheDir: "/home/u/.pvr/cache",
  binaryPath: "pkg/bin/linux_amd64/pvr",
};

Deno.test("self-upgrade reports the Go pvr's lines: updated, or already the latest", () => {
  assert.deepEqual(upgradeReport(base), [
    "Pvr installed on /usr/local/bin/pvr",
    "Docker layers are going to be cache on: /home/u/.pvr/cache",
    "PVR has been updated!",
  ]);
  assert.deepEqual(upgradeReport({ ...base, upToDate: true, backup: undefined }), [
    "You already have the latest version of PVR :) ",
  ]);
});
