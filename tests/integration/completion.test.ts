/** `pvr completion` and `--generate-bash-completion`, against the stand-in hub and real bash. */

import assert from "node:assert/strict";
import { suggestNicks } from "../../core/ops/completion.ts";
import { defaultTokenKey, FileTokenStore } from "../../core/remote/pantahub/token_store.ts";
import { type Hub, startHub } from "../support/hub/server.ts";
import { login } from "../support/hub/testing.ts";
import { PROJECT_ROOT, runPvr } from "../support/cli.ts";
import { withTempDir } from "../support/temp.ts";

/** Hub with alice (dev1, devbox, other), albert (public apple, private apricot), bob. */
async function seed(hub: Hub, configDir: string): Promise<void> {
  hub.addUser("alice", "secret");
  hub.addUser("albert", "secret");
  hub.addUser("bob", "secret");
  hub.addDevice({ owner: "alice", nick: "dev1", secret: "s" });
  hub.addDevice({ owner: "alice", nick: "devbox", secret: "s" });
  hub.addDevice({ owner: "alice", nick: "other", secret: "s" });
  hub.addDevice({ owner: "albert", nick: "apple", secret: "s", public: true });
  hub.addDevice({ owner: "albert", nick: "apricot", secret: "s" });
  const token = await login(hub, "alice", "secret");
  await new FileTokenStore(configDir).set(defaultTokenKey(hub.url), {
    accessToken: token,
    refreshToken: token,
  });
}

function complete(args: string[], configDir: string, hub: Hub, word?: string) {
  const env: Record<string, string> = { PVR_CONFIG_DIR: configDir, PVR_BASEURL: hub.url };
  if (word !== undefined) env.PVR_COMPLETION_WORD = word;
  return runPvr([...args, "--generate-bash-completion"], { cwd: configDir, env });
}

Deno.test("pvr completion prints the urfave-style bash script with a trailing blank line", async () => {
  await withTempDir(async (dir) => {
    for (const cmd of ["completion", "com"]) {
      const r = await runPvr([cmd], { cwd: dir, env: { PVR_CONFIG_DIR: dir } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^#! \/bin\/bash\n\n_cli_bash_autocomplete\(\) \{\n/);
      assert.ok(
        r.stdout.endsWith(
          "\ncomplete -o bashdefault -o default -o nospace -F _cli_bash_autocomplete pvr\n\n",
        ),
        r.stdout,
      );
    }
  });
});

Deno.test("--generate-bash-completion lists the commands and subcommands from the command table", async () => {
  await withTempDir(async (dir) => {
    const env = { PVR_CONFIG_DIR: dir };
    const top = await runPvr(["--generate-bash-completion"], { cwd: dir, env });
    assert.equal(top.code, 0);
    const names = top.stdout.trim().split("\n");
    for (const n of ["init", "i", "status", "completion", "com", "device", "dev", "app", "clone"]) {
      assert.ok(names.includes(n), `${n} missing from ${names.join(" ")}`);
    }
    assert.ok(names.indexOf("init") < names.indexOf("add"), "the Go pvr's order");
    assert.ok(!names.includes("help"));
    const dev = await runPvr(["-c", dir, "dev", "--generate-bash-completion"], { cwd: dir, env });
    assert.deepEqual(dev.stdout.trim().split("\n"), [
      "ps",
      "logs",
      "log",
      "scan",
      "create",
      "cr",
      "get",
      "set",
      "se",
    ]);
    const flags = await runPvr(["status", "--j", "--generate-bash-completion"], { cwd: dir, env });
    assert.equal(flags.stdout, "--json\n");
    // A command without nicks or subcommands suggests nothing (bash falls back to files).
    const none = await runPvr(["add", "--generate-bash-completion"], { cwd: dir, env });
    assert.deepEqual([none.code, none.stdout, none.stderr], [0, "", ""]);
  });
});

Deno.test("nick suggestions come from /profiles and /devices with the ^prefix query", async () => {
  await using hub = await startHub();
  await withTempDir(async (dir) => {
    await seed(hub, dir);
    const o = { configDir: dir, baseUrl: hub.url };
    const users = await suggestNicks({ ...o, kind: "repo", term: "al" });
    assert.deepEqual(users, { loggedIn: true, suggestions: ["albert/", "alice/"] });
    const theirs = await suggestNicks({ ...o, kind: "repo", term: "albert/ap" });
    assert.deepEqual(theirs.suggestions, ["albert/apple"], "only public devices of others");
    const mine = await suggestNicks({ ...o, kind: "own-device", term: "dev" });
    assert.deepEqual(mine.suggestions, ["dev1", "devbox"]);
    const logs = await suggestNicks({ ...o, kind: "log-filter", term: "dev1,ot" });
    assert.deepEqual(logs.suggestions, ["dev1,other"]);
    const seen = hub.requests.map((r) => decodeURIComponent(r.path + r.query));
    assert.ok(seen.includes("/profiles/?nick=^al"), seen.join("\n"));
    assert.ok(seen.includes("/devices/?nick=^ap&owner-nick=albert"), seen.join("\n"));
  });
});

Deno.test("the CLI prints nicks on stdout, and Not-Loggedin / No results on stderr", async () => {
  await using hub = await startHub();
  await withTempDir(async (dir) => {
    const loggedOut = await complete(["clone"], dir, hub, "a");
    assert.deepEqual([loggedOut.code, loggedOut.stdout, loggedOut.stderr], [
      0,
      "",
      "Not-Loggedin -\n",
    ]);
    await seed(hub, dir);
    const clone = await complete(["clone"], dir, hub, "alice/d");
    assert.deepEqual([clone.stdout, clone.stderr], ["alice/dev1\nalice/devbox\n", ""]);
    const set = await complete(["device", "set"], dir, hub, "o");
    assert.equal(set.stdout, "other\n");
    const none = await complete(["dev", "get"], dir, hub, "zz");
    assert.deepEqual([none.stdout, none.stderr], ["", "No results\n"]);
    // A script without PVR_COMPLETION_WORD (the Go pvr's): the last argument is the prefix.
    const old = await complete(["post", "bo"], dir, hub);
    assert.equal(old.stdout, "bob/\n");
    // Only the first argument is a nick.
    const second = await complete(["clone", "alice/dev1"], dir, hub, "");
    assert.deepEqual([second.stdout, second.stderr], ["", ""]);
  });
});

async function bash(script: string, env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: ["--norc", "--noprofile", "-c", script],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return text;
}

Deno.test("the script completes in real bash: commands, subcommands and nicks", async () => {
  await using hub = await startHub();
  await withTempDir(async (dir) => {
    await seed(hub, dir);
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(
      `${dir}/bin/pvr`,
      `#!/bin/sh\nexec "${Deno.execPath()}" run -A --quiet "${PROJECT_ROOT}/main.ts" "$@"\n`,
    );
    await Deno.chmod(`${dir}/bin/pvr`, 0o755);
    const env = {
      PATH: `${dir}/bin:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
      HOME: dir,
      PVR_CONFIG_DIR: dir,
      PVR_BASEURL: hub.url,
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      XDG_CACHE_HOME: Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`,
    };
    const run = (line: string[]) =>
      bash(
        [
          'eval "$(pvr completion)"',
          "complete -p pvr",
          `COMP_WORDS=(${line.map((w) => `'${w}'`).join(" ")})`,
          `COMP_CWORD=${line.length - 1}`,
          "_cli_bash_autocomplete 2>/dev/null",
          'printf "%s\\n" "${COMPREPLY[@]}"',
        ].join("\n"),
        env,
      );
    const st = await run(["pvr", "st"]);
    assert.equal(
      st,
      "complete -o bashdefault -o default -o nospace -F _cli_bash_autocomplete pvr\n" +
        "status\nstepinfo\n",
    );
    const dev = (await run(["pvr", "device", "s"])).split("\n").slice(1);
    assert.deepEqual(dev, ["scan", "set", "se", ""]);
    const nicks = (await run(["pvr", "clone", "alice/d"])).split("\n").slice(1);
    assert.deepEqual(nicks, ["alice/dev1", "alice/devbox", ""]);
  });
});
