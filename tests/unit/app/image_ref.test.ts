/** Image references: Docker's normalisation, and what src.json stores. */

import assert from "node:assert/strict";
import {
  dockerNameTag,
  formatImageRef,
  parseImageRef,
  registryHost,
} from "../../../core/app/image_ref.ts";
import { PvrError } from "../../../core/errors.ts";

const HEX = "a".repeat(64);

Deno.test("parseImageRef() normalises a bare name to docker.io/library/<name>:latest", () => {
  assert.deepEqual(parseImageRef("nginx"), {
    registry: "docker.io",
    repository: "library/nginx",
    tag: "latest",
    name: "nginx",
  });
  assert.equal(formatImageRef(parseImageRef("nginx")), "docker.io/library/nginx:latest");
});

Deno.test("parseImageRef() keeps a Docker Hub user path and a tag", () => {
  assert.deepEqual(parseImageRef("pantacor/app:1.2-rc.3"), {
    registry: "docker.io",
    repository: "pantacor/app",
    tag: "1.2-rc.3",
    name: "pantacor/app",
  });
});

Deno.test("parseImageRef() reads localhost:5000/img:1.0 as registry localhost:5000 (Go pvr bug fixed)", () => {
  assert.deepEqual(parseImageRef("localhost:5000/img:1.0"), {
    registry: "localhost:5000",
    repository: "img",
    tag: "1.0",
    name: "localhost:5000/img",
  });
  assert.deepEqual(parseImageRef("localhost:5000/img"), {
    registry: "localhost:5000",
    repository: "img",
    tag: "latest",
    name: "localhost:5000/img",
  });
});

Deno.test("parseImageRef() treats a first segment with '.', ':' or 'localhost' as a host", () => {
  assert.equal(parseImageRef("registry.gitlab.com/a/b/c:x").registry, "registry.gitlab.com");
  assert.equal(parseImageRef("registry.gitlab.com/a/b/c:x").repository, "a/b/c");
  assert.equal(parseImageRef("localhost/img").registry, "localhost");
  assert.equal(parseImageRef("myhost:80/img").registry, "myhost:80");
  // No dot, colon or localhost: a Docker Hub user, not a host.
  assert.deepEqual(parseImageRef("myhost/img").registry, "docker.io");
  assert.deepEqual(parseImageRef("myhost/img").repository, "myhost/img");
  // index.docker.io is Docker Hub.
  assert.equal(parseImageRef("index.docker.io/nginx").repository, "library/nginx");
  assert.equal(parseImageRef("docker.io/nginx").registry, "docker.io");
});

Deno.test("parseImageRef() reads digest references, with and without a tag", () => {
  assert.deepEqual(parseImageRef(`img@sha256:${HEX}`), {
    registry: "docker.io",
    repository: "library/img",
    digest: `sha256:${HEX}`,
    name: "img",
  });
  const both = parseImageRef(`localhost:5000/img:1.0@sha256:${HEX}`);
  assert.equal(both.tag, "1.0");
  assert.equal(both.digest, `sha256:${HEX}`);
  assert.equal(both.registry, "localhost:5000");
});

Deno.test("parseImageRef() refuses empty, upper-case, bad tags and bad digests", () => {
  for (const bad of ["", "Nginx", "nginx:", "nginx:-x", "img@sha256:zz", "a//b", ":tag", "img@"]) {
    assert.throws(
      () => parseImageRef(bad),
      (e) => e instanceof PvrError && e.code === "BAD_REFERENCE",
      bad,
    );
  }
});

Deno.test("registryHost() maps Docker Hub to registry-1.docker.io", () => {
  assert.equal(registryHost("docker.io"), "registry-1.docker.io");
  assert.equal(registryHost("index.docker.io"), "registry-1.docker.io");
  assert.equal(registryHost("localhost:5000"), "localhost:5000");
});

Deno.test("dockerNameTag() gives docker_name as typed and docker_tag (default latest)", () => {
  assert.deepEqual(dockerNameTag("nginx"), { name: "nginx", tag: "latest" });
  assert.deepEqual(dockerNameTag("nginx:1.25"), { name: "nginx", tag: "1.25" });
  // The Go pvr's updateDockerFromFrom gave name "localhost", tag "5000/img".
  assert.deepEqual(dockerNameTag("localhost:5000/img"), {
    name: "localhost:5000/img",
    tag: "latest",
  });
  assert.deepEqual(dockerNameTag("localhost:5000/img:2"), { name: "localhost:5000/img", tag: "2" });
  // The Go pvr took the digest hex as the tag.
  assert.deepEqual(dockerNameTag(`img@sha256:${HEX}`), {
    name: "img",
    tag: "",
    digest: `sha256:${HEX}`,
  });
});
