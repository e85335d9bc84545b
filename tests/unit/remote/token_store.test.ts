/** auth.json (the token cache) and WWW-Authenticate parsing. */

import assert from "node:assert/strict";
import {
  anonKey,
  authEndpointOfKey,
  defaultTokenKey,
  FileTokenStore,
  formatAuthJson,
  isAnonKey,
  MemoryTokenStore,
  parseAuthJson,
  tokenKey,
} from "../../../core/remote/pantahub/token_store.ts";
import { parseWwwAuthenticate, sameSite } from "../../../core/remote/pantahub/session.ts";
import { withTempDir } from "../../support/temp.ts";

const KEY = "https://api.pantahub.com/auth realm=pantahub services";

Deno.test("auth.json is written exactly in the Go format (4-space MarshalIndent, no final newline)", () => {
  const text = formatAuthJson(new Map([[KEY, { accessToken: "A<1>", refreshToken: "R" }]]));
  assert.equal(
    text,
    `{
    "spec": "1",
    "tokens": {
        "https://api.pantahub.com/auth realm=pantahub services": {
            "Name": "",
            "access-token": "A\\u003c1\\u003e",
            "refresh-token": "R"
        }
    }
}`,
  );
  assert.equal(formatAuthJson(new Map()), `{\n    "spec": "1",\n    "tokens": {}\n}`);
});

Deno.test("auth.json is read leniently: unknown fields ignored, damage reported", () => {
  const ok = parseAuthJson(
    JSON.stringify({
      spec: "1",
      extra: true,
      tokens: {
        [KEY]: { Name: "x", "access-token": "a", "refresh-token": "r", more: 1 },
        "empty realm=x": {},
        "bad realm=x": "string",
      },
    }),
  );
  assert.equal(ok.problem, undefined);
  assert.deepEqual([...ok.tokens], [[KEY, { accessToken: "a", refreshToken: "r" }]]);
  assert.match(parseAuthJson("{nope").problem ?? "", /not valid JSON/);
  assert.match(parseAuthJson("[]").problem ?? "", /not a JSON object/);
  assert.equal(parseAuthJson('{"spec":"1"}').tokens.size, 0);
});

Deno.test("token keys: <aep> realm=<realm>; anonymous tokens get their own key", () => {
  assert.equal(tokenKey("https://api.pantahub.com/auth", "pantahub services"), KEY);
  assert.equal(defaultTokenKey("https://api.pantahub.com/some/path?q=1"), KEY);
  assert.equal(
    defaultTokenKey("http://127.0.0.1:8080"),
    "http://127.0.0.1:8080/auth realm=pantahub services",
  );
  assert.equal(anonKey(KEY), KEY + " anon");
  assert.ok(isAnonKey(anonKey(KEY)) && !isAnonKey(KEY));
  assert.equal(authEndpointOfKey(anonKey(KEY)), "https://api.pantahub.com/auth");
});

Deno.test("FileTokenStore writes auth.json with mode 0600 and keeps tokens other processes saved", async () => {
  await withTempDir(async (dir) => {
    const configDir = `${dir}/cfg`;
    const store = new FileTokenStore(configDir);
    assert.deepEqual(await store.keys(), []);
    await store.set(KEY, { accessToken: "a1", refreshToken: "a1" });
    const st = await Deno.stat(`${configDir}/auth.json`);
    assert.equal(st.mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(configDir)).mode! & 0o777, 0o700);

    // Another process adds a token meanwhile; our next save keeps it.
    const other = new FileTokenStore(configDir);
    await other.set("http://x/auth realm=r", { accessToken: "b", refreshToken: "b" });
    await store.set(anonKey(KEY), { accessToken: "anon", refreshToken: "anon" });
    const again = new FileTokenStore(configDir);
    assert.deepEqual(await again.keys(), [KEY, anonKey(KEY), "http://x/auth realm=r"].sort());
    await again.delete(KEY);
    assert.equal(await new FileTokenStore(configDir).get(KEY), undefined);
    const names = [...Deno.readDirSync(configDir)].map((e) => e.name);
    assert.deepEqual(names, ["auth.json"], "no temp file is left behind");
  });
});

Deno.test("FileTokenStore treats a damaged auth.json as empty and says why", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/auth.json`, "garbage");
    const store = new FileTokenStore(dir);
    assert.deepEqual(await store.keys(), []);
    assert.match(store.problem ?? "", /auth\.json is not valid JSON/);
    await store.set(KEY, { accessToken: "t", refreshToken: "t" });
    assert.equal((await new FileTokenStore(dir).get(KEY))?.accessToken, "t");
  });
});

Deno.test("MemoryTokenStore returns copies", async () => {
  const m = new MemoryTokenStore({ [KEY]: { accessToken: "a", refreshToken: "r" } });
  const e = await m.get(KEY);
  e!.accessToken = "changed";
  assert.equal((await m.get(KEY))?.accessToken, "a");
});

Deno.test("WWW-Authenticate: Pantahub's 401 header and the scope 403 header parse", () => {
  const h = parseWwwAuthenticate(
    'JWT realm="pantahub services", ph-aeps="https://api.pantahub.com/auth"',
  );
  assert.equal(h?.scheme, "JWT");
  assert.equal(h?.realm, "pantahub services");
  assert.deepEqual(h?.authEndpoints, ["https://api.pantahub.com/auth"]);
  assert.equal(h?.error, undefined);

  const s = parseWwwAuthenticate(
    'Bearer Realm="pantahub services", \tph-aeps="http://h/auth,http://b/auth", \t' +
      'scope="prn:x", \terror="insufficient_scope", \terror_description="needs more, really"',
  );
  assert.deepEqual(s?.authEndpoints, ["http://h/auth", "http://b/auth"]);
  assert.equal(s?.realm, "pantahub services");
  assert.equal(s?.error, "insufficient_scope");
  assert.equal(s?.params.error_description, "needs more, really");

  assert.equal(parseWwwAuthenticate("Basic realm=x"), undefined);
  assert.equal(parseWwwAuthenticate(null), undefined);
  assert.deepEqual(parseWwwAuthenticate("JWT")?.authEndpoints, []);
});

Deno.test("sameSite: tokens go to the auth endpoint's own site only", () => {
  assert.ok(sameSite("https://api.pantahub.com", "https://api.pantahub.com/auth"));
  assert.ok(sameSite("https://pvr.pantahub.com", "https://api.pantahub.com/auth"));
  assert.ok(sameSite("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth"));
  assert.ok(!sameSite("http://127.0.0.1:9999", "http://127.0.0.1:8080/auth"));
  assert.ok(!sameSite("https://evil.example", "https://api.pantahub.com/auth"));
  assert.ok(!sameSite("http://pvr.pantahub.com", "https://api.pantahub.com/auth"), "no downgrade");
  assert.ok(!sameSite("http://localhost:1", "http://localhost:2/auth"));
});
