/**
 * dm-verity data for Pantavisor volumes (spec pvr-reference §11): running
 * `veritysetup format` (Debian package `cryptsetup-bin`) on plain files, the manifest
 * `<container>/_dm/<volume>.json`, and the `dm:` prefix in `run.json`.
 *
 * `veritysetup format <data> <hash>` needs no root and no device mapper when both are
 * regular files: it reads the data file and writes the hash tree with its header. With
 * the same salt and UUID the hash file is byte-identical every time.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { canonicalJson } from "../model/canonical.ts";
import { parseJson } from "../model/json_parse.ts";
import { isJsonArray, isJsonObject, type JsonObject, type JsonValue } from "../model/json_value.ts";

/** The Debian package that has `veritysetup`. */
export const VERITYSETUP_PACKAGE = "cryptsetup-bin";

/** The fields `veritysetup format` reports and a manifest keeps. */
export interface VerityFormat {
  rootHash: string;
  salt: string;
  uuid: string;
}

const SALT_RE = /^(-|[0-9a-fA-F]{0,512})$/;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * The path of `veritysetup`: `explicit` when given, else the first one on `PATH`, then
 * in `/usr/sbin` and `/sbin` (where Debian installs it; often not on a user's `PATH`).
 *
 * @throws {PvrError} `MISSING_TOOL` naming the package when there is none
 */
export function findVeritysetup(explicit?: string, path = Deno.env.get("PATH") ?? ""): string {
  const candidates = explicit !== undefined
    ? [explicit]
    : [...path.split(":").filter((d) => d !== ""), "/usr/sbin", "/sbin"].map((d) =>
      `${d}/veritysetup`
    );
  for (const c of candidates) {
    try {
      const st = Deno.statSync(c);
      if (st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0) return c;
    } catch {
      // not here
    }
  }
  throw new PvrError(
    "MISSING_TOOL",
    `veritysetup not found${explicit !== undefined ? ` at ${explicit}` : ""}`,
    { hint: `install the Debian package ${VERITYSETUP_PACKAGE}` },
  );
}

/**
 * Parses the `Root hash:`, `UUID:` and `Salt:` lines of `veritysetup format`.
 *
 * @throws {PvrError} `FAILED` naming the missing field
 */
export function parseVerityOutput(out: string): VerityFormat {
  const field = (name: string, re: RegExp) => {
    const m = new RegExp(`^${name}:\\s*(\\S+)\\s*$`, "m").exec(out);
    if (m === null || !re.test(m[1])) {
      throw new PvrError(
        "FAILED",
        `no ${name.toLowerCase()} found in the output of veritysetup: ${
          JSON.stringify(out.slice(0, 200))
        }`,
      );
    }
    return m[1];
  };
  return {
    rootHash: field("Root hash", /^[0-9a-f]{64}$/),
    uuid: field("UUID", UUID_RE),
    salt: field("Salt", SALT_RE),
  };
}

/** Options of {@link veritysetupFormat}. */
export interface VeritysetupFormatOptions {
  /** The `veritysetup` program (see {@link findVeritysetup}). */
  program: string;
  /** The data file. */
  data: string;
  /** The hash file to write (created or overwritten). */
  hash: string;
  /** Reuse this salt (hex); default a random one. */
  salt?: string;
  /** Reuse this UUID; default a random one. */
  uuid?: string;
}

/**
 * Runs `veritysetup format [--salt S] [--uuid U] <data> <hash>` and returns what it
 * reports. Its exit status is checked (the Go pvr ignored it).
 *
 * Permissions: run, read of `data`, write of `hash`.
 *
 * @throws {PvrError} `FAILED` with veritysetup's message when it fails; `MISSING_TOOL`
 *   when it cannot be started
 */
export async function veritysetupFormat(opts: VeritysetupFormatOptions): Promise<VerityFormat> {
  const args = ["format"];
  if (opts.salt !== undefined) {
    if (!SALT_RE.test(opts.salt)) throw new PvrError("BAD_STATE", `bad salt ${opts.salt}`);
    args.push("--salt", opts.salt);
  }
  if (opts.uuid !== undefined) {
    if (!UUID_RE.test(opts.uuid)) throw new PvrError("BAD_STATE", `bad uuid ${opts.uuid}`);
    args.push("--uuid", opts.uuid);
  }
  args.push("--", opts.data, opts.hash);
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(opts.program, {
      args,
      env: { LC_ALL: "C" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    throw new PvrError("MISSING_TOOL", `cannot run ${opts.program}: ${(err as Error).message}`, {
      cause: err,
      hint: `install the Debian package ${VERITYSETUP_PACKAGE}`,
    });
  }
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const msg = new TextDecoder().decode(out.stderr).trim() || stdout.trim();
    throw new PvrError(
      "FAILED",
      `veritysetup format ${opts.data} failed (exit ${out.code})${msg ? `: ${msg}` : ""}`,
    );
  }
  return parseVerityOutput(stdout);
}

/** A volume or device file name inside a container: one plain path segment. */
export function checkPlainName(name: string, what: string): string {
  if (
    name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0") ||
    name.startsWith("-")
  ) {
    throw new PvrError(
      "UNSAFE_PATH",
      `${what} must be a plain file name: ${JSON.stringify(name)}`,
      {
        path: name,
      },
    );
  }
  return name;
}

/** A dm-verity manifest (`<container>/_dm/<volume>.json`), unknown keys kept. */
export interface VerityManifest {
  /** The whole object, as read (unknown keys kept). */
  doc: JsonObject;
  dataDevice: string;
  hashDevice: string;
  rootHash?: string;
  salt?: string;
  uuid?: string;
}

/**
 * Parses a manifest.
 *
 * @throws {PvrError} `BAD_JSON` when it does not parse; `BAD_STATE` when it is not an
 *   object or its devices are not plain file names
 */
export function parseManifest(text: string | Uint8Array, source: string): VerityManifest {
  const v = parseJson(text, source);
  if (!isJsonObject(v)) throw new PvrError("BAD_STATE", `${source} is not a JSON object`);
  const str = (k: string): string | undefined => {
    const x = v.get(k);
    if (x === undefined || x === null) return undefined;
    if (typeof x !== "string") throw new PvrError("BAD_STATE", `${source}: ${k} is not a string`);
    return x;
  };
  const dataDevice = str("data_device");
  const hashDevice = str("hash_device");
  if (dataDevice === undefined || hashDevice === undefined) {
    throw new PvrError("BAD_STATE", `${source}: data_device and hash_device are required`);
  }
  return {
    doc: v,
    dataDevice: checkPlainName(dataDevice, `${source}: data_device`),
    hashDevice: checkPlainName(hashDevice, `${source}: hash_device`),
    rootHash: str("root_hash"),
    salt: str("salt"),
    uuid: str("uuid"),
  };
}

/** The manifest with the devices and `f` set, as canonical JSON (spec §11.1 step 4). */
export function formatManifest(
  doc: JsonObject,
  devices: { dataDevice: string; hashDevice: string },
  f: VerityFormat,
): string {
  const out: JsonObject = new Map(doc);
  out.set("type", "dm-verity");
  out.set("data_device", devices.dataDevice);
  out.set("hash_device", devices.hashDevice);
  out.set("root_hash", f.rootHash);
  out.set("salt", f.salt);
  out.set("uuid", f.uuid);
  return canonicalJson(out);
}

/** What {@link dmifyRunJson} did. */
export interface DmifyResult {
  /** The new document (the same object when nothing changed). */
  doc: JsonObject;
  /** The field that names the volume (`modules`, `firmware`, `root-volume`, `volumes`). */
  field?: string;
  /** True when the volume already had its `dm:` prefix. */
  already: boolean;
}

/**
 * Prefixes `volume` with `dm:` in a `run.json`: the first of `modules`, `firmware`,
 * `root-volume` (strings) or an item of `volumes` that names it (spec §11.1 step 6). A
 * name already prefixed counts as done. `field` is undefined when nothing names it.
 */
export function dmifyRunJson(doc: JsonObject, volume: string): DmifyResult {
  const dm = `dm:${volume}`;
  for (const k of ["modules", "firmware", "root-volume"]) {
    const v = doc.get(k);
    if (v === dm) return { doc, field: k, already: true };
    if (v === volume) {
      const out = new Map(doc);
      out.set(k, dm);
      return { doc: out, field: k, already: false };
    }
  }
  const vols = doc.get("volumes");
  if (isJsonArray(vols)) {
    if (vols.includes(dm)) return { doc, field: "volumes", already: true };
    const i = vols.indexOf(volume);
    if (i >= 0) {
      const next: JsonValue[] = [...vols];
      next[i] = dm;
      const out = new Map(doc);
      out.set("volumes", next);
      return { doc: out, field: "volumes", already: false };
    }
  }
  return { doc, already: false };
}
