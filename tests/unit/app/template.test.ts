/**
 * The builtin-lxc-docker template: every line rule of spec §9.6 and the rendered
 * examples of Appendix A (the golden vectors), with the Go template's bugs fixed
 * (§13.3 items 14–16) where noted.
 */

import assert from "node:assert/strict";
import {
  effectiveGroup,
  goText,
  renderLxcConfig,
  renderRunJson,
  renderTemplates,
  type TemplateInput,
  truthy,
} from "../../../core/app/template.ts";
import { BUILTIN_TEMPLATE, SRC_SPEC, type SrcJson } from "../../../core/app/src_json.ts";
import { canonicalJson } from "../../../core/model/canonical.ts";
import { parseJson } from "../../../core/model/json_parse.ts";
import { goMarshalIndent } from "../../../core/model/go_json.ts";
import { fromPlain, JsonNumber, type JsonObject } from "../../../core/model/json_value.ts";
import { PvrError } from "../../../core/errors.ts";

const obj = (v: unknown) => fromPlain(v) as JsonObject;

/** A src.json with the given parts (plain values converted). */
function src(parts: Record<string, unknown> = {}): SrcJson {
  const out: Record<string, unknown> = { "#spec": SRC_SPEC, template: BUILTIN_TEMPLATE };
  for (const [k, v] of Object.entries(parts)) {
    out[k] = typeof v === "string" || typeof v === "boolean" ? v : fromPlain(v);
  }
  return out as unknown as SrcJson;
}

function lxc(input: TemplateInput): string {
  const t = renderLxcConfig(input);
  assert.notEqual(t, null);
  return t!;
}

function lines(input: TemplateInput): string[] {
  return lxc(input).split("\n").slice(0, -1);
}

function withArgs(args: Record<string, unknown>, rest: Record<string, unknown> = {}) {
  return { name: "app", src: src({ args, ...rest }) };
}

const NGINX_CONFIG = {
  Cmd: ["nginx", "-g", "daemon off;"],
  Entrypoint: ["/docker-entrypoint.sh"],
  Env: [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "NGINX_VERSION=1.25.3",
  ],
  WorkingDir: "",
};

// ---------------------------------------------------------------------------
// Appendix A

/** A1 as the Go pvr rendered it (569 bytes). */
const A1_GO = `lxc.tty.max = 8
lxc.pty.max = 1024
lxc.cgroup.devices.allow = a
lxc.rootfs.path = overlayfs:/volumes/nginx/root.squashfs:/volumes/nginx/lxc-overlay/upper
lxc.init.cmd = /docker-entrypoint.sh "nginx""-g""daemon off;"
lxc.environment = PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
lxc.environment = NGINX_VERSION=1.25.3
lxc.namespace.keep = user  net  ipc
lxc.mount.auto = proc  sys:rw  cgroup
lxc.mount.entry = /etc/resolv.conf etc/resolv.conf none bind,rw,create=file 0 0
lxc.mount.entry = tmpfs run tmpfs rw,nodev,relatime,create=dir,mode=755 0 0
`;

Deno.test("A1: default nginx app renders the Go bytes, except the fixed lxc.init.cmd line", () => {
  assert.equal(A1_GO.length, 569);
  const input = {
    name: "nginx",
    src: src({ docker_name: "nginx", docker_config: NGINX_CONFIG }),
  };
  // Fix of §13.3 item 15: the Cmd items are separated by spaces.
  const fixed = A1_GO.replace(
    'lxc.init.cmd = /docker-entrypoint.sh "nginx""-g""daemon off;"',
    'lxc.init.cmd = /docker-entrypoint.sh "nginx" "-g" "daemon off;"',
  );
  assert.notEqual(fixed, A1_GO);
  assert.equal(lxc(input), fixed);
  assert.equal(
    canonicalJson(renderRunJson(input)),
    '{"#spec":"service-manifest-run@1","config":"lxc.container.conf","drivers":{"manual":[],"optional":[],"required":[]},"name":"nginx","root-volume":"root.squashfs","storage":{"lxc-overlay":{"persistence":"boot"}},"type":"lxc","volumes":[]}',
  );
  assert.deepEqual(renderTemplates(input).warnings, []);
});

const A2_ARGS = {
  PV_RESTART_POLICY: "container",
  PV_STATUS_GOAL: "STARTED",
  PV_LXC_NETWORK_TYPE: "veth",
  PV_LXC_NETWORK_IPV4_ADDRESS: "10.0.3.2/24",
};
const A2_INPUT: TemplateInput = {
  name: "app",
  src: src({
    args: A2_ARGS,
    persistence: { "/data": "permanent@disk1", "lxc-overlay": "revision" },
    docker_config: { Cmd: "/bin/sh", WorkingDir: "/app", Volumes: { "/var/lib/x/": {} } },
  }),
  groups: fromPlain([{ name: "root" }, { name: "platform" }, { name: "app" }]),
};

Deno.test("A2: veth networking, a Docker volume and persistence render the Go bytes", () => {
  assert.equal(
    lxc(A2_INPUT),
    `lxc.tty.max = 8
lxc.pty.max = 1024
lxc.cgroup.devices.allow = a
lxc.rootfs.path = overlayfs:/volumes/app/root.squashfs:/volumes/app/lxc-overlay/upper
lxc.init.cmd = /bin/sh
lxc.init.cwd = /app
lxc.namespace.keep = user  ipc
lxc.mount.auto = proc  sys:rw  cgroup
lxc.mount.entry = /etc/resolv.conf etc/resolv.conf none bind,rw,create=file 0 0
lxc.mount.entry = tmpfs run tmpfs rw,nodev,relatime,create=dir,mode=755 0 0
lxc.mount.entry = /volumes/app/docker--data data none bind,rw,create=dir 0 0
lxc.mount.entry = /volumes/app/docker--var-lib-x var/lib/x none bind,rw,create=dir 0 0
lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
lxc.net.0.flags = up
lxc.net.0.ipv4.address = 10.0.3.2/24
lxc.net.0.ipv4.gateway = auto
`,
  );
  const r = renderTemplates(A2_INPUT);
  assert.equal(
    canonicalJson(r.runJson.get("storage")!),
    '{"docker--data":{"disk":"disk1","persistence":"permanent"},"docker--var-lib-x":{"persistence":"permanent"},"lxc-overlay":{"persistence":"revision"}}',
  );
  assert.equal(r.runJson.get("group"), "app");
  assert.equal(r.runJson.get("restart_policy"), "container");
  assert.equal(r.runJson.get("status_goal"), "STARTED");
  assert.deepEqual(r.warnings, ['Setting new platform to default group "app"']);
});

Deno.test("A2 + PV_EXTRA_VOLUMES=vol1,vol2: run.json stays valid JSON (Go bug fixed)", () => {
  const input = withArgs({ ...A2_ARGS, PV_EXTRA_VOLUMES: "vol1,vol2" });
  const run = renderRunJson(input);
  const text = goMarshalIndent(run, "", "    ", { numbers: "text" });
  // Fix of §13.3 item 14: the Go template wrote "vol1",\n"vol2" (a literal backslash).
  assert.equal(canonicalJson(parseJson(text)), canonicalJson(run));
  assert.deepEqual(run.get("volumes"), ["vol1", "vol2"]);
  assert.ok(!text.includes("\\n"));
});

Deno.test("A3: a data container has no lxc.container.conf and no config/type in run.json", () => {
  const input = {
    name: "base",
    src: src({ args: { PV_GROUP: "data", PV_STATUS_GOAL: "MOUNTED" } }),
  };
  assert.equal(renderLxcConfig(input), null);
  const r = renderTemplates(input);
  assert.equal(r.lxcConfig, null);
  assert.equal(
    canonicalJson(r.runJson),
    '{"#spec":"service-manifest-run@1","drivers":{"manual":[],"optional":[],"required":[]},"group":"data","name":"base","root-volume":"root.squashfs","status_goal":"MOUNTED","storage":{"lxc-overlay":{"persistence":"boot"}},"volumes":[]}',
  );
});

Deno.test("A3: PV_RUNLEVEL=data is a data container too, with exports/logs/roles left out", () => {
  const input = withArgs({ PV_RUNLEVEL: "data", PV_ROLES: ["mgmt"] }, {
    exports: ["a"],
    logs: [{ path: "/x" }],
  });
  assert.equal(renderLxcConfig(input), null);
  const run = renderRunJson(input);
  for (const k of ["config", "type", "exports", "logs", "roles"]) assert.ok(!run.has(k), k);
  assert.equal(run.get("runlevel"), "data");
});

Deno.test("A4: overlay app with a base: rootfs path, dm: root-volume, no extra volume", () => {
  const input = {
    name: "ext",
    src: src({
      base: "base",
      docker_ovl_digest: "ext@sha256:1",
      dm_enabled: { "root.squashfs": true },
      docker_config: { Entrypoint: "/run.sh", Cmd: ["ignored"] },
    }),
  };
  const l = lines(input);
  assert.ok(
    l.includes(
      "lxc.rootfs.path = overlayfs:/volumes/ext/root.ovl.squashfs:/volumes/base/root.squashfs:/volumes/ext/lxc-overlay/upper",
    ),
  );
  assert.ok(l.includes("lxc.init.cmd = /run.sh"));
  const run = renderRunJson(input);
  assert.equal(run.get("root-volume"), "dm:root.ovl.squashfs");
  assert.deepEqual(run.get("volumes"), []);
});

Deno.test("A4: an overlay without a base keeps root.squashfs and adds root.ovl.squashfs to volumes", () => {
  const input = { name: "ext", src: src({ docker_ovl_digest: "ext@sha256:1" }) };
  const run = renderRunJson(input);
  assert.equal(run.get("root-volume"), "root.squashfs");
  assert.deepEqual(run.get("volumes"), ["root.ovl.squashfs"]);
  assert.ok(
    lines(input).includes(
      "lxc.rootfs.path = overlayfs:/volumes/ext/root.ovl.squashfs:/volumes/ext/root.squashfs:/volumes/ext/lxc-overlay/upper",
    ),
  );
  assert.equal(
    renderRunJson({ name: "ext", src: src({ dm_enabled: { "root.ovl.squashfs": true } }) })
      .get("root-volume"),
    "dm:root.squashfs",
  );
});

Deno.test("A5: no Cmd or Entrypoint is /sbin/init; storage mount before resolv.conf; extra conf last", () => {
  const input = withArgs({ PV_SECURITY_WITH_STORAGE: "yes", PV_LXC_EXTRA_CONF: "lxc.foo = 1" });
  const l = lines(input);
  assert.ok(l.includes("lxc.init.cmd = /sbin/init"));
  const storage = l.indexOf("lxc.mount.entry = /storage storage none bind,rw,create=dir 0 0");
  const resolv = l.indexOf(
    "lxc.mount.entry = /etc/resolv.conf etc/resolv.conf none bind,rw,create=file 0 0",
  );
  assert.ok(storage >= 0 && resolv === storage + 1);
  assert.equal(l[l.length - 1], "lxc.foo = 1");
});

// ---------------------------------------------------------------------------
// Line rules of §9.6

Deno.test("lines 1-2: tty/pty from LXC_TTY_MAX/LXC_PTY_MAX, numbers printed as Go does", () => {
  const l = lines(withArgs({ LXC_TTY_MAX: "4", LXC_PTY_MAX: new JsonNumber("2048") }));
  assert.equal(l[0], "lxc.tty.max = 4");
  assert.equal(l[1], "lxc.pty.max = 2048");
  assert.equal(lines(withArgs({ LXC_TTY_MAX: "" }))[0], "lxc.tty.max = 8");
});

Deno.test("line 3: PV_DEBUG_MODE adds the log file", () => {
  assert.equal(lines(withArgs({ PV_DEBUG_MODE: "1" }))[2], "lxc.log.file = /pv/logs/app.log");
  assert.ok(!lxc(withArgs({ PV_DEBUG_MODE: "" })).includes("lxc.log.file"));
});

Deno.test("lines 4-5: device white list, then cgroup v1 items", () => {
  const l = lines(withArgs({
    PVR_LXC_CGROUP_DEVICES_WHITE: ["c 1:3 rwm", "b 8:* r"],
    PVR_LXC_CGROUP_V1: ["memory.limit_in_bytes = 1G"],
  }));
  assert.deepEqual(l.slice(2, 6), [
    "lxc.cgroup.devices.deny = a",
    "lxc.cgroup.devices.allow = c 1:3 rwm",
    "lxc.cgroup.devices.allow = b 8:* r",
    "lxc.cgroup.memory.limit_in_bytes = 1G",
  ]);
});

Deno.test("list arguments given as strings are a clear BAD_STATE error", () => {
  assert.throws(
    () => renderLxcConfig(withArgs({ PV_LXC_CAP_DROP: "SYS_ADMIN" })),
    (e) => e instanceof PvrError && e.code === "BAD_STATE" && /PV_LXC_CAP_DROP/.test(e.message),
  );
});

Deno.test("line 7: lxc.init.cmd for every Entrypoint/Cmd shape", () => {
  const cmd = (docker: Record<string, unknown>) =>
    lines({ name: "a", src: src({ docker_config: docker }) }).find((l) =>
      l.startsWith("lxc.init.cmd")
    );
  assert.equal(
    cmd({ Entrypoint: ["/e", "x y"], Cmd: ["a", "b"] }),
    'lxc.init.cmd = /e "x y" "a" "b"',
  );
  assert.equal(cmd({ Entrypoint: ["/e"], Cmd: "run" }), 'lxc.init.cmd = /e "run"');
  assert.equal(cmd({ Entrypoint: ["/e"], Cmd: [] }), "lxc.init.cmd = /e");
  assert.equal(cmd({ Entrypoint: "/e --x", Cmd: ["ignored"] }), "lxc.init.cmd = /e --x");
  assert.equal(cmd({ Cmd: ["/bin/sh", "-c", "echo hi"] }), 'lxc.init.cmd = /bin/sh "-c" "echo hi"');
  assert.equal(cmd({ Cmd: "/bin/sh -c x" }), "lxc.init.cmd = /bin/sh -c x");
  assert.equal(cmd({ Entrypoint: null, Cmd: null }), "lxc.init.cmd = /sbin/init");
  assert.equal(cmd({ Entrypoint: [], Cmd: "" }), "lxc.init.cmd = /sbin/init");
  // A list whose first item is empty is not used at all (as the Go template).
  assert.equal(cmd({ Entrypoint: ["", "x"], Cmd: ["a"] }), 'lxc.init.cmd = "a"');
  assert.equal(cmd({ Cmd: ["", "x"] }), "lxc.init.cmd =");
});

Deno.test("src.json config overrides docker_config values that are not null", () => {
  const l = lines({
    name: "a",
    src: src({
      docker_config: { Cmd: ["/a"], WorkingDir: "/w" },
      config: { Cmd: ["/b"], WorkingDir: null },
    }),
  });
  assert.ok(l.includes("lxc.init.cmd = /b"));
  assert.ok(l.includes("lxc.init.cwd = /w"));
});

Deno.test("line 9: Env items, then PV_LXC_EXTRA_ENV items", () => {
  const l = lines({
    name: "a",
    src: src({ docker_config: { Env: ["A=1"] }, args: { PV_LXC_EXTRA_ENV: ["B=2"] } }),
  });
  assert.deepEqual(l.filter((x) => x.startsWith("lxc.environment")), [
    "lxc.environment = A=1",
    "lxc.environment = B=2",
  ]);
});

Deno.test("line 10: namespace.keep from PV_LXC_NAMESPACE_KEEP, net dropped for non-host networks", () => {
  const keep = (args: Record<string, unknown>) =>
    lines(withArgs(args)).find((l) => l.startsWith("lxc.namespace.keep"));
  assert.equal(keep({}), "lxc.namespace.keep = user  net  ipc");
  assert.equal(keep({ PV_LXC_NETWORK_TYPE: "host" }), "lxc.namespace.keep = user  net  ipc");
  assert.equal(keep({ PV_LXC_NETWORK_TYPE: "empty" }), "lxc.namespace.keep = user  ipc");
  assert.equal(
    keep({ PV_LXC_NAMESPACE_KEEP: "user", PV_LXC_NETWORK_TYPE: "veth" }),
    "lxc.namespace.keep = user",
  );
});

Deno.test("lines 11-19: console, mount.auto, autodev, security mounts, resolv.conf and tmpfs", () => {
  const l = lines(withArgs({
    PV_LXC_DISABLE_CONSOLE: "1",
    LXC_MOUNT_AUTO_PROC: "proc:mixed",
    LXC_MOUNT_AUTO_SYS: "sys:ro",
    LXC_MOUNT_AUTO_GROUP: "cgroup:mixed",
    PV_DISABLE_AUTODEV: "1",
    PV_SECURITY_FULLDEV: "1",
    PV_SECURITY_WITH_HOST: "1",
    PV_SECURITY_WITH_HOSTPROC: "1",
    PV_RESOLV_CONF_PATH: "run/resolv.conf",
    PV_RUN_TMPFS_PATH: "var/run",
  }));
  const from = l.indexOf("lxc.console.path = none");
  assert.deepEqual(
    l.slice(from),
    [
      "lxc.console.path = none",
      "lxc.mount.auto = proc:mixed  sys:ro  cgroup:mixed",
      "lxc.autodev = 0",
      "lxc.mount.entry = /dev/ dev none bind,rw,create=dir 0 0",
      "lxc.mount.entry = / host none bind,rw,create=dir 0 0",
      "lxc.mount.entry = /proc/ host/proc none bind,rw,create=dir 0 0",
      "lxc.mount.entry = /etc/resolv.conf run/resolv.conf none bind,rw,create=file 0 0",
      "lxc.mount.entry = tmpfs var/run tmpfs rw,nodev,relatime,create=dir,mode=755 0 0",
    ],
  );
  const off = lxc(withArgs({ PV_RESOLV_CONF_DISABLE: "1", PV_RUN_TMPFS_DISABLE: "1" }));
  assert.ok(!off.includes("resolv.conf") && !off.includes("tmpfs"));
});

Deno.test("line 20 and storage: volumes merged, trailing / trimmed, sorted, lxc-overlay skipped", () => {
  const input = {
    name: "a",
    src: src({
      docker_config: { Volumes: { "/z/": {}, "/data/": {} } },
      persistence: {
        "/data": "revision",
        "/b/c": "boot@d2",
        "/e": "",
        "lxc-overlay": "permanent",
      },
    }),
  };
  assert.deepEqual(lines(input).filter((l) => l.includes("/volumes/a/docker")), [
    "lxc.mount.entry = /volumes/a/docker--b-c b/c none bind,rw,create=dir 0 0",
    "lxc.mount.entry = /volumes/a/docker--data data none bind,rw,create=dir 0 0",
    "lxc.mount.entry = /volumes/a/docker--e e none bind,rw,create=dir 0 0",
    "lxc.mount.entry = /volumes/a/docker--z z none bind,rw,create=dir 0 0",
  ]);
  assert.equal(
    canonicalJson(renderRunJson(input).get("storage")!),
    '{"docker--b-c":{"disk":"d2","persistence":"boot"},"docker--data":{"persistence":"revision"},' +
      '"docker--e":{"persistence":"built-in"},"docker--z":{"persistence":"permanent"},"lxc-overlay":{"persistence":"permanent"}}',
  );
});

Deno.test("line 21: capabilities lower-cased, drop before keep", () => {
  const l = lines(
    withArgs({ PV_LXC_CAP_DROP: ["SYS_ADMIN"], PV_LXC_CAP_KEEP: ["NET_RAW", "Kill"] }),
  );
  assert.deepEqual(l.filter((x) => x.startsWith("lxc.cap")), [
    "lxc.cap.drop = sys_admin",
    "lxc.cap.keep = net_raw",
    "lxc.cap.keep = kill",
  ]);
});

Deno.test("line 22: empty, phys (with the space after '=', Go bug fixed) and veth networks", () => {
  assert.ok(lines(withArgs({ PV_LXC_NETWORK_TYPE: "empty" })).includes("lxc.net.0.type = empty"));
  const phys = lines(withArgs({ PV_LXC_NETWORK_TYPE: "phys", PV_LXC_NETWORK_LINK: "eth1" }));
  assert.deepEqual(phys.slice(-2), ["lxc.net.0.type = phys", "lxc.net.0.link = eth1"]);
  const veth = lines(withArgs({
    PV_LXC_NETWORK_TYPE: "veth",
    PV_LXC_NETWORK_IPV4_ADDRESS: "10.0.0.2/24",
    PV_LXC_NETWORK_IPV4_GATEWAY: "10.0.0.1",
  }));
  assert.deepEqual(veth.slice(-5), [
    "lxc.net.0.type = veth",
    "lxc.net.0.link = lxcbr0",
    "lxc.net.0.flags = up",
    "lxc.net.0.ipv4.address = 10.0.0.2/24",
    "lxc.net.0.ipv4.gateway = 10.0.0.1",
  ]);
  assert.deepEqual(lines(withArgs({ PV_LXC_NETWORK_TYPE: "veth" })).slice(-1), [
    "lxc.net.0.flags = up",
  ]);
  assert.ok(!lxc(withArgs({ PV_LXC_NETWORK_TYPE: "host" })).includes("lxc.net"));
});

Deno.test("lines 23-27: extra conf, file imports, config volumes, volume mounts, volume imports", () => {
  const l = lines(withArgs({
    PV_LXC_EXTRA_CONF: "lxc.a = 1\nlxc.b = 2",
    PV_FILEIMPORTS: "pv-ctrl:run/pv-ctrl,x:y",
    PV_IMPORT_CONFIGVOLUMES: "cfg:etc/app",
    PV_VOLUME_MOUNTS: "vol1:/mnt/v1,,vol2:mnt/v2",
    PV_VOLUME_IMPORTS: ["cont:/foo/fol:/faldara", "cont:subdir@/foo/fol:/x:ro"],
  }));
  const from = l.indexOf("lxc.a = 1");
  assert.deepEqual(l.slice(from), [
    "lxc.a = 1",
    "lxc.b = 2",
    "lxc.mount.entry = /exports/pv-ctrl run/pv-ctrl none bind,rw,create=file 0 0",
    "lxc.mount.entry = /exports/x y none bind,rw,create=file 0 0",
    "lxc.mount.entry = /volumes/cfg/app etc/app none bind,rw,create=dir,optional,noexec 0 0",
    "lxc.mount.entry = /volumes/app/vol1 /mnt/v1 none bind,rw,create=dir 0 0",
    "lxc.mount.entry = /volumes/app/vol2 mnt/v2 none bind,rw,create=dir 0 0",
    "lxc.mount.entry = /volumes/cont/docker--foo-fol faldara none bind,rw,create=dir 0 0",
    "lxc.mount.entry = /volumes/cont/docker--foo-fol/subdir x none bind,ro,create=dir 0 0",
  ]);
  assert.throws(
    () => renderLxcConfig(withArgs({ PV_VOLUME_IMPORTS: ["nocolon"] })),
    (e) => e instanceof PvrError && e.code === "BAD_STATE",
  );
  // As the Go template: the first and the last ":"-separated parts.
  assert.ok(
    lines(withArgs({ PV_FILEIMPORTS: "a:b:c,solo" })).slice(-2).join("\n") ===
      "lxc.mount.entry = /exports/a c none bind,rw,create=file 0 0\n" +
        "lxc.mount.entry = /exports/solo solo none bind,rw,create=file 0 0",
  );
});

Deno.test("run.json: member order, conditions, drivers, roles, exports, logs and volumes", () => {
  const input = withArgs({
    PV_CONDITIONS: [{ container: "x" }],
    PV_DRIVERS_REQUIRED: ["wifi"],
    PV_ROLES: ["mgmt"],
    PV_RUNLEVEL: "app",
    PV_EXTRA_VOLUMES: "v1",
    PV_VOLUME_MOUNTS: "m1:/m",
  }, { exports: ["e.json"], logs: [{ file: "/var/log/x", maxsize: 100 }] });
  const run = renderRunJson(input);
  assert.deepEqual([...run.keys()], [
    "#spec",
    "name",
    "config",
    "conditions",
    "drivers",
    "runlevel",
    "storage",
    "exports",
    "logs",
    "type",
    "roles",
    "root-volume",
    "volumes",
  ]);
  assert.equal(
    canonicalJson(run.get("drivers")!),
    '{"manual":[],"optional":[],"required":["wifi"]}',
  );
  assert.deepEqual(run.get("volumes"), ["v1", "m1"]);
  assert.equal(canonicalJson(run.get("logs")!), '[{"file":"/var/log/x","maxsize":100}]');
});

Deno.test("effectiveGroup(): PV_GROUP, the last groups.json entry, runlevel notes", () => {
  const groups = fromPlain([{ name: "data" }, { name: "root" }, { name: "app" }]);
  assert.deepEqual(effectiveGroup({ ...withArgs({ PV_GROUP: "root" }), groups }), {
    group: "root",
    warnings: ['Setting new platform to group "root"'],
  });
  assert.deepEqual(effectiveGroup({ ...withArgs({ PV_GROUP: "nope" }), groups }), {
    group: "nope",
    warnings: ["WARN: group does not exist in groups.json", 'Setting new platform to group "nope"'],
  });
  assert.deepEqual(effectiveGroup({ ...withArgs({}), groups }), {
    group: "app",
    warnings: ['Setting new platform to default group "app"'],
  });
  assert.deepEqual(effectiveGroup(withArgs({})), { warnings: [] });
  assert.deepEqual(effectiveGroup({ ...withArgs({ PV_RUNLEVEL: "root" }), groups }), {
    warnings: [
      'Setting new platform to runlevel "root"',
      "WARN: using deprecated runlevel. Use --group instead for Pantavisor 015 or above",
      "WARN: PV_RUNLEVEL used and groups.json found at the same time",
    ],
  });
  assert.equal(renderRunJson({ ...withArgs({ PV_RUNLEVEL: "root" }), groups }).has("group"), false);
});

Deno.test("truthy() and goText() follow Go template rules", () => {
  for (const f of [null, false, "", new JsonNumber("0"), [], new Map()]) {
    assert.equal(truthy(f as never), false);
  }
  assert.equal(truthy("0"), true);
  assert.equal(goText(new JsonNumber("8")), "8");
  assert.equal(goText(new JsonNumber("1.50")), "1.5");
  assert.equal(goText(new JsonNumber("1e21")), "1e+21");
  assert.equal(goText(new JsonNumber("0.00001")), "1e-05");
  assert.equal(goText(fromPlain(["a", 1])), "[a 1]");
  assert.equal(goText(obj({ b: 1, a: "x" })), "map[a:x b:1]");
});
