/** The pure parts of self-upgrade: platform names and the image reference. */

import assert from "node:assert/strict";
import { imagePlatformDir, upgradeImage } from "../../../core/ops/self_upgrade.ts";
import { isPvrError } from "../../../core/errors.ts";

Deno.test("imagePlatformDir maps Deno's os/arch to the image's <GOOS>_<GOARCH>", () => {
  assert.equal(imagePlatformDir("linux", "x86_64"), "linux_amd64");
  assert.equal(imagePlatformDir("linux", "aarch64"), "linux_arm64");
  assert.equal(imagePlatformDir("darwin", "aarch64"), "darwin_arm64");
  assert.equal(imagePlatformDir("windows", "x86_64"), "windows_amd64");
  // 32-bit ARM is linux_arm in the image (the Go pvr looked for linux_armv6).
  assert.equal(imagePlatformDir("linux", "armv6l"), "linux_arm");
  assert.equal(imagePlatformDir("linux", "armv7l"), "linux_arm");
  assert.equal(imagePlatformDir("linux", "riscv64"), "linux_riscv64");
  assert.throws(() => imagePlatformDir("linux", "mips"), (e) => isPvrError(e, "FAILED"));
});

Deno.test("upgradeImage adds the DistributionTag unless the reference has a tag or digest", () => {
  // No default: the Go pvr's image holds another program.
  assert.throws(() => upgradeImage(undefined, "develop"), (e) => isPvrError(e, "BAD_REFERENCE"));
  assert.throws(() => upgradeImage(" ", "stable"), (e) => isPvrError(e, "BAD_REFERENCE"));
  assert.equal(upgradeImage("registry.example/pvr", "stable"), "registry.example/pvr:stable");
  assert.equal(upgradeImage("localhost:5000/pvr", "x"), "localhost:5000/pvr:x");
  assert.equal(upgradeImage("localhost:5000/pvr:019", "x"), "localhost:5000/pvr:019");
  const pinned = `r.example/pvr@sha256:${"a".repeat(64)}`;
  assert.equal(upgradeImage(pinned, "x"), pinned);
});
