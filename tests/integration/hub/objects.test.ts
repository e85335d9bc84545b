/** Stand-in Pantahub: objects, signed URLs, blobs, Range (pantahub-api.md §4, §3.11). */

import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import { manualClock, startHub } from "../../support/hub/server.ts";
import { blobOf, call, seedUserDevice } from "../../support/hub/testing.ts";

/** pvr's object POST body (§4.1): every field present, size as a string. */
function pvrObject(name: string, sha: string, size: number) {
  return {
    id: "",
    "storage-id": "",
    owner: "",
    objectname: name,
    sha256sum: sha,
    size: String(size),
    "mime-type": "application/octet-stream",
    "signed-puturl": "",
    "signed-geturl": "",
    now: "",
    "expire-time": "",
  };
}

Deno.test("hub: object POST is 200 with signed URLs, then 409 object once the blob is uploaded", async () => {
  const clock = manualClock(Date.UTC(2024, 0, 1));
  await using hub = await startHub({ now: clock.now });
  const u = hub.addUser("alice", "a");
  const token = await hub.issueToken("alice");
  const f = blobOf("hello world");
  const r = await call(hub, "POST", "/objects/", { token, json: pvrObject("a/b", f.sha, 11) });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("Pantahub-Object-Type"), "object");
  const o = r.json();
  assert.deepEqual(Object.keys(o), [
    "id",
    "storage-id",
    "owner",
    "objectname",
    "sha256sum",
    "size",
    "sizeint",
    "mime-type",
    "time-created",
    "time-modified",
    "signed-puturl",
    "signed-geturl",
    "now",
    "expire-time",
  ]);
  assert.equal(o.id, f.sha);
  assert.equal(o.owner, u.prn);
  assert.equal(o.size, "11");
  assert.equal(o.sizeint, 11);
  assert.equal(o.now, String(Date.UTC(2024, 0, 1) / 1000));
  assert.equal(o["expire-time"], "15");
  assert.match(o["signed-puturl"], new RegExp(`^${hub.url}/local-s3/[\\w-]+\\.[\\w-]+\\.[\\w-]+$`));
  const claims = decodeJwt(o["signed-puturl"].split("/").pop());
  assert.equal(claims.Method, "PUT");
  assert.equal(claims.Size, 11);
  assert.equal(claims.Sha, f.sha);
  assert.equal(claims.aud, o["storage-id"]);
  assert.equal(claims.DispositionName, "a/b");
  assert.equal(claims.iss, `${hub.url}/objects`);
  assert.equal(claims.sub, u.prn);
  assert.equal((claims.exp as number) - (claims.iat as number), 86400);
  // Registered but not uploaded: a re-POST is 200 again.
  const again = await call(hub, "POST", "/objects/", { token, json: pvrObject("c", f.sha, 11) });
  assert.equal(again.status, 200);
  assert.equal(again.json().objectname, "c");
  const put = await call(hub, "PUT", o["signed-puturl"], { body: f.bytes });
  assert.equal(put.status, 200);
  assert.equal(put.text, "");
  const dup = await call(hub, "POST", "/objects/", { token, json: pvrObject("a/b", f.sha, 11) });
  assert.equal(dup.status, 409);
  assert.equal(dup.headers.get("Pantahub-Object-Type"), "object");
  assert.ok(dup.json()["signed-geturl"].startsWith(`${hub.url}/local-s3/`));
  const get = await call(hub, "GET", dup.json()["signed-geturl"]);
  assert.equal(get.status, 200);
  assert.equal(get.text, "hello world");
  assert.equal(get.headers.get("Content-Disposition"), 'attachment; filename="c"');
  assert.deepEqual(await hub.blob("alice", f.sha), f.bytes);
});

Deno.test("hub: object POST validation: sha required, 64 hex, id equal to sha", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "a");
  const token = await hub.issueToken("alice");
  const sha = blobOf("x").sha;
  for (
    const json of [
      { objectname: "x" },
      { sha256sum: "abc" },
      { sha256sum: sha, id: "other" },
      { sha256sum: sha, size: 5 },
    ]
  ) {
    assert.equal((await call(hub, "POST", "/objects/", { token, json })).status, 400);
  }
  assert.equal(
    (await call(hub, "POST", "/objects/", { token, json: { sha256sum: sha, id: sha } })).status,
    200,
  );
});

Deno.test("hub: blob PUT checks the sha (400), needs Size bytes (500), ignores extra bytes", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "a");
  const token = await hub.issueToken("alice");
  const f = blobOf("0123456789");
  const o = (await call(hub, "POST", "/objects/", { token, json: pvrObject("f", f.sha, 10) }))
    .json();
  const put = o["signed-puturl"];
  assert.equal((await call(hub, "PUT", put, { body: "9876543210" })).status, 400);
  assert.equal((await call(hub, "PUT", put, { body: "01234" })).status, 500);
  assert.equal((await call(hub, "GET", o["signed-geturl"])).status, 404);
  assert.equal((await call(hub, "PUT", put, { body: "0123456789EXTRA" })).status, 200);
  assert.equal((await call(hub, "GET", o["signed-geturl"])).text, "0123456789");
  // Wrong token kinds and garbage tokens are a bare 403.
  const getWithPut = await call(hub, "GET", put);
  assert.equal(getWithPut.status, 403);
  assert.equal(getWithPut.text, "");
  assert.equal((await call(hub, "PUT", o["signed-geturl"], { body: "x" })).status, 403);
  assert.equal((await call(hub, "HEAD", o["signed-geturl"])).status, 403);
  assert.equal((await call(hub, "GET", `${hub.url}/local-s3/garbage`)).status, 403);
  // The /s3/ alias serves the same tokens.
  const alias = o["signed-geturl"].replace("/local-s3/", "/s3/");
  assert.equal((await call(hub, "GET", alias)).text, "0123456789");
});

Deno.test("hub: signed URLs expire on the hub clock", async () => {
  const clock = manualClock();
  await using hub = await startHub({ now: clock.now, signedUrlTtlSec: 60 });
  hub.addUser("alice", "a");
  const token = await hub.issueToken("alice", { ttlSec: 3600 });
  const f = blobOf("abc");
  const o = (await call(hub, "POST", "/objects/", { token, json: pvrObject("f", f.sha, 3) }))
    .json();
  clock.advance(61_000);
  assert.equal((await call(hub, "PUT", o["signed-puturl"], { body: f.bytes })).status, 403);
  const fresh = (await call(hub, "POST", "/objects/", { token, json: pvrObject("f", f.sha, 3) }))
    .json();
  assert.equal((await call(hub, "PUT", fresh["signed-puturl"], { body: f.bytes })).status, 200);
  assert.equal((await call(hub, "GET", fresh["signed-geturl"])).status, 200);
  clock.advance(60_000);
  assert.equal((await call(hub, "GET", fresh["signed-geturl"])).status, 403);
});

Deno.test("hub: blob GET honours Range with 206 like S3; 416 when unsatisfiable", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "a");
  const f = blobOf("abcdefghijklmnopqrstuvwxyz");
  await hub.addObject("alice", f.bytes, { name: "alpha" });
  const token = await hub.issueToken("alice");
  const url = (await call(hub, "GET", `/objects/${f.sha}`, { token })).json()["signed-geturl"];
  const range = (r: string) => call(hub, "GET", url, { headers: { Range: r } });
  const a = await range("bytes=2-5");
  assert.equal(a.status, 206);
  assert.equal(a.text, "cdef");
  assert.equal(a.headers.get("Content-Range"), "bytes 2-5/26");
  assert.equal(a.headers.get("Content-Length"), "4");
  const b = await range("bytes=20-");
  assert.equal(b.text, "uvwxyz");
  const c = await range("bytes=-3");
  assert.equal(c.text, "xyz");
  assert.equal(c.headers.get("Content-Range"), "bytes 23-25/26");
  const d = await range("bytes=10-999");
  assert.equal(d.text, "klmnopqrstuvwxyz");
  const e = await range("bytes=30-");
  assert.equal(e.status, 416);
  assert.equal(e.headers.get("Content-Range"), "bytes */26");
  const multi = await range("bytes=0-1,3-4");
  assert.equal(multi.status, 200);
  assert.equal(multi.text, "abcdefghijklmnopqrstuvwxyz");
  const whole = await call(hub, "GET", url);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get("Accept-Ranges"), "bytes");
  assert.equal(whole.headers.get("Content-Length"), "26");
});

Deno.test('hub: range:"ignore" answers 200 with the whole body', async () => {
  await using hub = await startHub({ range: "ignore" });
  hub.addUser("alice", "a");
  const f = blobOf("abcdefgh");
  await hub.addObject("alice", f.bytes);
  const token = await hub.issueToken("alice");
  const url = (await call(hub, "GET", `/objects/${f.sha}`, { token })).json()["signed-geturl"];
  const r = await call(hub, "GET", url, { headers: { Range: "bytes=2-3" } });
  assert.equal(r.status, 200);
  assert.equal(r.text, "abcdefgh");
});

Deno.test("hub: GET /objects/<sha>: own object 200 with type header, foreign 403, bad sha 400", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "a");
  hub.addUser("bob", "b");
  const f = blobOf("mine");
  await hub.addObject("alice", f.bytes);
  const alice = await hub.issueToken("alice");
  const bob = await hub.issueToken("bob");
  const r = await call(hub, "GET", `/objects/${f.sha}`, { token: alice });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("Pantahub-Object-Type"), "object");
  assert.notEqual(r.json()["signed-puturl"], "");
  assert.equal((await call(hub, "GET", `/objects/${f.sha}`, { token: bob })).status, 403);
  assert.equal((await call(hub, "GET", "/objects/xyz", { token: alice })).status, 400);
  const redirect = await call(hub, "GET", `/objects/${f.sha}/blob`, { token: alice });
  assert.equal(redirect.status, 302);
  assert.equal((await call(hub, "GET", redirect.headers.get("Location")!)).text, "mine");
  for (const t of ["a", "b", "c"]) await hub.addObject("bob", blobOf(t).bytes);
  assert.equal((await call(hub, "GET", "/objects/", { token: bob })).json().length, 3);
});

Deno.test("hub: a sha in another owner's public step is autolinked: 409 link, SHAONLY upload", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub, "bob", "b");
  await call(hub, "PUT", `/devices/${s.device.id}/public`, { token: s.userToken });
  hub.addUser("alice", "a");
  const alice = await hub.issueToken("alice");
  const f = s.files["bsp/kernel.img"];
  const r = await call(hub, "POST", "/objects/", {
    token: alice,
    json: pvrObject("k", f.sha, f.bytes.length),
  });
  assert.equal(r.status, 409);
  assert.equal(r.headers.get("Pantahub-Object-Type"), "link");
  assert.equal(decodeJwt(r.json()["signed-puturl"].split("/").pop()).aud, "SHAONLY");
  assert.equal((await call(hub, "GET", r.json()["signed-geturl"])).text, "kernel-bytes");
  assert.equal((await call(hub, "PUT", r.json()["signed-puturl"], { body: f.bytes })).status, 200);
  assert.equal(
    (await call(hub, "PUT", r.json()["signed-puturl"], { body: "kernel-bytez" })).status,
    400,
  );
  // The link is kept: next POST is 409 link again; with ?autolink=no a fresh sha is 200.
  const again = await call(hub, "POST", "/objects/", {
    token: alice,
    json: pvrObject("k", f.sha, 12),
  });
  assert.equal(again.headers.get("Pantahub-Object-Type"), "link");
  const other = s.files["app/root.squashfs"];
  const noLink = await call(hub, "POST", "/objects/?autolink=no", {
    token: alice,
    json: pvrObject("r", other.sha, other.bytes.length),
  });
  assert.equal(noLink.status, 200);
  // A private device's objects are never linked.
  await call(hub, "DELETE", `/devices/${s.device.id}/public`, { token: s.userToken });
  hub.addUser("carol", "c");
  const carol = await hub.issueToken("carol");
  const priv = await call(hub, "POST", "/objects/", {
    token: carol,
    json: pvrObject("k", f.sha, 12),
  });
  assert.equal(priv.status, 200);
});

Deno.test("hub: step objects: list, one by sha with objectname = key, blob redirect, POST", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub);
  const base = `/trails/${s.device.id}/steps/0/objects`;
  const list = await call(hub, "GET", base, { token: s.userToken });
  assert.equal(list.status, 200);
  assert.deepEqual(list.json().map((o: { objectname: string }) => o.objectname), [
    "app/root.squashfs",
    "bsp/kernel.img",
  ]);
  const k = s.files["bsp/kernel.img"];
  const one = await call(hub, "GET", `${base}/${k.sha}`, { token: s.userToken });
  assert.equal(one.status, 200);
  assert.equal(one.headers.get("Pantahub-Object-Type"), "object");
  assert.equal(one.json().objectname, "bsp/kernel.img");
  assert.equal(decodeJwt(one.json()["signed-geturl"].split("/").pop()).iss, `${hub.url}/trails`);
  assert.equal((await call(hub, "GET", one.json()["signed-geturl"])).text, "kernel-bytes");
  // The device reads too, but gets no PUT URL (it does not own the object).
  const dev = await call(hub, "GET", `${base}/${k.sha}`, { token: s.deviceToken });
  assert.equal(dev.json()["signed-puturl"], "");
  const notIn = await call(hub, "GET", `${base}/${"e".repeat(64)}`, { token: s.userToken });
  assert.equal(notIn.status, 403);
  const redirect = await call(hub, "GET", `${base}/${k.sha}/blob`, { token: s.userToken });
  assert.equal(redirect.status, 302);
  // POST to the step's objects endpoint (pvr adds the slash): 200 without type header…
  const n = blobOf("new file");
  const p = await call(hub, "POST", `${base}/`, {
    token: s.userToken,
    json: pvrObject("new", n.sha, n.bytes.length),
  });
  assert.equal(p.status, 200);
  assert.equal(p.headers.get("Pantahub-Object-Type"), null);
  assert.equal(p.headers.get("PhJsonFormat"), "gibson042-canonicaljson");
  assert.equal((await call(hub, "PUT", p.json()["signed-puturl"], { body: n.bytes })).status, 200);
  // …and 409 with it once uploaded.
  const p2 = await call(hub, "POST", `${base}/`, {
    token: s.userToken,
    json: pvrObject("new", n.sha, n.bytes.length),
  });
  assert.equal(p2.status, 409);
  assert.equal(p2.headers.get("Pantahub-Object-Type"), "object");
  hub.addUser("bob", "b");
  const bob = await hub.issueToken("bob");
  assert.equal(
    (await call(hub, "POST", `${base}/`, { token: bob, json: pvrObject("x", n.sha, 8) })).status,
    403,
  );
});
