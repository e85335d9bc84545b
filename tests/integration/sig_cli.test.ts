/**
 * `pvr sig add|update|ls` end to end: real keys and certificates made with openssl,
 * real repositories, a real HTTP server for the default key download.
 */

import assert from "node:assert/strict";
import { runCli } from "../../commands/cli.ts";
import { BufferStream } from "../../commands/output.ts";
import { canonicalJson } from "../../core/model/canonical.ts";
import { parseJson } from "../../core/model/json_parse.ts";
import { isJsonObject, type JsonObject } from "../../core/model/json_value.ts";
import { sigLs } from "../../core/ops/sig_ls.ts";
import { sigUpdate } from "../../core/ops/sig_update.ts";
import { sigAdd } from "../../core/ops/sig_add.ts";
import { SigError } from "../../core/sig/errors.ts";
import { decodeBase64Url, encodeBase64Url } from "../../core/sig/keys.ts";
import { exists, type TestRepo, withRepo } from "../support/cli.ts";
import { PANTAVISOR_FIXTURES } from "../support/temp.ts";
import { ScriptedPrompter } from "../support/prompter.ts";
import { makeChain, makeKeys, openssl } from "../support/pki.ts";

let pkiDir: Promise<string> | null = null;
/** Keys and a chain, made once for this file. */
function pki(): Promise<string> {
  pkiDir ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "pvr-sig-pki-" });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already gone
      }
    });
    await makeKeys(dir);
    await makeChain(dir);
    return dir;
  })();
  return pkiDir;
}

const dec = new TextDecoder();

/** Commits the fixture state (without its own signatures) straight into `.pvr/json`. */
async function commitFixture(r: TestRepo, fixture = "initial_state.json"): Promise<JsonObject> {
  const state = parseJson(await Deno.readFile(PANTAVISOR_FIXTURES + fixture)) as JsonObject;
  for (const k of [...state.keys()]) if (k.startsWith("_sigs/")) state.delete(k);
  await Deno.writeTextFile(`${r.dir}/.pvr/json`, canonicalJson(state));
  return state;
}

/** Puts a committed value into `.pvr/json` (a tampered or newly committed state). */
async function setCommitted(r: TestRepo, key: string, value: string | JsonObject | null) {
  const state = parseJson(await Deno.readFile(`${r.dir}/.pvr/json`)) as JsonObject;
  if (value === null) state.delete(key);
  else state.set(key, value);
  await Deno.writeTextFile(`${r.dir}/.pvr/json`, canonicalJson(state));
}

async function sigFile(r: TestRepo, name: string): Promise<JsonObject> {
  return parseJson(await Deno.readFile(`${r.dir}/_sigs/${name}.json`)) as JsonObject;
}

function header(sig: JsonObject): { alg: string; pvs: { include: string[]; exclude: string[] } } {
  return JSON.parse(dec.decode(decodeBase64Url(sig.get("protected") as string)));
}

async function rejectsExit(p: Promise<unknown>, exitCode: number, re?: RegExp): Promise<void> {
  await assert.rejects(p, (err) => {
    assert.ok(err instanceof SigError, `expected a SigError, got ${err}`);
    assert.equal(err.exitCode, exitCode, err.message);
    if (re) assert.match(err.message, re);
    return true;
  });
}

Deno.test("sig: commit → sig add → add → commit → sig ls (x5c chain against the CA)", async () => {
  const k = await pki();
  await withRepo(async (r) => {
    await r.write({ "app/run.json": '{"name":"app"}', "app/root.squashfs": "rootfs", "b/x": "x" });
    assert.equal((await r.run(["add"])).code, 0);
    assert.equal((await r.run(["commit", "-m", "app"])).code, 0);
    const add = await r.run([
      "sig",
      "-k",
      `${k}/leaf.key`,
      "-x",
      `${k}/x5c.pem`,
      "add",
      "-p",
      "app",
    ]);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(((await Deno.stat(`${r.dir}/_sigs/app.json`)).mode ?? 0) & 0o777, 0o644);
    assert.equal((await r.run(["add"])).code, 0);
    assert.equal((await r.run(["commit", "-m", "sig"])).code, 0);
    const ls = await r.run(["sig", "-c", `${k}/ca.pem`, "ls"]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(
      ls.stdout,
      `{
    "protected": [
        "app/root.squashfs",
        "app/run.json"
    ],
    "excluded": [
        "_sigs/app.json"
    ],
    "notseen": [
        "#spec",
        "b/x"
    ]
}
`,
    );
    const h = header(await sigFile(r, "app"));
    assert.equal(h.alg, "ES256");
    assert.deepEqual(h.pvs, {
      include: ["app/**", "_config/app/**"],
      exclude: ["app/src.json", "_sigs/app.json"],
    });
  });
});

Deno.test("sig: RSA, P-256, P-384 and P-521 keys sign and verify (--pubkey PKIX and PKCS#1)", async () => {
  const k = await pki();
  await withRepo(async (r) => {
    await commitFixture(r);
    for (
      const [kind, alg, pub] of [
        ["rsa", "RS256", "rsa.pub1.pem"],
        ["p256", "ES256", "p256.pub.pem"],
        ["p384", "ES384", "p384.pub.pem"],
        ["p521", "ES512", "p521.pub.pem"],
      ]
    ) {
      const add = await r.run([
        "sig",
        "-k",
        `${k}/${kind}.pem`,
        "-x",
        "no",
        "add",
        "-p",
        "awconnect",
      ]);
      assert.equal(add.code, 0, `${kind}: ${add.stderr}`);
      assert.equal(header(await sigFile(r, "awconnect")).alg, alg);
      const ok = await r.run(["sig", "-p", `${k}/${pub}`, "ls", "awconnect"]);
      assert.equal(ok.code, 0, `${kind}: ${ok.stderr}`);
      assert.match(ok.stdout, /"awconnect\/run.json"/);
      // Another key does not verify it.
      const other = kind === "rsa" ? "p256.pub.pem" : "rsa.pub.pem";
      const bad = await r.run(["sig", "-p", `${k}/${other}`, "ls", "awconnect"]);
      assert.equal(bad.code, 13, kind);
      assert.match(bad.stderr, /^ERROR: could not verify payload \{/);
      await rejectsExit(
        sigLs({ ...r.opts, pubkey: `${k}/${other}`, names: ["awconnect"] }),
        13,
      );
    }
  });
});

Deno.test("sig: the written signature verifies with openssl over protected.payload", async () => {
  const k = await pki();
  await withRepo(async (r) => {
    const state = await commitFixture(r);
    const add = await r.run([
      "sig",
      "-k",
      `${k}/rsa.pem`,
      "-x",
      "no",
      "--with-payload",
      "add",
      "-p",
      "pv-avahi",
    ]);
    assert.equal(add.code, 0, add.stderr);
    const sig = await sigFile(r, "pv-avahi");
    const payload = sig.get("payload") as string;
    // The payload is exactly the selected keys of the committed state, canonical.
    const expected: JsonObject = new Map();
    for (const [key, v] of state) {
      if (
        (key.startsWith("pv-avahi/") || key.startsWith("_config/pv-avahi/")) &&
        key !== "pv-avahi/src.json"
      ) expected.set(key, v);
    }
    assert.ok(expected.size >= 4);
    assert.equal(dec.decode(decodeBase64Url(payload)), canonicalJson(expected));
    await Deno.writeTextFile(`${r.root}/input`, `${sig.get("protected")}.${payload}`);
    await Deno.writeFile(`${r.root}/sig`, decodeBase64Url(sig.get("signature") as string));
    const out = await openssl(
      ["dgst", "-sha256", "-verify", `${k}/rsa.pub.pem`, "-signature", "sig", "input"],
      r.root,
    );
    assert.match(dec.decode(out), /Verified OK/);
  });
});

Deno.test("sig: tampering with the committed state or the signature file fails ls (13)", async () => {
  const k = await pki();
  await withRepo(async (r) => {
    await commitFixture(r);
    const args = ["sig", "-k", `${k}/p384.pem`, "-x", "no", "add", "-p", "awconnect"];
    assert.equal((await r.run(args)).code, 0);
    const good = await Deno.readFile(`${r.dir}/_sigs/awconnect.json`);
    await setCommitted(r, "_sigs/awconnect.json", parseJson(good) as JsonObject);
    assert.equal((await r.run(["sig", "-p", `${k}/p384.pub.pem`, "ls"])).code, 0);

    // An object of the signed part changes in the committed state.
    await setCommitted(r, "awconnect/root.squashfs", "0".repeat(64));
    const ls = await r.run(["sig", "-p", `${k}/p384.pub.pem`, "ls"]);
    assert.equal(ls.code, 13);
    assert.match(ls.stderr, /could not verify payload/);
    assert.equal(ls.stdout, "");
    await rejectsExit(sigLs({ ...r.opts, pubkey: `${k}/p384.pub.pem` }), 13, /could not verify/);

    // Back to the signed state, then the signature file's match rule is edited.
    await commitFixture(r);
    await setCommitted(r, "_sigs/awconnect.json", parseJson(good) as JsonObject);
    assert.equal((await r.run(["sig", "-p", `${k}/p384.pub.pem`, "ls"])).code, 0);
    const sig = parseJson(good) as JsonObject;
    const h = JSON.parse(dec.decode(decodeBase64Url(sig.get("protected") as string)));
    h.pvs.exclude.push("awconnect/root.squashfs");
    sig.set("protected", encodeBase64Url(new TextEncoder().encode(JSON.stringify(h))));
    await Deno.writeTextFile(`${r.dir}/_sigs/awconnect.json`, canonicalJson(sig));
    await rejectsExit(sigLs({ ...r.opts, pubkey: `${k}/p384.pub.pem` }), 13, /could not verify/);
  });
});

Deno.test("sig: raw mode excludes its own file, so a committed raw signature still verifies", async () => {
  const k = await pki();
  await withRepo(async (r) => {
    await commitFixture(r);
    const add = await r.run([
      "sig",
      "-k",
      `${k}/p256.pem`,
      "-x",
      "no",
      "add",
      "-r",
      "everything",
      "-i",
      "**",
      "-e",
      "**/src.json",
    ]);
    assert.equal(add.code, 0, add.stderr);
    const file = await sigFile(r, "everything");
    assert.deepEqual(header(file).pvs, {
      include: ["**"],
      exclude: ["**/src.json", "_sigs/everything.json"],
    });
    // Committed next to what it signs: with the Go pvr's `_sigs/.json` exclude the
    // payload would now contain the signature itself and never verify.
    await setCommitted(r, "_sigs/everything.json", file);
    const ls = await r.run(["sig", "-p", `${k}/p256.pub.pem`, "ls"]);
    assert.equal(ls.code, 0, ls.stderr);
    const out = JSON.parse(ls.stdout);
    assert.ok(out.protected.includes("#spec"));
    assert.ok(out.protected.includes("awconnect/run.json"));
    assert.deepEqual(out.excluded, [
      "_sigs/everything.json",
      "awconnect/src.json",
      "bsp/src.json",
      "pv-avahi/src.json",
      "pvr-sdk/src.json",
    ]);
    assert.equal(out.notseen, undefined);
  });
});

Deno.test("sig ls: lists merged over signatures; --with-sigs and --with-payload (base64url)", async () => {
  const k = await pki();
  await withRepo(async (r) => {
    const state = await commitFixture(r);
    for (const part of ["awconnect", "pv-avahi"]) {
      assert.equal(
        (await r.run(["sig", "-k", `${k}/rsa.pem`, "-x", "no", "add", "-p", part])).code,
        0,
      );
      await setCommitted(r, `_sigs/${part}.json`, await sigFile(r, part));
    }
    const ls = await r.run(["sig", "-p", `${k}/rsa.pub.pem`, "--with-payload", "ls", "-s"]);
    assert.equal(ls.code, 0, ls.stderr);
    const out = JSON.parse(ls.stdout);
    const keys = [...state.keys()];
    const protectedKeys = keys.filter((x) =>
      /^(_config\/)?(awconnect|pv-avahi)\//.test(x) && !x.endsWith("/src.json")
    ).sort();
    assert.deepEqual(out.protected, protectedKeys);
    assert.deepEqual(out.excluded, [
      "_sigs/awconnect.json",
      "_sigs/pv-avahi.json",
      "awconnect/src.json",
      "pv-avahi/src.json",
    ]);
    assert.equal(
      out.notseen.length + out.protected.length + out.excluded.length,
      keys.length + 2,
    );
    assert.equal(out.sigs.length, 2);
    for (const s of out.sigs) {
      assert.deepEqual(Object.keys(s), ["payload", "protected", "signature"]);
      assert.match(s.payload, /^[A-Za-z0-9_-]+$/);
      assert.ok(isJsonObject(parseJson(decodeBase64Url(s.payload))));
    }
    // Without -s no sigs; 4-space indentation as Go's MarshalIndent.
    const plain = await r.run(["sig", "-p", `${k}/rsa.pub.pem`, "ls", "awconnect"]);
    assert.ok(!plain.stdout.includes('"sigs"'));
    assert.ok(plain.stdout.startsWith('{\n    "protected": [\n        "_config/awconnect/'));
  });
});

Deno.test("sig --output truncates the file, and '-' writes to stdout for add and update", async () => {
  const k = await pki();
  await withRepo(async (r) => {
    await commitFixture(r);
    await Deno.writeTextFile(`${r.root}/out.json`, "x".repeat(20_000));
    const add = await r.run([
      "sig",
      "-k",
      `${k}/p256.pem`,
      "-x",
      "no",
      "--output",
      `${r.root}/out.json`,
      "add",
      "-p",
      "bsp",
    ]);
    assert.equal(add.code, 0, add.stderr);
    const written = await Deno.readFile(`${r.dir}/_sigs/bsp.json`);
    assert.deepEqual(await Deno.readFile(`${r.root}/out.json`), written);

    const toStdout = await r.run([
      "sig",
      "-k",
      `${k}/p256.pem`,
      "-x",
      "no",
      "--output",
      "-",
      "add",
      "-p",
      "bsp",
    ]);
    assert.equal(toStdout.stdout, dec.decode(await Deno.readFile(`${r.dir}/_sigs/bsp.json`)));

    await setCommitted(r, "_sigs/bsp.json", await sigFile(r, "bsp"));
    const up = await r.run(["sig", "-k", `${k}/p384.pem`, "-x", "no", "--output", "-", "update"]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stdout, dec.decode(await Deno.readFile(`${r.dir}/_sigs/bsp.json`)));
    assert.equal(up.stderr, "Updating pvs signature @ _sigs/bsp.json [DONE]\n");
    assert.ok(!(await exists(`${r.dir}/-`)));
  });
});

Deno.test("sig update re-signs with the current key and keeps the match rule", async () => {
  const k = await pki();
  await withRepo(async (r) => {
    await commitFixture(r);
    assert.equal(
      (await r.run(["sig", "-k", `${k}/rsa.pem`, "-x", "no", "add", "-p", "pvr-sdk", "-n"])).code,
      0,
    );
    const before = header(await sigFile(r, "pvr-sdk"));
    await setCommitted(r, "_sigs/pvr-sdk.json", await sigFile(r, "pvr-sdk"));
    const res = await sigUpdate({
      ...r.opts,
      key: `${k}/p521.pem`,
      x5c: `${k}/x5c.pem`,
      names: ["pvr-sdk"],
    });
    assert.deepEqual(res.updated.map((u) => [u.key, u.path]), [[
      "_sigs/pvr-sdk.json",
      "_sigs/pvr-sdk.json",
    ]]);
    const after = header(await sigFile(r, "pvr-sdk"));
    assert.equal(before.alg, "RS256");
    assert.equal(after.alg, "ES512");
    assert.deepEqual(after.pvs, before.pvs);
    assert.deepEqual(after.pvs.include, ["pvr-sdk/**"]);
    assert.equal((after as unknown as { x5c: string[] }).x5c.length, 2);
    assert.equal((await r.run(["sig", "-p", `${k}/p521.pub.pem`, "ls", "pvr-sdk"])).code, 0);
    assert.equal((await r.run(["sig", "-p", `${k}/rsa.pub.pem`, "ls", "pvr-sdk"])).code, 13);
    // Patterns: nothing matches → nothing done; a pattern leaving the repo → 123.
    assert.deepEqual(
      (await sigUpdate({ ...r.opts, key: `${k}/p256.pem`, x5c: "no", names: ["none"] })).updated,
      [],
    );
    await rejectsExit(
      sigUpdate({ ...r.opts, key: `${k}/p256.pem`, x5c: "no", names: ["../x.json"] }),
      123,
    );
    // A committed signature whose working file is gone → 126, [ERROR] on stderr.
    await Deno.remove(`${r.dir}/_sigs/pvr-sdk.json`);
    const up = await r.run(["sig", "-k", `${k}/p256.pem`, "-x", "no", "update"]);
    assert.equal(up.code, 126);
    assert.match(up.stderr, /^Updating pvs signature @ _sigs\/pvr-sdk.json \[ERROR\]\nERROR: /);
    await rejectsExit(sigUpdate({ ...r.opts, key: `${k}/p256.pem`, x5c: "no" }), 126);
  });
});

Deno.test("sig ls --cacerts refuses a leaf without code signing and an unknown CA", async () => {
  const k = await pki();
  await withRepo(async (r) => {
    await commitFixture(r);
    assert.equal(
      (await r.run(["sig", "-k", `${k}/bad.key`, "-x", `${k}/x5c-bad.pem`, "add", "-p", "bsp"]))
        .code,
      0,
    );
    const bad = await r.run(["sig", "-c", `${k}/ca.pem`, "ls", "bsp"]);
    assert.equal(bad.code, 13);
    assert.match(bad.stderr, /no pubKeys available.*not for code signing/);
    await rejectsExit(sigLs({ ...r.opts, cacerts: `${k}/ca.pem`, names: ["bsp"] }), 13);

    assert.equal(
      (await r.run(["sig", "-k", `${k}/leaf.key`, "-x", `${k}/x5c.pem`, "add", "-p", "bsp"])).code,
      0,
    );
    assert.equal((await r.run(["sig", "-c", `${k}/ca.pem`, "ls", "bsp"])).code, 0);
    const other = await r.run(["sig", "-c", `${k}/other-ca.pem`, "ls", "bsp"]);
    assert.equal(other.code, 13);
    assert.match(other.stderr, /no certificate of the CA pool issued it/);
    // Without x5c, the pool's own certificates are the candidates: the leaf key is not.
    assert.equal(
      (await r.run(["sig", "-k", `${k}/leaf.key`, "-x", "no", "add", "-p", "bsp"])).code,
      0,
    );
    assert.equal((await r.run(["sig", "-c", `${k}/ca.pem`, "ls", "bsp"])).code, 13);
    const sys = await r.run(["sig", "-c", "_system_", "ls", "bsp"]);
    assert.match(sys.stderr, /Using system cert pool not supported anymore/);
  });
});

Deno.test("sig: usage and path errors are one line, and change nothing", async () => {
  const k = await pki();
  await withRepo(async (r) => {
    await commitFixture(r);
    const none = await r.run(["sig", "-k", `${k}/p256.pem`, "-x", "no", "add"]);
    assert.equal(none.code, 2);
    assert.equal(none.stderr, "ERROR: no part nor raw name provided; see --help\n");
    const both = await r.run([
      "sig",
      "-k",
      `${k}/p256.pem`,
      "-x",
      "no",
      "add",
      "-p",
      "a",
      "-r",
      "b",
    ]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /part and raw flag cannot be used at same time/);
    const badKey = await r.run(["sig", "-k", `${k}/ca.pem`, "-x", "no", "add", "-p", "bsp"]);
    assert.equal(badKey.code, 127);
    assert.match(badKey.stderr, /No valid PEM encoded sign key found/);
    await rejectsExit(sigAdd({ ...r.opts, key: `${k}/ca.pem`, x5c: "no", part: "bsp" }), 127);
    assert.ok(!(await exists(`${r.dir}/_sigs`)));

    await rejectsExit(sigLs({ ...r.opts, pubkey: `${r.root}/missing.pem` }), 11);
    await rejectsExit(sigLs({ ...r.opts, pubkey: r.root }), 12);
    await rejectsExit(sigLs({ ...r.opts, pubkey: `${k}/rsa.pub.pem`, names: ["nope"] }), 125);
    const missing = await r.run(["sig", "-p", `${k}/rsa.pub.pem`, "ls", "nope"]);
    assert.equal(
      missing.stderr,
      "ERROR: signature file does not exist with name _sigs/nope.json\n",
    );
  });
});

/** Runs the CLI with a prompter (a person at a terminal, scripted). */
async function runWithPrompter(r: TestRepo, args: string[], answers: string[], env = r.env) {
  const stdout = new BufferStream();
  const stderr = new BufferStream();
  const prompter = new ScriptedPrompter(answers);
  const code = await runCli(args, { stdout, stderr, env, cwd: r.dir, prompter });
  return { code, stdout: stdout.text(), stderr: stderr.text(), prompter };
}

Deno.test("sig: default keys — no terminal, declined, and downloaded from --certs-url", async () => {
  const k = await pki();
  await withRepo(async (r) => {
    await commitFixture(r);
    // The key tarball a developer CA would publish: pvs/{key,x5c,cacerts}.default.pem.
    await Deno.mkdir(`${r.root}/tarsrc/pvs`, { recursive: true });
    await Deno.copyFile(`${k}/leaf.key`, `${r.root}/tarsrc/pvs/key.default.pem`);
    await Deno.copyFile(`${k}/x5c.pem`, `${r.root}/tarsrc/pvs/x5c.default.pem`);
    await Deno.copyFile(`${k}/ca.pem`, `${r.root}/tarsrc/pvs/cacerts.default.pem`);
    const tar = await new Deno.Command("tar", {
      args: ["-czf", `${r.root}/keys.tgz`, "-C", `${r.root}/tarsrc`, "pvs"],
    }).output();
    assert.ok(tar.success);
    const tgz = await Deno.readFile(`${r.root}/keys.tgz`);
    let requests = 0;
    await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      requests++;
      return new URL(req.url).pathname === "/keys.tgz"
        ? new Response(tgz)
        : new Response("no", { status: 404 });
    });
    const url = `http://127.0.0.1:${server.addr.port}/keys.tgz`;

    // No terminal: a clear error at once, nothing downloaded or written.
    const noTty = await r.run(["sig", "--certs-url", url, "add", "-p", "bsp"]);
    assert.equal(noTty.code, 127);
    assert.match(noTty.stderr, /key\.default\.pem does not exist and there is no terminal/);
    assert.match(noTty.stderr, /give --key/);
    assert.equal(requests, 0);
    assert.ok(!(await exists(`${r.dir}/_sigs`)));
    assert.ok(!(await exists(`${r.configDir}/pvs`)));

    // Declined: the same kind of error right away.
    const no = await runWithPrompter(r, ["sig", "--certs-url", url, "add", "-p", "bsp"], ["no"]);
    assert.equal(no.code, 127);
    assert.match(no.stderr, /downloading the default developer keys was declined/);
    assert.equal(no.prompter.asked.length, 1);
    assert.match(no.prompter.asked[0], /download the default developer keys/);
    assert.equal(requests, 0);

    // A bad URL answer: the error names the download (and nothing is written).
    const e404 = await runWithPrompter(r, ["sig", "--certs-url", url + "x", "add", "-p", "bsp"], [
      "yes",
    ]);
    assert.equal(e404.code, 127); // key problems keep the Go pvr's code
    assert.match(e404.stderr, /error downloading the certificates tar.gz \(HTTP 404\)/);
    assert.ok(!(await exists(`${r.configDir}/pvs`)));

    // Accepted, URL from PVS_CERTS_URL: downloaded, extracted, used for add and ls.
    const env = { ...r.env, PVS_CERTS_URL: url };
    const yes = await runWithPrompter(r, ["sig", "add", "-p", "bsp"], ["yes"], env);
    assert.equal(yes.code, 0, yes.stderr);
    assert.match(yes.stderr, /Downloading certs from: \n/);
    assert.equal(yes.prompter.asked.length, 1);
    assert.deepEqual(
      await Deno.readFile(`${r.configDir}/pvs/cacerts.default.pem`),
      await Deno.readFile(`${k}/ca.pem`),
    );
    const ls = await runWithPrompter(r, ["sig", "ls", "bsp"], [], env);
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(ls.prompter.asked.length, 0);
    assert.equal(header(await sigFile(r, "bsp")).alg, "ES256");
  });
});

Deno.test("sig: every parent flag has its environment variable", async () => {
  const k = await pki();
  await withRepo(async (r) => {
    await commitFixture(r);
    const env = {
      ...r.env,
      PVR_SIG_KEY: `${k}/leaf.key`,
      PVR_X5C_PATH: `${k}/x5c.pem`,
      PVS_SIG_WITH_PAYLOAD: "true",
      PVS_SIG_OUTPUT: `${r.root}/env-out.json`,
    };
    const add = await r.run(["sig", "add", "-p", "bsp"], { env });
    assert.equal(add.code, 0, add.stderr);
    const file = await sigFile(r, "bsp");
    assert.ok(file.has("payload"));
    assert.equal(header(file).alg, "ES256");
    assert.deepEqual(
      await Deno.readFile(`${r.root}/env-out.json`),
      await Deno.readFile(`${r.dir}/_sigs/bsp.json`),
    );
    const byCa = await r.run(["sig", "ls", "bsp"], {
      env: { ...r.env, PVR_SIG_CACERTS: `${k}/ca.pem`, PVR_SIG_LS_WITH_SIGS: "1" },
    });
    assert.equal(byCa.code, 0, byCa.stderr);
    assert.match(byCa.stdout, /"sigs": \[/);
    const byKey = await r.run(["sig", "ls", "bsp"], {
      env: { ...r.env, PVR_SIG_PUBKEY: `${k}/rsa.pub.pem` },
    });
    assert.equal(byKey.code, 13);
    assert.match(byKey.stderr, /could not verify payload/);
  });
});
