import assert from "node:assert/strict";
import { PvrError } from "../../../core/errors.ts";
import {
  credentialHelperGet,
  dockerConfigCredentials,
  parseChallenge,
  parsePlatform,
  registryBaseUrl,
  selectPlatform,
} from "../../../core/app/registry.ts";

Deno.test("registryBaseUrl() uses http for localhost only (or when insecure)", () => {
  assert.equal(registryBaseUrl("docker.io"), "https://registry-1.docker.io");
  assert.equal(registryBaseUrl("127.0.0.1:5000"), "http://127.0.0.1:5000");
  assert.equal(registryBaseUrl("localhost:5000"), "http://localhost:5000");
  assert.equal(registryBaseUrl("reg.lan:5000"), "https://reg.lan:5000");
  assert.equal(registryBaseUrl("reg.lan:5000", ["reg.lan:5000"]), "http://reg.lan:5000");
  assert.equal(registryBaseUrl("reg.lan", true), "http://reg.lan");
});

Deno.test("parseChallenge() reads Bearer realm, service and scope", () => {
  assert.deepEqual(
    parseChallenge(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
    ),
    {
      scheme: "bearer",
      params: {
        realm: "https://auth.docker.io/token",
        service: "registry.docker.io",
        scope: "repository:library/nginx:pull",
      },
    },
  );
  assert.deepEqual(parseChallenge('Basic realm="x"'), { scheme: "basic", params: { realm: "x" } });
});

Deno.test("parsePlatform() wants os/arch[/variant]", () => {
  assert.deepEqual(parsePlatform("linux/arm/v7"), {
    os: "linux",
    architecture: "arm",
    variant: "v7",
  });
  assert.throws(() => parsePlatform("arm64"), (e: unknown) => isUsage(e));
  assert.throws(() => parsePlatform("linux//v7"), (e: unknown) => isUsage(e));
});

function isUsage(e: unknown): boolean {
  return e instanceof PvrError && e.code === "USAGE";
}

Deno.test("dockerConfigCredentials() reads auths from the Docker CLI config", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({
        auths: {
          "https://index.docker.io/v1/": { auth: btoa("hub:pw:with:colons") },
          "reg.example:5000": { username: "u", password: "p" },
        },
      }),
    );
    const env = { DOCKER_CONFIG: dir };
    assert.deepEqual(await dockerConfigCredentials("docker.io", env), {
      username: "hub",
      password: "pw:with:colons",
    });
    assert.deepEqual(await dockerConfigCredentials("reg.example:5000", env), {
      username: "u",
      password: "p",
    });
    assert.equal(await dockerConfigCredentials("other.example", env), undefined);
    assert.equal(await dockerConfigCredentials("docker.io", { HOME: `${dir}/none` }), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Docker credential helpers: the protocol, precedence and failures", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const helper = async (name: string, body: string) => {
      const path = `${dir}/docker-credential-${name}`;
      await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
      await Deno.chmod(path, 0o755);
    };
    // Echoes the server it was asked about as the user name.
    await helper(
      "echo",
      'read -r s; [ "$1" = get ] || exit 3; printf \'{"ServerURL":"%s","Username":"u-%s","Secret":"pw"}\' "$s" "$s"',
    );
    await helper("none", "echo 'credentials not found in native keychain'; exit 1");
    await helper("broken", "echo 'keychain locked' >&2; exit 1");
    await helper("nojson", "echo hello");
    await helper("nosecret", 'echo \'{"Username":"u"}\'');
    const PATH = dir;
    assert.deepEqual(await credentialHelperGet("echo", "reg:5000", PATH), {
      username: "u-reg:5000",
      password: "pw",
    });
    assert.equal(await credentialHelperGet("none", "reg:5000", PATH), undefined);
    const code = (c: string) => (e: unknown) => e instanceof PvrError && e.code === c;
    await assert.rejects(credentialHelperGet("broken", "x", PATH), code("AUTH"));
    await assert.rejects(credentialHelperGet("nojson", "x", PATH), code("AUTH"));
    await assert.rejects(credentialHelperGet("nosecret", "x", PATH), code("AUTH"));
    await assert.rejects(credentialHelperGet("../x", "x", PATH), code("AUTH"));
    await assert.rejects(
      credentialHelperGet("absent", "x", PATH),
      (e: unknown) =>
        e instanceof PvrError && e.code === "MISSING_TOOL" &&
        e.message.includes("docker-credential-absent"),
    );

    const cfg = (c: unknown) => Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(c));
    const env = { DOCKER_CONFIG: dir, PATH };
    const auths = {
      "reg:5000": { auth: btoa("file:pw") },
      "https://index.docker.io/v1/": { auth: btoa("hub:pw") },
    };
    // credHelpers for that registry, before credsStore and auths.
    await cfg({ auths, credsStore: "none", credHelpers: { "reg:5000": "echo" } });
    assert.equal((await dockerConfigCredentials("reg:5000", env))?.username, "u-reg:5000");
    // credsStore without an entry: auths.
    await cfg({ auths, credsStore: "none" });
    assert.equal((await dockerConfigCredentials("reg:5000", env))?.username, "file");
    // credsStore with an entry wins over auths; Docker Hub is asked as index.docker.io/v1/.
    await cfg({ auths, credsStore: "echo" });
    assert.equal(
      (await dockerConfigCredentials("docker.io", env))?.username,
      "u-https://index.docker.io/v1/",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "selectPlatform() honours the user's order and compares os, arch and variant",
  fn() {
    const entries = [
      { digest: "a", size: 1, platform: { os: "windows", architecture: "arm64" } },
      { digest: "b", size: 1, platform: { os: "linux", architecture: "arm", variant: "v6" } },
      { digest: "c", size: 1, platform: { os: "linux", architecture: "arm", variant: "v7" } },
      { digest: "d", size: 1, platform: { os: "linux", architecture: "arm64" } },
    ];
    const w = (os: string, architecture: string, variant?: string) => ({
      os,
      architecture,
      variant,
    });
    assert.equal(
      selectPlatform(entries, [w("linux", "arm", "v7"), w("linux", "arm", "v6")])?.digest,
      "c",
    );
    assert.equal(selectPlatform(entries, [w("linux", "arm64", "v8")])?.digest, "d");
    assert.equal(selectPlatform(entries, [w("linux", "arm")])?.digest, "b");
    assert.equal(selectPlatform(entries, [w("linux", "amd64")]), undefined);
  },
});
