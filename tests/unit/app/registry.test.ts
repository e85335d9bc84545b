import assert from "node:assert/strict";
import { PvrError } from "../../../core/errors.ts";
import {
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
