/**
 * Images on disk as `--from` sources: a `docker save` tarball (plain and gzip) and an
 * OCI layout packed in a tar. The squashfs step runs only when mksquashfs is installed
 * (Debian package squashfs-tools).
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { PvrError } from "../../core/errors.ts";
import { sha256Bytes } from "../../core/store/hash.ts";
import { buildRootfsFromImage, resolveImage } from "../../core/app/image.ts";
import { findExecutable } from "../../core/app/squashfs.ts";
import { tarOf } from "../support/layer_tar.ts";
import { withTempDir } from "../support/temp.ts";

const enc = new TextEncoder();
const HAVE_MKSQUASHFS = (await findExecutable("mksquashfs")) !== null;

/** 1.5 MiB of data, so that the archive reader streams it into the cache. */
const BIG = "0123456789abcdef".repeat(96 * 1024);

function dockerSave(): Uint8Array {
  const l0 = tarOf([{ name: "etc/" }, { name: "etc/os", data: "demo" }, {
    name: "big",
    data: BIG,
  }]);
  const l1 = tarOf([{ name: ".wh.big" }, { name: "etc/more", data: "more", uid: 7, gid: 8 }]);
  const cfg = enc.encode(JSON.stringify({
    architecture: "arm",
    variant: "v7",
    os: "linux",
    config: { Cmd: ["/bin/sh"] },
  }));
  return tarOf([
    {
      name: "manifest.json",
      data: JSON.stringify([{
        Config: "cfg.json",
        RepoTags: ["demo:1"],
        Layers: ["aaa/layer.tar", "bbb/layer.tar"],
      }]),
    },
    { name: "cfg.json", data: cfg },
    { name: "aaa/" },
    { name: "aaa/layer.tar", data: l0 },
    { name: "bbb/layer.tar", data: l1 },
  ]);
}

Deno.test("a docker save tarball (plain or gzip) is an image source", async () => {
  await withTempDir(async (dir) => {
    const tarball = dockerSave();
    await Deno.writeFile(`${dir}/img.tar`, tarball);
    await Deno.writeFile(`${dir}/img.tar.gz`, gzipSync(tarball));
    const configDir = `${dir}/pvr`;
    const a = await resolveImage({ from: `docker-archive:${dir}/img.tar:demo:1`, configDir });
    const b = await resolveImage({ from: `${dir}/img.tar.gz`, configDir });
    assert.equal(a.kind, "docker-archive");
    assert.equal(a.digest, b.digest);
    assert.deepEqual(a.config, { Cmd: ["/bin/sh"] });
    assert.equal(a.layers.length, 2);
    const paths = await a.fetchLayers();
    for (let i = 0; i < paths.length; i++) {
      const bytes = await Deno.readFile(paths[i]);
      assert.equal(`sha256:${sha256Bytes(bytes)}`, a.layers[i].digest);
    }
    await assert.rejects(
      resolveImage({ from: `docker-archive:${dir}/img.tar:other:2`, configDir }),
      (e: unknown) => e instanceof PvrError && e.code === "BAD_REFERENCE",
    );
    await assert.rejects(
      resolveImage({ from: `${dir}/img.tar`, platforms: ["linux/arm64"], configDir }),
      (e: unknown) => e instanceof PvrError && e.code === "BAD_REFERENCE",
    );
    if (!HAVE_MKSQUASHFS) return;
    const r1 = await buildRootfsFromImage(a, `${dir}/a.squashfs`);
    const r2 = await buildRootfsFromImage(b, `${dir}/b.squashfs`);
    assert.equal(r1.digest, r2.digest);
  });
});

Deno.test("an OCI layout in a tar (oci-archive:) is an image source", async () => {
  await withTempDir(async (dir) => {
    const layer = gzipSync(tarOf([{ name: "hello", data: "world" }]));
    const ld = `sha256:${sha256Bytes(layer)}`;
    const cfg = enc.encode(JSON.stringify({ architecture: "amd64", os: "linux", config: {} }));
    const cd = `sha256:${sha256Bytes(cfg)}`;
    const manifest = enc.encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: cd,
        size: cfg.length,
      },
      layers: [{
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: ld,
        size: layer.length,
      }],
    }));
    const md = `sha256:${sha256Bytes(manifest)}`;
    const index = JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: md,
        size: manifest.length,
        annotations: { "org.opencontainers.image.ref.name": "v1" },
      }],
    });
    const blob = (d: string) => `blobs/sha256/${d.slice(7)}`;
    await Deno.writeFile(
      `${dir}/img.oci.tar`,
      tarOf([
        { name: "oci-layout", data: '{"imageLayoutVersion":"1.0.0"}' },
        { name: "index.json", data: index },
        { name: blob(md), data: manifest },
        { name: blob(cd), data: cfg },
        { name: blob(ld), data: layer },
      ]),
    );
    const img = await resolveImage({ from: `oci-archive:${dir}/img.oci.tar:v1`, configDir: dir });
    assert.equal(img.kind, "oci-archive");
    assert.equal(img.digest, md);
    const [p] = await img.fetchLayers();
    assert.deepEqual(await Deno.readFile(p), new Uint8Array(layer));
  });
});
