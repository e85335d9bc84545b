/** App names: what `<repo>/<name>` may be. */

import assert from "node:assert/strict";
import { appName } from "../../../core/app/app_dir.ts";
import { PvrError } from "../../../core/errors.ts";

Deno.test("appName() trims leading and trailing '/' as the Go pvr", () => {
  assert.equal(appName("web"), "web");
  assert.equal(appName("/web/"), "web");
  assert.equal(appName("web//"), "web");
});

Deno.test("appName() refuses empty names (USAGE) and anything but one plain segment (UNSAFE_PATH)", () => {
  for (const empty of ["", "/", "//"]) {
    assert.throws(() => appName(empty), (e) => e instanceof PvrError && e.code === "USAGE");
  }
  for (const bad of [".", "..", "a/b", "../x", "a\0b", ".pvr", ".pv"]) {
    assert.throws(
      () => appName(bad),
      (e) => e instanceof PvrError && e.code === "UNSAFE_PATH",
      JSON.stringify(bad),
    );
  }
});
