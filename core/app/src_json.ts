/**
 * `src.json`, the `service-manifest-src@1` document that describes where an app comes
 * from (spec pvr-reference §9.2): its type, parser and the byte-exact writer.
 *
 * The writer is Go's `json.MarshalIndent(v, " ", " ")` of the Go pvr's struct: fields
 * in struct order, empty ones left out (`omitempty`, except `#spec` and `template`),
 * map keys sorted, strings HTML-escaped, first line `{`, nested lines prefixed by one
 * space plus one space per level, closing ` }`, no trailing newline.
 *
 * Difference from the Go pvr: fields pvr does not know are kept (written after the
 * known ones, sorted) instead of being dropped on rewrite.
 *
 * @module
 */

import { z } from "zod";
import { PvrError } from "../errors.ts";
import { parseJson } from "../model/json_parse.ts";
import { goIndent, goMarshal, goString } from "../model/go_json.ts";
import { compareCodePoints } from "../model/canonical.ts";
import {
  isJsonArray,
  isJsonObject,
  type JsonObject,
  type JsonValue,
  toPlain,
} from "../model/json_value.ts";

/** The `#spec` of `src.json`. */
export const SRC_SPEC = "service-manifest-src@1";
/** The only template handler. */
export const BUILTIN_TEMPLATE = "builtin-lxc-docker";

/** A parsed `src.json`. Property names are the JSON field names. */
export interface SrcJson {
  /** Name of the app whose `root.squashfs` is the lower layer (overlay apps). */
  base?: string;
  /** Normally absent from the file; set in memory for templating. */
  name?: string;
  /** Always {@link SRC_SPEC}. */
  "#spec": string;
  /** {@link BUILTIN_TEMPLATE}. */
  template: string;
  /** Template arguments (`PV_GROUP`, `PV_RUNLEVEL`, free `--arg K=V`…). */
  args?: JsonObject;
  /** Volumes converted to dm-verity (name → bool). */
  dm_enabled?: JsonObject;
  /** Copied to `run.json` `logs`. */
  logs?: JsonValue[];
  /** Copied to `run.json` `exports`. */
  exports?: JsonValue[];
  /** Overrides merged over the Docker config at template time (non-null values win). */
  config?: JsonObject;
  /** Image name without tag. */
  docker_name?: string;
  /** Tag (default `latest`). */
  docker_tag?: string;
  /** The pinned image (`<name>@sha256:<hex>`, or a local RepoDigest / image id). */
  docker_digest?: string;
  /** The pinned image of the overlay layer. */
  docker_ovl_digest?: string;
  /** Source priority list, e.g. `remote,local`. */
  docker_source?: string;
  /** The image config (`Cmd`, `Entrypoint`, `Env`, `WorkingDir`, `Volumes`, …). */
  docker_config?: JsonObject;
  /** Platform chosen from a manifest list, e.g. `linux/arm/v7`. */
  docker_platform?: string;
  /** mksquashfs options (space-separated), default `-comp xz`. */
  format_options?: string;
  /** Source pvr URL (type `pvr`). */
  pvr?: string;
  /** Unused by pvr. */
  pvr_digest?: boolean;
  /** Source path or URL (type `rootfs`). */
  rootfs_url?: string;
  /** `sha256:<hex>` of the produced squashfs (type `rootfs`). */
  rootfs_digest?: string;
  /** Volume path → `permanent|revision|boot[@disk]`. */
  persistence?: JsonObject;
  /** Fields pvr does not know, kept as they are. */
  extra?: JsonObject;
}

type FieldKind = "string" | "bool" | "object" | "array";

/** The Go struct's fields, in its order. */
const FIELDS: ReadonlyArray<readonly [keyof SrcJson & string, FieldKind]> = [
  ["base", "string"],
  ["name", "string"],
  ["#spec", "string"],
  ["template", "string"],
  ["args", "object"],
  ["dm_enabled", "object"],
  ["logs", "array"],
  ["exports", "array"],
  ["config", "object"],
  ["docker_name", "string"],
  ["docker_tag", "string"],
  ["docker_digest", "string"],
  ["docker_ovl_digest", "string"],
  ["docker_source", "string"],
  ["docker_config", "object"],
  ["docker_platform", "string"],
  ["format_options", "string"],
  ["pvr", "string"],
  ["pvr_digest", "bool"],
  ["rootfs_url", "string"],
  ["rootfs_digest", "string"],
  ["persistence", "object"],
];

const KNOWN = new Set<string>(FIELDS.map(([k]) => k));

/** Fields written even when empty (no `omitempty` in the Go struct). */
const ALWAYS = new Set(["#spec", "template"]);

const str = z.string().nullish();
const obj = z.record(z.string(), z.unknown()).nullish();
const arr = z.array(z.unknown()).nullish();

/** The shape check of `src.json` (`null` reads as absent, as Go's decoder does). */
export const SrcJsonSchema = z.object({
  base: str,
  name: str,
  "#spec": str,
  template: str,
  args: obj,
  dm_enabled: z.record(z.string(), z.boolean().nullable()).nullish(),
  logs: arr,
  exports: z.array(z.string()).nullish(),
  config: obj,
  docker_name: str,
  docker_tag: str,
  docker_digest: str,
  docker_ovl_digest: str,
  docker_source: str,
  docker_config: obj,
  docker_platform: str,
  format_options: str,
  pvr: str,
  pvr_digest: z.boolean().nullish(),
  rootfs_url: str,
  rootfs_digest: str,
  persistence: z.record(z.string(), z.string().nullable()).nullish(),
});

/**
 * Parses `src.json` text or bytes (numbers keep their exact text).
 *
 * @param source what the text is (a path), for messages
 * @throws {PvrError} `BAD_JSON` when it is not JSON, not an object, or a field has
 *   the wrong type
 * @example
 * ```ts
 * const src = parseSrcJson('{"#spec":"service-manifest-src@1","docker_name":"nginx"}');
 * src.docker_name; // "nginx"
 * ```
 */
export function parseSrcJson(text: string | Uint8Array, source = "src.json"): SrcJson {
  const v = parseJson(text, source);
  if (!isJsonObject(v)) throw new PvrError("BAD_JSON", `${source}: not a JSON object`);
  const check = SrcJsonSchema.safeParse(toPlain(v));
  if (!check.success) {
    const issue = check.error.issues[0];
    throw new PvrError(
      "BAD_JSON",
      `${source}: field "${issue.path.join(".")}": ${issue.message}`,
      { path: source },
    );
  }
  const out: SrcJson = { "#spec": "", template: "" };
  const rec = out as unknown as Record<string, unknown>;
  for (const [key] of FIELDS) {
    const x = v.get(key);
    if (x === undefined || x === null) continue;
    rec[key] = x;
  }
  for (const [k, x] of v) {
    if (KNOWN.has(k)) continue;
    (out.extra ??= new Map()).set(k, x);
  }
  return out;
}

function isEmpty(kind: FieldKind, v: unknown): boolean {
  switch (kind) {
    case "string":
      return v === undefined || v === "";
    case "bool":
      return v !== true;
    case "object":
      return !isJsonObject(v as JsonValue) || (v as JsonObject).size === 0;
    case "array":
      return !isJsonArray(v as JsonValue) || (v as JsonValue[]).length === 0;
  }
}

/**
 * `src.json` as the Go pvr writes it: `json.MarshalIndent(v, " ", " ")`, no trailing
 * newline.
 *
 * @example
 * ```ts
 * formatSrcJson({ "#spec": SRC_SPEC, template: BUILTIN_TEMPLATE, docker_name: "nginx" });
 * // '{\n  "#spec": "service-manifest-src@1",\n  "template": "builtin-lxc-docker",\n  "docker_name": "nginx"\n }'
 * ```
 */
export function formatSrcJson(src: SrcJson): string {
  const rec = src as unknown as Record<string, unknown>;
  const members: string[] = [];
  for (const [key, kind] of FIELDS) {
    const v = rec[key];
    if (!ALWAYS.has(key) && isEmpty(kind, v)) continue;
    const value = kind === "string"
      ? goString((v as string | undefined) ?? "")
      : kind === "bool"
      ? String(v === true)
      : goMarshal(v as JsonValue, { numbers: "float" });
    members.push(`${goString(key)}:${value}`);
  }
  if (src.extra) {
    const keys = [...src.extra.keys()].filter((k) => !KNOWN.has(k)).sort(compareCodePoints);
    for (const k of keys) {
      members.push(
        `${goString(k)}:${goMarshal(src.extra.get(k) as JsonValue, { numbers: "float" })}`,
      );
    }
  }
  return goIndent(`{${members.join(",")}}`, " ", " ");
}

/** The source type of an app (§9.1): `pvr`, `rootfs` or `docker`. */
export type AppSourceType = "docker" | "rootfs" | "pvr";

/** The type of an app when none is given: `pvr` if it has `pvr`, `rootfs` if it has `rootfs_url`, else `docker`. */
export function sourceTypeOf(src: SrcJson): AppSourceType {
  if (src.pvr) return "pvr";
  if (src.rootfs_url) return "rootfs";
  return "docker";
}
