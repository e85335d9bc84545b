/**
 * The account and device commands end to end (in-process CLI, one real subprocess)
 * against the stand-in hub: exact outputs, exit codes, deprecated aliases, and no token
 * in any output.
 */

import assert from "node:assert/strict";
import { runCli } from "../../commands/cli.ts";
import { BufferStream } from "../../commands/output.ts";
import type { Prompter } from "../../core/remote/pantahub/prompt.ts";
import { type Hub, startHub } from "../support/hub/server.ts";
import { call, type Seeded, seedUserDevice } from "../support/hub/testing.ts";
import { makeRepo, type PvrRun, spawnPvr, type TestRepo } from "../support/cli.ts";
import { ScriptedPrompter } from "../support/prompter.ts";

/** Every output of the file's runs, to check that no token ever shows. */
const outputs: string[] = [];

/** Runs pvr in-process in `r`'s tree with the hub as base URL (and a prompter). */
async function pvr(
  r: TestRepo,
  hub: Hub,
  args: string[],
  o: { env?: Record<string, string>; prompter?: Prompter } = {},
): Promise<PvrRun> {
  const stdout = new BufferStream();
  const stderr = new BufferStream();
  const code = await runCli(args, {
    stdout,
    stderr,
    cwd: r.dir,
    env: { PVR_CONFIG_DIR: r.configDir, PVR_BASEURL: hub.url, ...o.env },
    prompter: o.prompter,
  });
  const run = { code, stdout: stdout.text(), stderr: stderr.text() };
  outputs.push(run.stdout, run.stderr);
  return run;
}

interface World {
  hub: Hub;
  seeded: Seeded;
  r: TestRepo;
  [Symbol.asyncDispose](): Promise<void>;
}

async function world(): Promise<World> {
  const hub = await startHub({ autoVerify: true });
  const seeded = await seedUserDevice(hub);
  const r = await makeRepo();
  return {
    hub,
    seeded,
    r,
    async [Symbol.asyncDispose]() {
      await r.cleanup();
      await hub.close();
    },
  };
}

/** Logs `r` in as alice with PVR_ACCESSTOKEN (saves the token in auth.json). */
async function loggedIn(w: World): Promise<void> {
  const run = await pvr(w.r, w.hub, ["login"], { env: { PVR_ACCESSTOKEN: w.seeded.userToken } });
  assert.equal(run.code, 0, run.stderr);
}

function tokensOf(w: World): string[] {
  return [w.seeded.userToken, w.seeded.deviceToken];
}

Deno.test("pvr login with PVR_ACCESSTOKEN prints the auth status and saves auth.json (0600)", async () => {
  await using w = await world();
  const run = await pvr(w.r, w.hub, ["login"], { env: { PVR_ACCESSTOKEN: w.seeded.userToken } });
  assert.equal(run.code, 0);
  assert.equal(run.stderr, "");
  const lines = run.stdout.split("\n");
  assert.equal(lines[0], `Response of GET ${w.hub.url}/auth/auth_status`);
  assert.equal(lines[1], "{");
  assert.match(run.stdout, /\n {4}"nick": "alice",\n/);
  assert.match(run.stdout, /\n {4}"type": "USER"\n\}\nLoggedIn Successfully!\n$/);
  const keys = [...run.stdout.matchAll(/^ {4}"([^"]+)":/gm)].map((m) => m[1]);
  assert.deepEqual(keys, [...keys].sort(), "keys sorted as Go's MarshalIndent");
  const auth = JSON.parse(await Deno.readTextFile(`${w.r.configDir}/auth.json`));
  assert.equal(
    auth.tokens[`${w.hub.url}/auth realm=pantahub services`]["access-token"],
    w.seeded.userToken,
  );
  assert.equal((await Deno.stat(`${w.r.configDir}/auth.json`)).mode! & 0o777, 0o600);
  // The alias works, and later commands need no -a.
  const wai = await pvr(w.r, w.hub, ["wai"]);
  assert.equal(wai.code, 0);
  assert.equal(wai.stderr, `alice(${w.hub.user("alice")!.prn}) at ${w.hub.authUrl}\n`);
  assert.equal(wai.stdout, "");
});

Deno.test("pvr lo prompts for username and password through the prompter", async () => {
  await using w = await world();
  const prompter = new ScriptedPrompter(["alice", "secret"]);
  const run = await pvr(w.r, w.hub, ["lo"], { prompter });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /LoggedIn Successfully!\n$/);
  assert.deepEqual(prompter.asked, ["input:Username", "password:Password"]);
  const json = await pvr(w.r, w.hub, ["whoami", "--json"]);
  const accounts = JSON.parse(json.stdout);
  assert.equal(accounts.length, 1);
  assert.equal(accounts[0].nick, "alice");
  assert.equal(accounts[0].authEndpoint, w.hub.authUrl);
});

Deno.test("pvr login without a terminal and without a token exits 8 with one line", async () => {
  await using w = await world();
  const run = await pvr(w.r, w.hub, ["login"]);
  assert.equal(run.code, 8);
  assert.equal(run.stdout, "");
  assert.equal(
    run.stderr,
    "ERROR: pvr login needs a terminal to ask for your credentials " +
      "(run it in a terminal, or pass a token with -a/PVR_ACCESSTOKEN)\n",
  );
});

Deno.test("a 401 without a terminal: exit 8 at once, one clear line, few requests", async () => {
  await using w = await world();
  w.hub.clearRequests();
  const started = performance.now();
  const run = await pvr(w.r, w.hub, ["device", "ps"]);
  assert.equal(run.code, 8);
  assert.equal(run.stdout, "");
  assert.equal(
    run.stderr,
    `ERROR: GET ${w.hub.url}/trails/summary: authentication required by ${w.hub.authUrl} ` +
      "(realm pantahub services) (log in with pvr login or pass a token with -a/PVR_ACCESSTOKEN)\n",
  );
  assert.ok(w.hub.requests.length <= 2, `${w.hub.requests.length} requests`);
  assert.ok(performance.now() - started < 3000);
});

Deno.test("a rejected -a token exits 8; a 403 without header exits 8 'access denied'", async () => {
  await using w = await world();
  const bad = "eyJhbGciOiJIUzI1NiJ9.eyJwcm4iOiJ4In0.c2ln";
  const run = await pvr(w.r, w.hub, ["-a", bad, "device", "ps"]);
  assert.equal(run.code, 8);
  assert.match(run.stderr, /^ERROR: the access token given with -a\/PVR_ACCESSTOKEN was refused/);
  assert.ok(!run.stderr.includes(bad));
  w.hub.faults.add({ path: "/trails/summary", times: 1, action: { kind: "status", status: 403 } });
  const denied = await pvr(w.r, w.hub, ["device", "ps"], {
    env: { PVR_ACCESSTOKEN: w.seeded.userToken },
  });
  assert.equal(denied.code, 8);
  assert.equal(denied.stderr, `ERROR: access denied: GET ${w.hub.url}/trails/summary (HTTP 403)\n`);
  const json = await pvr(w.r, w.hub, ["-a", bad, "device", "ps", "--json"]);
  assert.equal(JSON.parse(json.stderr).error.code, "AUTH");
});

Deno.test("pvr device ps prints the Go table; --json the summaries; pvr ps adds the notice", async () => {
  await using w = await world();
  await loggedIn(w);
  const run = await pvr(w.r, w.hub, ["dev", "ps"]);
  assert.equal(run.code, 0, run.stderr);
  const [head, row, end] = run.stdout.split("\n");
  assert.equal(
    head,
    "     ID      NICK   REV   STATUS    STATE              SEEN            IP   MESSAGE  ",
  );
  assert.match(
    row,
    new RegExp(
      `^  ${
        w.seeded.device.id.slice(0, 8)
      }   dev1     0   DONE     [0-9a-f]{8}   less than a minute ago {17}$`,
    ),
  );
  assert.equal(end, "");
  const json = await pvr(w.r, w.hub, ["device", "ps", "--json"]);
  assert.equal(JSON.parse(json.stdout)[0].deviceid, w.seeded.device.id);
  const old = await pvr(w.r, w.hub, ["ps"]);
  assert.equal(old.code, 0);
  assert.equal(
    old.stdout,
    "\nDEPRECATED: the pvr ps command is deprecated and will go away in some future release. " +
      "It can now be found as a device subcommand:pvr device ps\n" + run.stdout,
  );
});

Deno.test("pvr device logs prints the Go line format; pvr logs/log add the notice", async () => {
  await using w = await world();
  await loggedIn(w);
  const posted = await call(w.hub, "POST", "/logs/", {
    token: w.seeded.deviceToken,
    json: [
      { msg: "booted", src: "/pantavisor.log", plat: "pantavisor", rev: "0", lvl: "INFO" },
      { msg: "app says hi", src: "/lxc/app/console.log", plat: "app", rev: "0", lvl: "DEBUG" },
    ],
  });
  assert.equal(posted.status, 200);
  const run = await pvr(w.r, w.hub, ["device", "logs"]);
  assert.equal(run.code, 0, run.stderr);
  const id10 = w.seeded.device.id.slice(0, 10);
  const lines = run.stdout.split("\n");
  assert.equal(lines.length, 3);
  assert.match(
    lines[0],
    new RegExp(
      `^${id10}\\(  0\\) [A-Z][a-z]{2} [ 1-3]\\d \\d\\d:\\d\\d:\\d\\d  pantavisor\\(pantavisor.log \\): booted$`,
    ),
  );
  assert.match(lines[1], /^.{10}\( {2}0\) .{15} {9}app\(console\.log {4}\): app says hi$/);

  const levels = await pvr(w.r, w.hub, ["device", "log", `dev1/@DEBUG`]);
  assert.equal(levels.stdout.split("\n").length, 2);
  assert.match(levels.stdout, /app says hi/);
  const json = await pvr(w.r, w.hub, ["device", "logs", "--json", "--level", "INFO"]);
  assert.equal(JSON.parse(json.stdout).msg, "booted");
  assert.equal(
    (await pvr(w.r, w.hub, ["device", "logs", "-s", "json"])).stdout.split("\n").length,
    3,
  );

  const notice =
    "\nDEPRECATED: the pvr logs command is deprecated and will go away in some future " +
    "release. It can now be found as a device subcommand:pvr device logs\n";
  for (const cmd of ["logs", "log"]) {
    const old = await pvr(w.r, w.hub, [cmd]);
    assert.equal(old.code, 0);
    assert.equal(old.stdout, notice + run.stdout);
  }
  const bad = await pvr(w.r, w.hub, ["device", "logs", "--from", "yesterday"]);
  assert.equal(bad.code, 2);
});

Deno.test("pvr device get, set and create print what the Go pvr prints", async () => {
  await using w = await world();
  await loggedIn(w);
  const got = await pvr(w.r, w.hub, ["device", "get", "dev1"]);
  assert.equal(got.code, 0, got.stderr);
  assert.match(got.stdout, /^\{\n {4}"device-meta": \{\},\n/);
  assert.match(got.stdout, /\n {4}"owner-nick": "alice",\n/);
  assert.equal(JSON.parse(got.stdout).id, w.seeded.device.id);
  assert.equal(
    JSON.parse((await pvr(w.r, w.hub, ["device", "get", "--json", "dev1"])).stdout).nick,
    "dev1",
  );
  const missing = await pvr(w.r, w.hub, ["device", "get"]);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr, "ERROR: Device ID or Nick is required. See --help\n");

  const set = await pvr(w.r, w.hub, ["device", "se", "dev1", "location=lab<1>", "old"]);
  assert.equal(set.code, 0, set.stderr);
  assert.equal(
    set.stdout,
    '{\n    "location": "lab\\u003c1\\u003e",\n    "old": null\n}\nuser-meta field Updated Successfully\n',
  );

  await w.r.write({ "app.json": '{"x":1}' });
  assert.equal((await pvr(w.r, w.hub, ["add"])).code, 0);
  assert.equal((await pvr(w.r, w.hub, ["commit"])).code, 0);
  const created = await pvr(w.r, w.hub, ["device", "cr", "made-by-test"]);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /\n {4}"nick": "made-by-test",\n/);
  assert.match(created.stdout, /\}\nDevice Created Successfully\n$/);
  const dev = w.hub.device("made-by-test")!;
  assert.equal(w.hub.trail(dev.id)!.owner, w.hub.user("alice")!.prn);
});

Deno.test("pvr register and pvr claim", async () => {
  await using w = await world();
  const reg = await pvr(w.r, w.hub, ["reg", "-u", "bob", "-p", "bobpw", "-e", "bob@example.org"]);
  assert.equal(reg.code, 0, reg.stderr);
  assert.equal(reg.stdout, "");
  assert.equal(
    reg.stderr,
    "\nYour registration process needs to be complete two steps\n1.- Confirm you aren't a bot\n" +
      "2.- Confirm your email address\n\nFollow this link to continue and after that come back " +
      `and continue\n${w.hub.url}/auth/auth_status\n\n`,
  );
  const again = await pvr(w.r, w.hub, [
    "register",
    "-u",
    "bob",
    "-p",
    "x",
    "-e",
    "bob@example.org",
  ]);
  assert.equal(again.code, 7);
  assert.match(again.stderr, /Email or Nick already in use/);

  await loggedIn(w);
  const d = w.hub.addDevice({});
  const wrong = await pvr(w.r, w.hub, ["claim", "-c", "nope", d.id]);
  assert.equal(wrong.code, 8);
  assert.ok(!wrong.stderr.includes("nope"), "the challenge is not shown");
  const ok = await pvr(w.r, w.hub, ["cl", "-c", d.challenge, `${w.hub.url}/devices/${d.id}`]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout + ok.stderr, "");
  assert.equal(w.hub.device(d.id)!.owner, w.hub.user("alice")!.prn);
  const noChallenge = await pvr(w.r, w.hub, ["claim", d.id]);
  assert.equal(noChallenge.code, 2);
});

Deno.test("retries: a 503 and a dropped answer do not fail a command", async () => {
  await using w = await world();
  await loggedIn(w);
  w.hub.faults.add({ path: "/trails/summary", times: 1, action: { kind: "status", status: 503 } });
  w.hub.faults.add({
    path: "/trails/summary",
    skip: 1,
    times: 1,
    action: { kind: "drop-mid-body", afterBytes: 0 },
  });
  w.hub.clearRequests();
  const run = await pvr(w.r, w.hub, ["device", "ps", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).length, 1);
  assert.equal(w.hub.requests.length, 3);
});

Deno.test("no token ever appears in the output of the runs above", async () => {
  await using w = await world();
  const debug = await pvr(w.r, w.hub, ["-d", "-a", w.seeded.userToken, "device", "get", "dev1"]);
  assert.equal(debug.code, 0);
  assert.match(debug.stderr, /^> GET /m);
  for (const t of tokensOf(w)) for (const o of outputs) assert.ok(!o.includes(t));
  for (const o of outputs) {
    assert.ok(!/eyJ[\w-]{2,}\.[\w-]+\.[\w-]+/.test(o), `a JWT in: ${o.slice(0, 200)}`);
  }
});

Deno.test("subprocess: pvr device ps without login exits 8 quickly (no prompt loop)", async () => {
  await using hub = await startHub();
  const r = await makeRepo({ init: false });
  try {
    const run = await spawnPvr(["device", "ps"], {
      cwd: r.dir,
      env: { PVR_CONFIG_DIR: r.configDir, PVR_BASEURL: hub.url },
    });
    assert.equal(run.code, 8);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /^ERROR: GET .*authentication required.*pvr login.*\n$/);
    assert.ok(hub.requests.length <= 2);
  } finally {
    await r.cleanup();
  }
});
