/**
 * The Pantahub session against the stand-in hub: login flows, auth.json, anonymous
 * reads, refresh, bounded failures, retries, and no token in any message.
 */

import assert from "node:assert/strict";
import { isPvrError, PvrError } from "../../core/errors.ts";
import { HttpClient } from "../../core/remote/http.ts";
import { PantahubSession } from "../../core/remote/pantahub/session.ts";
import {
  anonKey,
  defaultTokenKey,
  FileTokenStore,
} from "../../core/remote/pantahub/token_store.ts";
import type { PantahubRequest } from "../../core/remote/pantahub/types.ts";
import { login } from "../../core/ops/login.ts";
import { type Hub, manualClock, startHub } from "../support/hub/server.ts";
import { call, login as hubLogin, seedUserDevice } from "../support/hub/testing.ts";
import { ScriptedPrompter } from "../support/prompter.ts";
import { withTempDir } from "../support/temp.ts";

/** An HTTP client that never really sleeps. */
function fastHttp(fetchFn?: typeof fetch): HttpClient {
  return new HttpClient({ sleep: () => Promise.resolve(), fetch: fetchFn });
}

function session(
  configDir: string,
  opts: Partial<ConstructorParameters<typeof PantahubSession>[0]> = {},
): PantahubSession {
  return new PantahubSession({ configDir, http: fastHttp(), ...opts });
}

function get(hub: Hub, path: string, anonymous = false): PantahubRequest {
  return { method: "GET", url: hub.url + path, anonymous };
}

function lines(hub: Hub): string[] {
  return hub.requests.map((r) => `${r.method} ${r.path} ${r.status}`);
}

async function body(res: Response): Promise<unknown> {
  return await res.json();
}

Deno.test("an interactive login saves the token in auth.json (Go format, 0600) for the next session", async () => {
  await using hub = await startHub();
  await seedUserDevice(hub);
  hub.clearRequests();
  await withTempDir(async (dir) => {
    const prompter = new ScriptedPrompter(["alice", "secret"]);
    const s = session(dir, { prompter });
    const res = await s.call(get(hub, "/trails/summary"));
    assert.equal(res.status, 200);
    assert.equal((await body(res) as unknown[]).length, 1);
    assert.deepEqual(lines(hub), [
      "GET /trails/summary 401",
      "POST /auth/login 200",
      "GET /trails/summary 200",
    ]);
    assert.deepEqual(prompter.asked, ["input:Username", "password:Password"]);
    assert.deepEqual(prompter.notices, [
      `*** Login (/type [R] to register) @ ${hub.authUrl} (realm=pantahub services) ***`,
    ]);

    const text = await Deno.readTextFile(`${dir}/auth.json`);
    const doc = JSON.parse(text);
    const key = `${hub.authUrl} realm=pantahub services`;
    assert.deepEqual(Object.keys(doc), ["spec", "tokens"]);
    assert.deepEqual(Object.keys(doc.tokens), [key]);
    assert.equal(doc.tokens[key].Name, "");
    assert.equal(doc.tokens[key]["access-token"], doc.tokens[key]["refresh-token"]);
    assert.ok(text.startsWith('{\n    "spec": "1",\n    "tokens": {\n        "'));
    assert.ok(!text.endsWith("\n"));
    assert.equal((await Deno.stat(`${dir}/auth.json`)).mode! & 0o777, 0o600);

    // A new session (a new process) sends the cached token at once: one request.
    hub.clearRequests();
    const again = await session(dir).call(get(hub, "/trails/summary"));
    assert.equal(again.status, 200);
    await again.body?.cancel();
    assert.deepEqual(lines(hub), ["GET /trails/summary 200"]);
  });
});

Deno.test("a wrong password is asked again, at most 3 times, then AUTH", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "secret");
  hub.clearRequests();
  await withTempDir(async (dir) => {
    const prompter = new ScriptedPrompter(["alice", "no", "alice", "nope", "alice", "never"]);
    const err = await session(dir, { prompter }).call(get(hub, "/trails/summary")).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(isPvrError(err, "AUTH"), String(err));
    assert.match(err.message, /login failed/);
    assert.equal(hub.requests.filter((r) => r.path === "/auth/login").length, 3);
    assert.equal(prompter.notices.filter((n) => n.startsWith("login failed")).length, 3);
    assert.ok(hub.requests.length <= 4);
  });
});

Deno.test("the login op prompts even with a cached token (evicted in memory) and saves the new one", async () => {
  await using hub = await startHub();
  const { userToken } = await seedUserDevice(hub);
  hub.addUser("bob", "bobpw");
  await withTempDir(async (dir) => {
    const key = defaultTokenKey(hub.url);
    await new FileTokenStore(dir).set(key, { accessToken: userToken, refreshToken: userToken });
    const prompter = new ScriptedPrompter(["bob", "bobpw"]);
    const r = await login({ configDir: dir, baseUrl: hub.url, prompter });
    assert.equal((r.reply as { nick: string }).nick, "bob");
    assert.equal(r.url, `${hub.url}/auth/auth_status`);
    const saved = await new FileTokenStore(dir).get(key);
    assert.notEqual(saved?.accessToken, userToken);
    const whoIsSaved = await call(hub, "GET", "/auth/auth_status", { token: saved!.accessToken });
    assert.equal(whoIsSaved.json().nick, "bob");
  });
});

Deno.test("login without a terminal and without -a is an AUTH error before any request", async () => {
  await using hub = await startHub();
  await withTempDir(async (dir) => {
    await assert.rejects(
      login({ configDir: dir, baseUrl: hub.url }),
      (e: unknown) => isPvrError(e, "AUTH") && /needs a terminal/.test(e.message),
    );
    assert.equal(hub.requests.length, 0);
  });
});

Deno.test("an anonymous read uses an anonymous token stored under its own key", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "secret");
  const pub = hub.addDevice({ owner: "alice", nick: "shown", public: true });
  hub.clearRequests();
  await withTempDir(async (dir) => {
    const res = await session(dir).call(get(hub, `/devices/${pub.id}`, true));
    assert.equal(res.status, 200);
    assert.equal((await body(res) as { nick: string }).nick, "shown");
    assert.deepEqual(lines(hub), [
      `GET /devices/${pub.id} 401`,
      "POST /auth/login 200",
      `GET /devices/${pub.id} 200`,
    ]);
    const key = defaultTokenKey(hub.url);
    const store = new FileTokenStore(dir);
    assert.deepEqual(await store.keys(), [anonKey(key)]);

    // The anonymous token never serves a call that does not allow it…
    await assert.rejects(
      session(dir).call(get(hub, "/trails/summary")),
      (e: unknown) => isPvrError(e, "AUTH"),
    );
    // …and never shadows a user token saved later (spec §13.5 item 45).
    const user = await hubLogin(hub, "alice", "secret");
    await store.set(key, { accessToken: user, refreshToken: user });
    hub.clearRequests();
    const mine = await session(dir).call(get(hub, "/trails/summary"));
    assert.equal(mine.status, 200);
    await mine.body?.cancel();
    assert.deepEqual(lines(hub), ["GET /trails/summary 200"]);
    assert.deepEqual(await new FileTokenStore(dir).keys(), [key, anonKey(key)]);
  });
});

Deno.test("a token about to expire is refreshed before use (GET <aep>/login)", async () => {
  const clock = manualClock();
  await using hub = await startHub({ now: clock.now });
  hub.addUser("alice", "secret");
  await withTempDir(async (dir) => {
    const token = await hubLogin(hub, "alice", "secret");
    const key = defaultTokenKey(hub.url);
    await new FileTokenStore(dir).set(key, { accessToken: token, refreshToken: token });
    clock.advance((3600 - 120) * 1000); // two minutes left
    hub.clearRequests();
    const res = await session(dir, { now: clock.now }).call(get(hub, "/trails/summary"));
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.deepEqual(lines(hub), ["GET /auth/login 200", "GET /trails/summary 200"]);
    const fresh = (await new FileTokenStore(dir).get(key))!;
    assert.notEqual(fresh.accessToken, token);
    assert.equal(fresh.refreshToken, fresh.accessToken);
    clock.advance(30 * 60 * 1000); // the old one is dead now, the new one is not
    const later = await session(dir, { now: clock.now }).call(get(hub, "/trails/summary"));
    assert.equal(later.status, 200);
    await later.body?.cancel();
  });
});

Deno.test("an expired token without a terminal fails fast with AUTH, and with one it prompts", async () => {
  const clock = manualClock();
  await using hub = await startHub({ now: clock.now });
  hub.addUser("alice", "secret");
  await withTempDir(async (dir) => {
    const token = await hubLogin(hub, "alice", "secret");
    await new FileTokenStore(dir).set(defaultTokenKey(hub.url), {
      accessToken: token,
      refreshToken: token,
    });
    clock.advance(2 * 3600 * 1000);
    hub.clearRequests();
    const started = performance.now();
    const err = await session(dir, { now: clock.now }).call(get(hub, "/trails/summary"))
      .then(() => undefined, (e) => e);
    assert.ok(isPvrError(err, "AUTH"), String(err));
    assert.match(err.message, /authentication required/);
    assert.equal(err.hint, "log in with pvr login or pass a token with -a/PVR_ACCESSTOKEN");
    assert.ok(hub.requests.length <= 3, lines(hub).join("\n"));
    assert.ok(performance.now() - started < 2000);
    assert.ok(!err.message.includes(token));

    const prompter = new ScriptedPrompter(["alice", "secret"]);
    const res = await session(dir, { now: clock.now, prompter }).call(
      get(hub, "/trails/summary"),
    );
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });
});

Deno.test("a rejected -a token is AUTH at once, never replaced, nothing saved", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "secret");
  hub.clearRequests();
  await withTempDir(async (dir) => {
    const prompter = new ScriptedPrompter(["alice", "secret"]);
    const bad = "eyJhbGciOiJIUzI1NiJ9.eyJwcm4iOiJ4In0.c2lnbmF0dXJl";
    const err = await session(dir, { accessToken: bad, prompter }).call(
      get(hub, "/trails/summary", true),
    ).then(() => undefined, (e) => e);
    assert.ok(isPvrError(err, "AUTH"));
    assert.match(err.message, /-a\/PVR_ACCESSTOKEN was refused/);
    assert.ok(!err.message.includes(bad));
    assert.deepEqual(lines(hub), ["GET /trails/summary 401"]);
    assert.deepEqual(prompter.asked, []);
    await assert.rejects(Deno.stat(`${dir}/auth.json`), Deno.errors.NotFound);
  });
});

Deno.test("a 403 without WWW-Authenticate is AUTH 'access denied' (no panic, no loop)", async () => {
  await using hub = await startHub();
  const { userToken } = await seedUserDevice(hub);
  hub.addUser("mallory", "m");
  const foreign = hub.addDevice({ owner: "mallory", nick: "hidden" });
  hub.clearRequests();
  await withTempDir(async (dir) => {
    const s = session(dir, { accessToken: userToken });
    const err = await s.call(get(hub, `/devices/${foreign.id}`, true)).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(isPvrError(err, "AUTH"));
    assert.match(err.message, /^access denied: GET .* \(HTTP 403\)$/);
    assert.equal(hub.requests.length, 1);

    // forbidden: "return" hands the 403 to the caller instead.
    const res = await s.call({ ...get(hub, `/devices/${foreign.id}`, true), forbidden: "return" });
    assert.equal(res.status, 403);
    await res.body?.cancel();
  });
});

Deno.test("a 403 after an anonymous token leads to a login prompt when there is a terminal", async () => {
  await using hub = await startHub();
  const { device } = await seedUserDevice(hub);
  hub.clearRequests();
  await withTempDir(async (dir) => {
    const prompter = new ScriptedPrompter(["alice", "secret"]);
    const res = await session(dir, { prompter }).call(get(hub, `/devices/${device.id}`, true));
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.deepEqual(lines(hub), [
      `GET /devices/${device.id} 401`,
      "POST /auth/login 200",
      `GET /devices/${device.id} 403`,
      "POST /auth/login 200",
      `GET /devices/${device.id} 200`,
    ]);
    assert.ok(prompter.notices.includes("** ACCESS DENIED: user cannot access repository. **"));
  });
});

Deno.test("a 401 without WWW-Authenticate is AUTH, not a loop", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "secret");
  const stripped: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const headers = new Headers(res.headers);
    headers.delete("WWW-Authenticate");
    return new Response(res.body, { status: res.status, headers });
  };
  await withTempDir(async (dir) => {
    const s = new PantahubSession({
      configDir: dir,
      http: fastHttp(stripped),
      prompter: new ScriptedPrompter(["alice", "secret"]),
    });
    await assert.rejects(
      s.call(get(hub, "/trails/summary")),
      (e: unknown) => isPvrError(e, "AUTH") && /names no auth endpoint/.test(e.message),
    );
    assert.equal(hub.requests.length, 1);
  });
});

Deno.test("503s and a dropped connection are retried, then the call succeeds", async () => {
  await using hub = await startHub();
  const { userToken } = await seedUserDevice(hub);
  hub.faults.add({
    path: "/trails/summary",
    times: 2,
    action: { kind: "status", status: 503, retryAfter: 1 },
  });
  hub.faults.add({
    path: "/trails/summary",
    skip: 2,
    times: 1,
    action: { kind: "drop-mid-body", afterBytes: 0 },
  });
  hub.clearRequests();
  await withTempDir(async (dir) => {
    const sleeps: number[] = [];
    const http = new HttpClient({
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    });
    const s = new PantahubSession({ configDir: dir, accessToken: userToken, http });
    const res = await s.call(get(hub, "/trails/summary"));
    assert.equal(res.status, 200);
    assert.equal((await body(res) as unknown[]).length, 1);
    assert.deepEqual(hub.requests.map((r) => r.faults.join(",")), [
      "status",
      "status",
      "drop-mid-body",
      "",
    ]);
    assert.equal(sleeps.length, 3);
    assert.ok(sleeps[0] >= 1000 && sleeps[1] >= 1000, "Retry-After: 1 is honoured");
  });
});

Deno.test("no error message ever carries a token or a password", async () => {
  await using hub = await startHub();
  const { userToken } = await seedUserDevice(hub);
  const messages: string[] = [];
  const collect = async (p: Promise<unknown>) => {
    try {
      const r = await p;
      if (r instanceof Response) await r.body?.cancel();
    } catch (e) {
      assert.ok(e instanceof PvrError, String(e));
      messages.push(e.message, e.hint ?? "");
    }
  };
  await withTempDir(async (dir) => {
    hub.expireToken(userToken);
    await collect(session(dir, { accessToken: userToken }).call(get(hub, "/trails/summary")));
    await collect(
      session(dir, { prompter: new ScriptedPrompter(["alice", "hunter2!", "", "", "x", "y"]) })
        .call(get(hub, "/trails/summary")),
    );
    hub.faults.add({ path: "/trails/summary", action: { kind: "status", status: 403 } });
    await collect(session(dir, { accessToken: userToken }).call(get(hub, "/trails/summary")));
  });
  assert.equal(messages.length, 6);
  for (const m of messages) {
    assert.ok(!m.includes(userToken), m);
    assert.ok(!m.includes("hunter2!"), m);
    assert.ok(!/eyJ[\w-]+\.[\w-]+\./.test(m), m);
  }
});

Deno.test("a server naming another site's auth endpoint never gets the cached token", async () => {
  await using hub = await startHub();
  const { userToken } = await seedUserDevice(hub);
  const seen: (string | null)[] = [];
  await using rogue = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    seen.push(req.headers.get("Authorization"));
    return new Response('{"Error":"Not Authorized"}', {
      status: 401,
      headers: { "WWW-Authenticate": hub.wwwAuthenticate },
    });
  });
  await withTempDir(async (dir) => {
    await new FileTokenStore(dir).set(defaultTokenKey(hub.url), {
      accessToken: userToken,
      refreshToken: userToken,
    });
    const prompter = new ScriptedPrompter(["alice", "secret"]);
    const url = `http://127.0.0.1:${rogue.addr.port}/trails/x/.pvrremote`;
    await assert.rejects(
      session(dir, { prompter }).call({ method: "GET", url, anonymous: true }),
      (e: unknown) => isPvrError(e, "AUTH") && /another site/.test(e.message),
    );
    assert.deepEqual(seen, [null]);
    assert.deepEqual(prompter.asked, []);
  });
});
