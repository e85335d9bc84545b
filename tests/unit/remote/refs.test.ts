/** Reference fixup (§6.1), write targets, descriptor and step URLs. */

import assert from "node:assert/strict";
import {
  descriptorUrl,
  fixupRepoRef,
  isBareIp,
  type PvrRemote,
  remoteTargetUrl,
  stepUrl,
} from "../../../core/remote/pantahub/remote.ts";
import { rejectsWithCode } from "../../support/cli.ts";
import { withTempDir } from "../../support/temp.ts";
import { PvrError } from "../../../core/errors.ts";

const cwd = "/nonexistent-pvr-test-dir";

Deno.test("fixupRepoRef() keeps the Go pvr's verified examples", async () => {
  const o = { cwd, repoBaseUrl: "https://pvr.pantahub.com" };
  assert.equal(await fixupRepoRef("192.168.1.3", o), "http://192.168.1.3:12368/cgi-bin/pvr");
  assert.equal(
    await fixupRepoRef("192.168.1.3#hash,some", o),
    "http://192.168.1.3:12368/cgi-bin/pvr#hash,some",
  );
  assert.equal(
    await fixupRepoRef("asacasa/test1234", o),
    "https://pvr.pantahub.com/asacasa/test1234",
  );
  assert.equal(
    await fixupRepoRef("asacasa/test1234#something,fun", o),
    "https://pvr.pantahub.com/asacasa/test1234#something,fun",
  );
});

Deno.test("fixupRepoRef() fixes: --repo-baseurl is used, fragments with / are kept", async () => {
  const o = { cwd, repoBaseUrl: "http://127.0.0.1:9/" };
  assert.equal(
    await fixupRepoRef("alice/box#_config/app", o),
    "http://127.0.0.1:9/alice/box#_config/app",
  );
  assert.equal(await fixupRepoRef("::1#bsp", o), "http://[::1]:12368/cgi-bin/pvr#bsp");
  const url = "https://api.pantahub.com/trails/abc/steps/3#bsp,-x";
  assert.equal(await fixupRepoRef(url, o), url);
});

Deno.test("fixupRepoRef() refuses a missing path, a lone nick and deeper paths (BAD_REFERENCE)", async () => {
  const o = { cwd };
  for (const ref of ["./missing", "alice", "a/b/c", "../x/y", "/abs/missing", "#frag"]) {
    await rejectsWithCode(fixupRepoRef(ref, o), "BAD_REFERENCE");
  }
});

Deno.test("fixupRepoRef() leaves an existing local path as it is", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/alice/box`, { recursive: true });
    assert.equal(await fixupRepoRef("alice/box#bsp", { cwd: dir }), "alice/box#bsp");
  });
});

Deno.test("isBareIp() tells addresses from names", () => {
  for (const ip of ["10.0.0.1", "255.255.255.255", "::1", "fe80::1", "2001:db8::8a2e:370:7334"]) {
    assert.ok(isBareIp(ip), ip);
  }
  for (const s of ["10.0.0", "256.1.1.1", "host", "a:b:g::", "10.0.0.1:80", ""]) {
    assert.ok(!isBareIp(s), s);
  }
});

Deno.test("remoteTargetUrl(): URL, IP, user/device; USAGE without a nick", () => {
  assert.equal(remoteTargetUrl("http://h/trails/1#x"), "http://h/trails/1");
  assert.equal(remoteTargetUrl("u/d", "http://hub:1"), "http://hub:1/u/d");
  assert.equal(remoteTargetUrl("u/d"), "https://pvr.pantahub.com/u/d");
  assert.equal(remoteTargetUrl("10.1.2.3"), "http://10.1.2.3:12368/cgi-bin/pvr");
  assert.throws(() => remoteTargetUrl("u"), (e) => e instanceof PvrError && e.code === "USAGE");
  assert.throws(
    () => remoteTargetUrl("u/d/e"),
    (e) => e instanceof PvrError && e.code === "BAD_REFERENCE",
  );
});

Deno.test("descriptorUrl() joins .pvrremote onto the path, cleaned; query kept, fragment dropped", () => {
  assert.equal(descriptorUrl("https://h/trails/1"), "https://h/trails/1/.pvrremote");
  assert.equal(descriptorUrl("https://h/trails/1/"), "https://h/trails/1/.pvrremote");
  assert.equal(descriptorUrl("https://h//a/./b#bsp/x"), "https://h/a/b/.pvrremote");
  assert.equal(descriptorUrl("https://h/a?x=1#f"), "https://h/a/.pvrremote?x=1");
  assert.equal(
    descriptorUrl("http://1.2.3.4:12368/cgi-bin/pvr"),
    "http://1.2.3.4:12368/cgi-bin/pvr/.pvrremote",
  );
});

Deno.test("stepUrl(): step-get-url, else json-get-url without its last segment", () => {
  const base: PvrRemote = {
    "pvr-spec": "",
    "json-get-url": "https://h/trails/1/steps/3/state",
    "json-key": "state",
    "objects-endpoint": "",
    "post-url": "",
    "post-fields": null,
    "post-fields-opt": null,
  };
  assert.equal(stepUrl(base), "https://h/trails/1/steps/3");
  assert.equal(stepUrl({ ...base, "step-get-url": "https://h/s" }), "https://h/s");
});
