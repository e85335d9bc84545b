/**
 * The benchmark workload W1: many small files, some realistic JSON files, a few large
 * random files. Deterministic names, random content (so nothing compresses or dedups).
 *
 * @module
 */

import { randomFillSync } from "node:crypto";

/** Size parameters of the workload. */
export interface WorkloadSpec {
  /** Number of small files (default 10,000). */
  smallFiles: number;
  /** Size of a small file in bytes (default 4 KiB). */
  smallSize: number;
  /** Directories the small files are spread over (default 100). */
  smallDirs: number;
  /** Number of JSON files (default 200). */
  jsonFiles: number;
  /** Number of large files (default 4). */
  bigFiles: number;
  /** Size of a large file in MiB (default 256). */
  bigMiB: number;
}

/** W1 as the issue defines it. */
export const W1: WorkloadSpec = {
  smallFiles: 10_000,
  smallSize: 4096,
  smallDirs: 100,
  jsonFiles: 200,
  bigFiles: 4,
  bigMiB: 256,
};

/** Relative paths of the large files of a workload. */
export function bigFilePaths(spec: WorkloadSpec): string[] {
  return Array.from({ length: spec.bigFiles }, (_, i) => `bsp/blob${i}.img`);
}

/** Total bytes of the workload's files. */
export function workloadBytes(spec: WorkloadSpec): number {
  return spec.smallFiles * spec.smallSize + spec.bigFiles * spec.bigMiB * 2 ** 20 +
    spec.jsonFiles * 700;
}

/** A small, realistic Pantavisor-style JSON document (run.json / src.json like). */
function jsonDoc(i: number): string {
  const app = `app${String(i >> 1).padStart(3, "0")}`;
  if (i % 2 === 0) {
    return JSON.stringify(
      {
        "#spec": "service-manifest-run@1",
        config: `_config/${app}/`,
        name: app,
        "root-volume": "root.squashfs",
        storage: {
          "docker--etc-volume": { persistence: "permanent" },
          "lxc-overlay": { persistence: "boot" },
        },
        type: "lxc",
        volumes: [],
        restart_policy: i % 4 === 0 ? "system" : "container",
        group: "app",
        runlevel: 3 + (i % 3),
        exports: [`${app}/logs`],
      },
      null,
      2,
    );
  }
  return JSON.stringify({
    "#spec": "service-manifest-src@1",
    args: { PV_LXC_EXTRA_CONF: "lxc.mount.entry = /dev dev none bind,create=dir 0 0" },
    config: {},
    docker_digest: `registry.gitlab.com/pantacor/${app}@sha256:${
      (i * 2654435761 >>> 0).toString(16).padStart(8, "0").repeat(8)
    }`,
    docker_name: `registry.gitlab.com/pantacor/${app}`,
    docker_source: "remote,local",
    docker_tag: `v1.${i}.0`,
    persistence: {},
    template: "builtin-lxc-docker",
  });
}

/**
 * Writes the workload's files into `dir` (created; must be empty or missing):
 * `d000/f0000.bin` … small files, `apps/appNNN/{run,src}.json`, `bsp/blobN.img`.
 */
export async function buildWorkload(dir: string, spec: WorkloadSpec): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const perDir = Math.ceil(spec.smallFiles / spec.smallDirs);
  const buf = new Uint8Array(spec.smallSize);
  for (let i = 0; i < spec.smallFiles; i++) {
    const d = `${dir}/d${String(Math.floor(i / perDir)).padStart(3, "0")}`;
    if (i % perDir === 0) Deno.mkdirSync(d, { recursive: true });
    randomFillSync(buf);
    Deno.writeFileSync(`${d}/f${String(i).padStart(5, "0")}.bin`, buf);
  }
  for (let i = 0; i < spec.jsonFiles; i++) {
    const d = `${dir}/apps/app${String(i >> 1).padStart(3, "0")}`;
    Deno.mkdirSync(d, { recursive: true });
    Deno.writeTextFileSync(`${d}/${i % 2 === 0 ? "run" : "src"}.json`, jsonDoc(i) + "\n");
  }
  await Deno.mkdir(`${dir}/bsp`, { recursive: true });
  const chunk = new Uint8Array(1 << 20);
  for (const rel of bigFilePaths(spec)) {
    using f = await Deno.open(`${dir}/${rel}`, { write: true, createNew: true });
    for (let m = 0; m < spec.bigMiB; m++) {
      randomFillSync(chunk);
      let off = 0;
      while (off < chunk.length) off += await f.write(chunk.subarray(off));
    }
  }
}
