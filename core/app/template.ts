/**
 * The `builtin-lxc-docker` template (spec pvr-reference §9.6, Appendix A): renders an
 * app's `lxc.container.conf` (exact bytes: it is an object) and its `run.json` (a
 * value: it is inline JSON) from `src.json` and the image's Docker config.
 *
 * Pure: no I/O. Written as code rather than through a Go-template engine because the
 * output must be byte-exact and three of the Go template's bugs are fixed here
 * (§13.3 items 14–16):
 *
 * * `run.json` is a {@link JsonObject}, always valid JSON (the Go template joined two or
 *   more `volumes` with a literal backslash-n);
 * * `lxc.init.cmd` separates the Docker `Cmd` items that follow an `Entrypoint` list
 *   with spaces (`/docker-entrypoint.sh "nginx" "-g" "daemon off;"`, the Go template
 *   wrote `"nginx""-g""daemon off;"`);
 * * phys networking writes `lxc.net.0.link = <x>` (the Go template: `=<x>`).
 *
 * Also different: a volume named with and without a trailing `/` (`/data/` in the
 * image, `/data` in `persistence`) is one volume, `persistence` winning; empty items
 * of comma-separated lists are skipped. Everything else matches the Go output.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { compareCodePoints } from "../model/canonical.ts";
import { goNumberText } from "../model/go_json.ts";
import {
  isJsonArray,
  isJsonObject,
  JsonNumber,
  type JsonObject,
  type JsonValue,
} from "../model/json_value.ts";
import type { SrcJson } from "./src_json.ts";

/** The `#spec` of `run.json`. */
export const RUN_SPEC = "service-manifest-run@1";

/** What the template reads. */
export interface TemplateInput {
  /** The app name (its directory). */
  name: string;
  /** The app's `src.json`. */
  src: SrcJson;
  /**
   * The working `groups.json` value (an array of `{ "name": … }`), when the
   * repository has one.
   */
  groups?: JsonValue;
}

/** Both rendered files and the notes the Go pvr printed on stderr. */
export interface RenderResult {
  /** `lxc.container.conf`, or `null` for data/MOUNTED apps (no file). */
  lxcConfig: string | null;
  /** `run.json` as a value (write it with `goMarshalIndent`). */
  runJson: JsonObject;
  /** Notes and warnings (`Setting new platform to group "app"`, `WARN: …`). */
  warnings: string[];
}

/** The effective group and the notes that choosing it produces. */
export interface EffectiveGroup {
  /** The group, when there is one. */
  group?: string;
  /** The stderr notes of §9.6. */
  warnings: string[];
}

// ---------------------------------------------------------------------------
// Go-template value helpers

/** Go template truthiness: empty string, 0, false, nil and empty collections are false. */
export function truthy(v: JsonValue | undefined): boolean {
  if (v === undefined || v === null || v === false || v === "") return false;
  if (v instanceof JsonNumber) return v.toNumber() !== 0;
  if (isJsonArray(v)) return v.length > 0;
  if (isJsonObject(v)) return v.size > 0;
  return true;
}

/** A value as Go's `{{ . }}` prints it (strings raw, numbers as `%v` of a float64). */
export function goText(v: JsonValue | undefined): string {
  if (v === undefined || v === null) return "<no value>";
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v instanceof JsonNumber) {
    const t = goNumberText(v);
    // %v switches to exponent form below 1e-4 (Go) where JSON stops at 1e-6.
    const f = v.toNumber();
    if (f !== 0 && Math.abs(f) < 1e-4 && !t.includes("e")) {
      const [m, e] = f.toExponential().split("e");
      const exp = Number(e);
      return `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
    }
    return t.replace(/e([+-])(\d)$/, "e$10$2");
  }
  if (isJsonArray(v)) return `[${v.map(goText).join(" ")}]`;
  const keys = [...v.keys()].sort(compareCodePoints);
  return `map[${keys.map((k) => `${k}:${goText(v.get(k))}`).join(" ")}]`;
}

/** `<arg|default>`: sprig's `default`. */
function orDefault(v: JsonValue | undefined, d: string): string {
  return truthy(v) ? goText(v) : d;
}

/** A list-typed argument: a JSON array (the Go template cannot range over a string). */
function listArg(args: JsonObject, key: string): JsonValue[] {
  const v = args.get(key);
  if (!truthy(v)) return [];
  if (isJsonArray(v)) return v;
  throw new PvrError(
    "BAD_STATE",
    `template argument ${key} must be a JSON array in src.json, not ${goText(v)}`,
    { hint: `edit src.json: "args": {"${key}": ["…"]}` },
  );
}

/** A `a:b,c:d` argument split into items (a JSON array of strings is accepted too). */
function commaItems(args: JsonObject, key: string): string[] {
  const v = args.get(key);
  if (!truthy(v)) return [];
  const items = isJsonArray(v) ? v.map(goText) : goText(v).split(",");
  return items.filter((s) => s !== "");
}

/** `a:b` as the Go template reads it: the first and the last `:`-separated parts. */
function pair(item: string): [string, string] {
  const parts = item.split(":");
  return [parts[0], parts[parts.length - 1]];
}

function trimPrefix(s: string, p: string): string {
  return s.startsWith(p) ? s.slice(p.length) : s;
}

// ---------------------------------------------------------------------------
// Derived inputs

/** The template arguments (`src.json` `args`), empty when there are none. */
function argsOf(src: SrcJson): JsonObject {
  return src.args ?? new Map();
}

/**
 * The Docker config the template sees: `docker_config` with the non-null values of
 * `src.json` `config` laid over it.
 */
export function mergedDockerConfig(src: SrcJson): JsonObject {
  const out: JsonObject = new Map(src.docker_config ?? []);
  for (const [k, v] of src.config ?? []) if (v !== null) out.set(k, v);
  return out;
}

/** True for data containers: `PV_RUNLEVEL` `data` or `PV_STATUS_GOAL` `MOUNTED`. */
export function isDataApp(src: SrcJson): boolean {
  const args = argsOf(src);
  return args.get("PV_RUNLEVEL") === "data" || args.get("PV_STATUS_GOAL") === "MOUNTED";
}

/**
 * The merged volumes: the Docker `Volumes` keys (each `permanent`) overlaid with
 * `persistence`, keys without their trailing `/`, sorted, `lxc-overlay` excluded.
 */
export function mergedVolumes(src: SrcJson): Array<[string, string]> {
  const vols = new Map<string, string>();
  const docker = mergedDockerConfig(src).get("Volumes");
  if (isJsonObject(docker)) {
    for (const k of docker.keys()) vols.set(trimTrailingSlash(k), "permanent");
  }
  for (const [k, v] of src.persistence ?? []) {
    vols.set(trimTrailingSlash(k), typeof v === "string" ? v : goText(v));
  }
  vols.delete("lxc-overlay");
  return [...vols].sort((a, b) => compareCodePoints(a[0], b[0]));
}

function trimTrailingSlash(k: string): string {
  return k.endsWith("/") ? k.slice(0, -1) : k;
}

/**
 * `P@D` → `{persistence: P, disk: D}`; `P` → `{persistence: P}` (`built-in` when
 * empty); with more `@`, the first and last parts (as the Go template).
 */
function storageEntry(spec: string): JsonObject {
  const parts = spec.split("@");
  if (parts.length === 1) return new Map([["persistence", spec === "" ? "built-in" : spec]]);
  return new Map<string, JsonValue>([
    ["persistence", parts[0]],
    ["disk", parts[parts.length - 1]],
  ]);
}

/** The names in a `groups.json` array. */
function groupNames(groups: JsonValue | undefined): string[] | undefined {
  if (!isJsonArray(groups)) return undefined;
  return groups.map((g) => isJsonObject(g) ? g.get("name") : undefined)
    .filter((n): n is string => typeof n === "string");
}

/**
 * The group the app runs in (§9.6 `EffectiveGroup`) and the notes the Go pvr printed
 * while choosing it.
 */
export function effectiveGroup(input: TemplateInput): EffectiveGroup {
  const args = argsOf(input.src);
  const warnings: string[] = [];
  const names = groupNames(input.groups);
  const group = args.get("PV_GROUP");
  const runlevel = args.get("PV_RUNLEVEL");
  if (truthy(runlevel)) {
    warnings.push(`Setting new platform to runlevel "${goText(runlevel)}"`);
    warnings.push(
      "WARN: using deprecated runlevel. Use --group instead for Pantavisor 015 or above",
    );
    if (names !== undefined) {
      warnings.push("WARN: PV_RUNLEVEL used and groups.json found at the same time");
    }
  }
  if (truthy(group)) {
    const g = goText(group);
    if (names !== undefined && !names.includes(g)) {
      warnings.push("WARN: group does not exist in groups.json");
    }
    warnings.push(`Setting new platform to group "${g}"`);
    return { group: g, warnings };
  }
  if (!truthy(runlevel) && names !== undefined && names.length > 0) {
    const g = names[names.length - 1];
    warnings.push(`Setting new platform to default group "${g}"`);
    return { group: g, warnings };
  }
  return { warnings };
}

// ---------------------------------------------------------------------------
// lxc.container.conf

/** The `lxc.init.cmd` value (after `lxc.init.cmd =`), item 7 of §9.6, Cmd items spaced. */
function initCmd(docker: JsonObject): string {
  const ep = docker.get("Entrypoint");
  const cmd = docker.get("Cmd");
  // A list is only used when its first item is not empty (then all its items are).
  const listText = (list: JsonValue[]): string =>
    truthy(list[0])
      ? ` ${goText(list[0])}` + list.slice(1).map((x) => ` "${goText(x)}"`).join("")
      : "";
  if (truthy(ep)) {
    if (!isJsonArray(ep)) return ` ${goText(ep)}`;
    let out = listText(ep);
    if (truthy(cmd)) {
      out += isJsonArray(cmd) ? cmd.map((c) => ` "${goText(c)}"`).join("") : ` "${goText(cmd)}"`;
    }
    return out;
  }
  if (truthy(cmd)) return isJsonArray(cmd) ? listText(cmd) : ` ${goText(cmd)}`;
  return " /sbin/init";
}

/**
 * `lxc.container.conf` (every line ends with `\n`), or `null` for data/MOUNTED apps.
 *
 * @throws {PvrError} `BAD_STATE` when a list argument is not a JSON array or an item
 *   of a `a:b` list has no `:`
 * @example
 * ```ts
 * renderLxcConfig({ name: "app", src: { "#spec": SRC_SPEC, template: BUILTIN_TEMPLATE } });
 * // "lxc.tty.max = 8\nlxc.pty.max = 1024\n…lxc.init.cmd = /sbin/init\n…"
 * ```
 */
export function renderLxcConfig(input: TemplateInput): string | null {
  const { name, src } = input;
  if (isDataApp(src)) return null;
  const args = argsOf(src);
  const docker = mergedDockerConfig(src);
  const a = (k: string) => args.get(k);
  const lines: string[] = [];
  const add = (s: string) => lines.push(s);

  add(`lxc.tty.max = ${orDefault(a("LXC_TTY_MAX"), "8")}`);
  add(`lxc.pty.max = ${orDefault(a("LXC_PTY_MAX"), "1024")}`);
  if (truthy(a("PV_DEBUG_MODE"))) add(`lxc.log.file = /pv/logs/${name}.log`);
  const white = listArg(args, "PVR_LXC_CGROUP_DEVICES_WHITE");
  if (white.length > 0) {
    add("lxc.cgroup.devices.deny = a");
    for (const item of white) add(`lxc.cgroup.devices.allow = ${goText(item)}`);
  } else {
    add("lxc.cgroup.devices.allow = a");
  }
  for (const item of listArg(args, "PVR_LXC_CGROUP_V1")) add(`lxc.cgroup.${goText(item)}`);

  let rootfs = "lxc.rootfs.path = overlayfs:";
  if (src.docker_ovl_digest) rootfs += `/volumes/${name}/root.ovl.squashfs:`;
  rootfs += `/volumes/${src.base || name}/root.squashfs:/volumes/${name}/lxc-overlay/upper`;
  add(rootfs);

  add(`lxc.init.cmd =${initCmd(docker)}`);
  const cwd = docker.get("WorkingDir");
  if (truthy(cwd)) add(`lxc.init.cwd = ${goText(cwd)}`);
  const env = docker.get("Env");
  for (const item of truthy(env) && isJsonArray(env) ? env : []) {
    add(`lxc.environment = ${goText(item)}`);
  }
  for (const item of listArg(args, "PV_LXC_EXTRA_ENV")) add(`lxc.environment = ${goText(item)}`);

  const netType = a("PV_LXC_NETWORK_TYPE");
  if (truthy(a("PV_LXC_NAMESPACE_KEEP"))) {
    add(`lxc.namespace.keep = ${goText(a("PV_LXC_NAMESPACE_KEEP"))}`);
  } else if (truthy(netType) && goText(netType) !== "host") {
    add("lxc.namespace.keep = user  ipc");
  } else {
    add("lxc.namespace.keep = user  net  ipc");
  }
  if (truthy(a("PV_LXC_DISABLE_CONSOLE"))) add("lxc.console.path = none");
  add(
    `lxc.mount.auto = ${orDefault(a("LXC_MOUNT_AUTO_PROC"), "proc")}  ${
      orDefault(a("LXC_MOUNT_AUTO_SYS"), "sys:rw")
    }  ${orDefault(a("LXC_MOUNT_AUTO_GROUP"), "cgroup")}`,
  );
  if (truthy(a("PV_DISABLE_AUTODEV"))) add("lxc.autodev = 0");
  if (truthy(a("PV_SECURITY_FULLDEV"))) {
    add("lxc.mount.entry = /dev/ dev none bind,rw,create=dir 0 0");
  }
  if (truthy(a("PV_SECURITY_WITH_HOST"))) {
    add("lxc.mount.entry = / host none bind,rw,create=dir 0 0");
  }
  if (truthy(a("PV_SECURITY_WITH_HOSTPROC"))) {
    add("lxc.mount.entry = /proc/ host/proc none bind,rw,create=dir 0 0");
  }
  if (truthy(a("PV_SECURITY_WITH_STORAGE"))) {
    add("lxc.mount.entry = /storage storage none bind,rw,create=dir 0 0");
  }
  if (!truthy(a("PV_RESOLV_CONF_DISABLE"))) {
    add(
      `lxc.mount.entry = /etc/resolv.conf ${
        orDefault(a("PV_RESOLV_CONF_PATH"), "etc/resolv.conf")
      } none bind,rw,create=file 0 0`,
    );
  }
  if (!truthy(a("PV_RUN_TMPFS_DISABLE"))) {
    add(
      `lxc.mount.entry = tmpfs ${
        orDefault(a("PV_RUN_TMPFS_PATH"), "run")
      } tmpfs rw,nodev,relatime,create=dir,mode=755 0 0`,
    );
  }
  for (const [key] of mergedVolumes(src)) {
    add(
      `lxc.mount.entry = /volumes/${name}/docker-${key.replaceAll("/", "-")} ${
        trimPrefix(key, "/")
      } none bind,rw,create=dir 0 0`,
    );
  }
  for (const item of listArg(args, "PV_LXC_CAP_DROP")) {
    add(`lxc.cap.drop = ${goText(item).toLowerCase()}`);
  }
  for (const item of listArg(args, "PV_LXC_CAP_KEEP")) {
    add(`lxc.cap.keep = ${goText(item).toLowerCase()}`);
  }
  switch (truthy(netType) ? goText(netType) : "") {
    case "empty":
      add("lxc.net.0.type = empty");
      break;
    case "phys":
      add("lxc.net.0.type = phys");
      add(`lxc.net.0.link = ${goText(a("PV_LXC_NETWORK_LINK") ?? "")}`);
      break;
    case "veth":
      add("lxc.net.0.type = veth");
      add("lxc.net.0.link = lxcbr0");
      add("lxc.net.0.flags = up");
      if (truthy(a("PV_LXC_NETWORK_IPV4_ADDRESS"))) {
        add(`lxc.net.0.ipv4.address = ${goText(a("PV_LXC_NETWORK_IPV4_ADDRESS"))}`);
        add(`lxc.net.0.ipv4.gateway = ${orDefault(a("PV_LXC_NETWORK_IPV4_GATEWAY"), "auto")}`);
      }
      break;
  }
  if (truthy(a("PV_LXC_EXTRA_CONF"))) add(goText(a("PV_LXC_EXTRA_CONF")));
  for (const item of commaItems(args, "PV_FILEIMPORTS")) {
    const [from, to] = pair(item);
    add(`lxc.mount.entry = /exports/${from} ${to} none bind,rw,create=file 0 0`);
  }
  for (const item of commaItems(args, "PV_IMPORT_CONFIGVOLUMES")) {
    const [vol, to] = pair(item);
    add(
      `lxc.mount.entry = /volumes/${vol}/${name} ${to} none bind,rw,create=dir,optional,noexec 0 0`,
    );
  }
  for (const item of commaItems(args, "PV_VOLUME_MOUNTS")) {
    const [vol, to] = pair(item);
    add(`lxc.mount.entry = /volumes/${name}/${vol} ${to} none bind,rw,create=dir 0 0`);
  }
  for (const raw of listArg(args, "PV_VOLUME_IMPORTS")) {
    const item = goText(raw);
    const parts = item.split(":");
    if (parts.length < 3 || parts.length > 4 || parts.some((p, i) => p === "" && i < 3)) {
      throw new PvrError(
        "BAD_STATE",
        `template argument PV_VOLUME_IMPORTS: "${item}" is not container:[subdir@]origin:dest[:flags]`,
      );
    }
    const [container, source, dest, flags] = parts;
    const at = source.indexOf("@");
    const subdir = at >= 0 ? source.slice(0, at) : "";
    const origin = at >= 0 ? source.slice(at + 1) : source;
    add(
      `lxc.mount.entry = /volumes/${container}/docker-${origin.replaceAll("/", "-")}${
        subdir ? `/${subdir}` : ""
      } ${trimPrefix(dest, "/")} none bind,${flags || "rw"},create=dir 0 0`,
    );
  }
  return lines.map((l) => l + "\n").join("");
}

// ---------------------------------------------------------------------------
// run.json

/** The `root-volume` of `run.json`. */
function rootVolume(src: SrcJson): string {
  const vol = src.docker_ovl_digest && src.base ? "root.ovl.squashfs" : "root.squashfs";
  const dm = src.dm_enabled;
  const isDm = dm !== undefined && (dm.has("root.squashfs") || dm.has("root.ovl.squashfs"));
  return isDm ? `dm:${vol}` : vol;
}

/**
 * `run.json` as a value, members in the Go template's order (the file is inline JSON:
 * only its value matters; canonical JSON sorts the keys anyway).
 *
 * @param group the effective group (see {@link effectiveGroup}); computed when absent
 * @example
 * ```ts
 * canonicalJson(renderRunJson({ name: "nginx", src }));
 * // '{"#spec":"service-manifest-run@1","config":"lxc.container.conf",…,"volumes":[]}'
 * ```
 */
export function renderRunJson(input: TemplateInput, group?: string): JsonObject {
  const { name, src } = input;
  const args = argsOf(src);
  const data = isDataApp(src);
  const g = group ?? effectiveGroup(input).group;
  const run: JsonObject = new Map();
  run.set("#spec", RUN_SPEC);
  run.set("name", name);
  if (!data) run.set("config", "lxc.container.conf");
  if (truthy(args.get("PV_CONDITIONS"))) run.set("conditions", args.get("PV_CONDITIONS")!);
  const driver = (k: string): JsonValue => truthy(args.get(k)) ? args.get(k)! : [];
  run.set(
    "drivers",
    new Map([
      ["manual", driver("PV_DRIVERS_MANUAL")],
      ["required", driver("PV_DRIVERS_REQUIRED")],
      ["optional", driver("PV_DRIVERS_OPTIONAL")],
    ]),
  );
  if (g !== undefined && g !== "") run.set("group", g);
  for (
    const [arg, key] of [
      ["PV_RUNLEVEL", "runlevel"],
      ["PV_RESTART_POLICY", "restart_policy"],
      ["PV_STATUS_GOAL", "status_goal"],
    ]
  ) {
    if (truthy(args.get(arg))) run.set(key, args.get(arg)!);
  }
  const storage: JsonObject = new Map();
  for (const [key, spec] of mergedVolumes(src)) {
    storage.set(`docker-${key.replaceAll("/", "-")}`, storageEntry(spec));
  }
  const overlay = src.persistence?.get("lxc-overlay");
  storage.set("lxc-overlay", storageEntry(truthy(overlay) ? goText(overlay) : "boot"));
  run.set("storage", storage);
  if (!data) {
    if (src.exports && src.exports.length > 0) run.set("exports", src.exports);
    if (src.logs && src.logs.length > 0) run.set("logs", src.logs);
    run.set("type", "lxc");
    if (truthy(args.get("PV_ROLES"))) run.set("roles", args.get("PV_ROLES")!);
  }
  run.set("root-volume", rootVolume(src));
  const volumes: JsonValue[] = [];
  for (const v of commaItems(args, "PV_EXTRA_VOLUMES")) volumes.push(v);
  for (const item of commaItems(args, "PV_VOLUME_MOUNTS")) {
    volumes.push(pair(item)[0]);
  }
  if (src.docker_ovl_digest && !src.base) volumes.push("root.ovl.squashfs");
  run.set("volumes", volumes);
  return run;
}

/**
 * Renders both files and collects the notes (§9.6).
 *
 * @throws {PvrError} `BAD_STATE` as {@link renderLxcConfig}
 */
export function renderTemplates(input: TemplateInput): RenderResult {
  const { group, warnings } = effectiveGroup(input);
  return {
    lxcConfig: renderLxcConfig(input),
    runJson: renderRunJson(input, group ?? ""),
    warnings,
  };
}
