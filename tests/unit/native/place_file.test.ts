import assert from "node:assert/strict";
import { ffiAvailable, ffiUnavailableReason, reflinkFile } from "../../../native/ffi.ts";
import { placeFile } from "../../../native/place_file.ts";
import { withTempDir } from "../../support/temp.ts";

const enc = new TextEncoder();

async function withNoFfi<T>(fn: () => Promise<T>): Promise<T> {
  const before = Deno.env.get("PVR_NO_FFI");
  Deno.env.set("PVR_NO_FFI", "1");
  try {
    return await fn();
  } finally {
    if (before === undefined) Deno.env.delete("PVR_NO_FFI");
    else Deno.env.set("PVR_NO_FFI", before);
  }
}

/** True when the file system of `dir` can clone files (probed with two scratch files). */
function reflinkWorksIn(dir: string): boolean {
  Deno.writeTextFileSync(`${dir}/.probe-src`, "probe");
  try {
    const ok = reflinkFile(`${dir}/.probe-src`, `${dir}/.probe-dst`);
    if (ok) Deno.removeSync(`${dir}/.probe-dst`);
    return ok;
  } finally {
    Deno.removeSync(`${dir}/.probe-src`);
  }
}

Deno.test("placeFile() copy makes an independent file and reports copy", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/src`, "payload");
    assert.equal(await placeFile(`${dir}/src`, `${dir}/dst`, "copy"), "copy");
    assert.equal(await Deno.readTextFile(`${dir}/dst`), "payload");
    assert.notEqual((await Deno.stat(`${dir}/dst`)).ino, (await Deno.stat(`${dir}/src`)).ino);
  });
});

Deno.test("placeFile() copy keeps the mode of src unless a mode is given", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/src`, "payload");
    await Deno.chmod(`${dir}/src`, 0o444);
    await placeFile(`${dir}/src`, `${dir}/same`, "copy");
    assert.equal((await Deno.stat(`${dir}/same`)).mode! & 0o777, 0o444);
    await placeFile(`${dir}/src`, `${dir}/rw`, "copy", { mode: 0o644 });
    assert.equal((await Deno.stat(`${dir}/rw`)).mode! & 0o777, 0o644);
  });
});

Deno.test("placeFile() hardlink shares the inode with src and reports hardlink", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/src`, "shared");
    await Deno.chmod(`${dir}/src`, 0o444);
    assert.equal(
      await placeFile(`${dir}/src`, `${dir}/dst`, "hardlink", { mode: 0o644 }),
      "hardlink",
    );
    const [s, d] = [await Deno.stat(`${dir}/src`), await Deno.stat(`${dir}/dst`)];
    assert.equal(d.ino, s.ino);
    assert.equal(d.dev, s.dev);
    assert.equal(s.nlink, 2);
    assert.equal(s.mode! & 0o777, 0o444); // the mode option never touches a shared inode
  });
});

Deno.test("placeFile() hardlink across file systems falls back to a copy and reports copy", {
  ignore: (() => {
    try {
      return !Deno.statSync("/dev/shm").isDirectory;
    } catch {
      return true;
    }
  })(),
}, async () => {
  await withTempDir(async (dir) => {
    if (Deno.statSync(dir).dev === Deno.statSync("/dev/shm").dev) return;
    const shm = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "pvr-test-" });
    try {
      await Deno.writeTextFile(`${shm}/src`, "elsewhere");
      assert.equal(await placeFile(`${shm}/src`, `${dir}/dst`, "hardlink"), "copy");
      assert.equal(await Deno.readTextFile(`${dir}/dst`), "elsewhere");
    } finally {
      await Deno.remove(shm, { recursive: true });
    }
  });
});

Deno.test("placeFile() refuses an existing dst with AlreadyExists for every strategy", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/src`, "new");
    await Deno.writeTextFile(`${dir}/dst`, "old");
    for (const strategy of ["hardlink", "reflink", "copy", "auto"] as const) {
      await assert.rejects(
        placeFile(`${dir}/src`, `${dir}/dst`, strategy),
        Deno.errors.AlreadyExists,
      );
    }
    assert.equal(await Deno.readTextFile(`${dir}/dst`), "old");
  });
});

Deno.test("placeFile() of a missing src throws NotFound and creates no dst", async () => {
  await withTempDir(async (dir) => {
    for (const strategy of ["hardlink", "reflink", "copy", "auto"] as const) {
      await assert.rejects(placeFile(`${dir}/nope`, `${dir}/dst`, strategy), Deno.errors.NotFound);
    }
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("placeFile() reflink reports reflink where the file system clones, else copy", async () => {
  await withTempDir(async (dir) => {
    const clones = reflinkWorksIn(dir);
    const data = enc.encode("x".repeat(100_000));
    await Deno.writeFile(`${dir}/src`, data);
    await Deno.chmod(`${dir}/src`, 0o640);
    for (const strategy of ["reflink", "auto"] as const) {
      const dst = `${dir}/dst-${strategy}`;
      assert.equal(await placeFile(`${dir}/src`, dst, strategy), clones ? "reflink" : "copy");
      assert.deepEqual(await Deno.readFile(dst), data);
      assert.equal((await Deno.stat(dst)).mode! & 0o777, 0o640);
      assert.notEqual((await Deno.stat(dst)).ino, (await Deno.stat(`${dir}/src`)).ino);
    }
  });
});

Deno.test("reflinkFile() that cannot clone returns false and leaves no dst", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/src`, "data");
    if (reflinkWorksIn(dir)) return; // this file system clones: nothing to check here
    assert.equal(reflinkFile(`${dir}/src`, `${dir}/dst`), false);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["src"]);
    assert.equal(reflinkFile(`${dir}/missing`, `${dir}/dst`), false);
  });
});

Deno.test("reflinkFile() never writes through an existing dst", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/src`, "new");
    await Deno.writeTextFile(`${dir}/dst`, "old");
    assert.equal(reflinkFile(`${dir}/src`, `${dir}/dst`), false);
    assert.equal(await Deno.readTextFile(`${dir}/dst`), "old");
  });
});

Deno.test("with PVR_NO_FFI=1 FFI is off and reflink and auto report copy", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/src`, "no ffi");
    await withNoFfi(async () => {
      assert.equal(ffiAvailable(), false);
      assert.equal(ffiUnavailableReason(), "PVR_NO_FFI=1");
      assert.equal(reflinkFile(`${dir}/src`, `${dir}/direct`), false);
      assert.equal(await placeFile(`${dir}/src`, `${dir}/r`, "reflink"), "copy");
      assert.equal(await placeFile(`${dir}/src`, `${dir}/a`, "auto"), "copy");
      assert.equal(await Deno.readTextFile(`${dir}/r`), "no ffi");
    });
  });
});

Deno.test("libc loads through FFI on Linux and macOS when --allow-ffi is granted", () => {
  if (Deno.build.os !== "linux" && Deno.build.os !== "darwin") return;
  assert.equal(ffiAvailable(), true, ffiUnavailableReason());
});

Deno.test("without --allow-ffi placeFile() reflink copies instead of crashing or prompting", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/src`, "sandboxed");
    const script = `
      import { placeFile } from ${
      JSON.stringify(new URL("../../../native/place_file.ts", import.meta.url).href)
    };
      import { ffiAvailable } from ${
      JSON.stringify(new URL("../../../native/ffi.ts", import.meta.url).href)
    };
      const method = await placeFile(Deno.args[0], Deno.args[1], "reflink");
      console.log(JSON.stringify({ method, ffi: ffiAvailable() }));
    `;
    await Deno.writeTextFile(`${dir}/script.ts`, script);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-config",
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        `${dir}/script.ts`,
        `${dir}/src`,
        `${dir}/dst`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
      method: "copy",
      ffi: false,
    });
    assert.equal(await Deno.readTextFile(`${dir}/dst`), "sandboxed");
  });
});

const REFLINK_DIR = Deno.env.get("PVR_TEST_REFLINK_DIR");

Deno.test({
  name: "placeFile() reflink on a cloning file system (PVR_TEST_REFLINK_DIR) reports reflink",
  ignore: REFLINK_DIR === undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir({ dir: REFLINK_DIR, prefix: "pvr-reflink-" });
    try {
      const data = enc.encode("cow".repeat(50_000));
      await Deno.writeFile(`${dir}/src`, data);
      assert.equal(
        await placeFile(`${dir}/src`, `${dir}/dst`, "reflink", { mode: 0o600 }),
        "reflink",
      );
      assert.deepEqual(await Deno.readFile(`${dir}/dst`), data);
      assert.equal((await Deno.stat(`${dir}/dst`)).mode! & 0o777, 0o600);
      assert.equal(await placeFile(`${dir}/src`, `${dir}/auto`, "auto"), "reflink");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
