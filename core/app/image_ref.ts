/**
 * Docker image references (spec pvr-reference §9.2, §9.4), parsed the way Docker
 * normalises them: `nginx` is `docker.io/library/nginx:latest`, a first segment with a
 * `.` or a `:` (or exactly `localhost`) is a registry host, `name@sha256:<hex>` pins a
 * digest.
 *
 * Pure: no I/O. Written by hand because the rules are short and no npm package in our
 * import map implements Docker's reference grammar.
 *
 * Deliberate difference from the Go pvr: its `updateDockerFromFrom` takes the text
 * after the last `:` as the tag, so `localhost:5000/img` gave the name `localhost`
 * and the tag `5000/img`, and `img@sha256:x` gave the tag `x` (§13.3 item 20).
 * {@link dockerNameTag} only takes a tag after the last `/`, and never from a digest.
 *
 * @module
 */

import { PvrError } from "../errors.ts";

/** The registry Docker uses when a reference names none. */
export const DOCKER_HUB = "docker.io";

/** A parsed image reference. */
export interface ImageRef {
  /** The registry as named (`docker.io` when none was given, `localhost:5000`, …). */
  registry: string;
  /** The repository path inside the registry (`library/nginx`, `img`, `org/app`). */
  repository: string;
  /** The tag: as given, `latest` when neither a tag nor a digest was given, else absent. */
  tag?: string;
  /** The digest (`sha256:<hex>`) when the reference pins one. */
  digest?: string;
  /** The reference as typed, without its tag and digest (`nginx`, `localhost:5000/img`). */
  name: string;
}

// Docker's reference grammar (distribution/reference), lower-case path components.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$/;

function bad(ref: string, why: string): PvrError {
  return new PvrError("BAD_REFERENCE", `invalid image reference "${ref}": ${why}`, {
    hint: "use [registry/]name[:tag][@sha256:<hex>], e.g. nginx:1.25",
  });
}

/** True when the first path segment of a reference names a registry host. */
function isHost(segment: string): boolean {
  return segment.includes(".") || segment.includes(":") || segment === "localhost";
}

/**
 * Splits `from` into its name, tag and digest without normalising: the digest is what
 * follows the first `@`; the tag is what follows the last `:` **after the last `/`**.
 */
function splitReference(from: string): { name: string; tag?: string; digest?: string } {
  let rest = from;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { name: rest, tag, digest };
}

/**
 * Parses an image reference with Docker's normalisation.
 *
 * @throws {PvrError} `BAD_REFERENCE` for an empty reference, upper-case or otherwise
 *   invalid path components, an invalid tag or digest
 * @example
 * ```ts
 * parseImageRef("nginx");
 * // { registry: "docker.io", repository: "library/nginx", tag: "latest", name: "nginx" }
 * parseImageRef("localhost:5000/img:1.0");
 * // { registry: "localhost:5000", repository: "img", tag: "1.0", name: "localhost:5000/img" }
 * ```
 */
export function parseImageRef(ref: string): ImageRef {
  if (ref === "") throw bad(ref, "it is empty");
  const { name, tag, digest } = splitReference(ref);
  if (name === "") throw bad(ref, "no name");
  if (tag !== undefined && !TAG.test(tag)) throw bad(ref, `invalid tag "${tag}"`);
  if (digest !== undefined && !DIGEST.test(digest)) throw bad(ref, `invalid digest "${digest}"`);
  const slash = name.indexOf("/");
  let registry = DOCKER_HUB;
  let path = name;
  if (slash >= 0 && isHost(name.slice(0, slash))) {
    registry = name.slice(0, slash);
    path = name.slice(slash + 1);
    if (!HOST.test(registry)) throw bad(ref, `invalid registry "${registry}"`);
  }
  if (registry === "index.docker.io") registry = DOCKER_HUB;
  for (const c of path.split("/")) {
    if (!COMPONENT.test(c)) {
      throw bad(
        ref,
        c === "" ? "empty path component" : `invalid name component "${c}" (lower case only)`,
      );
    }
  }
  if (registry === DOCKER_HUB && !path.includes("/")) path = `library/${path}`;
  const out: ImageRef = { registry, repository: path, name };
  if (tag !== undefined) out.tag = tag;
  else if (digest === undefined) out.tag = "latest";
  if (digest !== undefined) out.digest = digest;
  return out;
}

/**
 * The host to talk to for a registry: `registry-1.docker.io` for Docker Hub, the
 * registry itself otherwise.
 */
export function registryHost(registry: string): string {
  return registry === DOCKER_HUB || registry === "index.docker.io"
    ? "registry-1.docker.io"
    : registry;
}

/** The fully qualified form `registry/repository[:tag][@digest]`. */
export function formatImageRef(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ""}${
    ref.digest !== undefined ? `@${ref.digest}` : ""
  }`;
}

/** What `src.json` stores for a `--from` image: {@link dockerNameTag}. */
export interface DockerNameTag {
  /** `docker_name`: the reference as typed without tag and digest (`nginx`, `localhost:5000/img`). */
  name: string;
  /** `docker_tag`: the tag; `latest` when none was given and no digest pins the image, else `""`. */
  tag: string;
  /** The pinned digest (`sha256:<hex>`) when the reference has one. */
  digest?: string;
}

/**
 * The `docker_name` and `docker_tag` that `src.json` stores for `--from`.
 *
 * Differs from the Go pvr's `updateDockerFromFrom` (which cut at the last `:`
 * anywhere): a registry port is never a tag, and a digest is never a tag.
 *
 * @throws {PvrError} `BAD_REFERENCE` as {@link parseImageRef}
 * @example
 * ```ts
 * dockerNameTag("localhost:5000/img"); // { name: "localhost:5000/img", tag: "latest" }
 * dockerNameTag("nginx:1.25");         // { name: "nginx", tag: "1.25" }
 * ```
 */
export function dockerNameTag(from: string): DockerNameTag {
  const ref = parseImageRef(from);
  const out: DockerNameTag = { name: ref.name, tag: ref.tag ?? "" };
  if (ref.digest !== undefined) out.digest = ref.digest;
  return out;
}
