/** `renameNoReplace()` (renameat2 with RENAME_NOREPLACE through FFI, Linux). */

import assert from "node:assert/strict";
import { ffiAvailable, renameNoReplace } from "../../../native/ffi.ts";
import { withTempDir } from "../../support/temp.ts";

const LINUX_FFI = Deno.build.os === "linux" && ffiAvailable();

Deno.test({
  name: "renameNoReplace() renames to a free name, and refuses an existing one without touching it",
  ignore: !LINUX_FFI,
  async fn() {
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/a`, "a");
      await Deno.writeTextFile(`${dir}/b`, "b");
      const r = renameNoReplace(`${dir}/a`, `${dir}/c`);
      if (r === null) return; // a file system without the flag: callers fall back
      assert.equal(r, true);
      assert.equal(await Deno.readTextFile(`${dir}/c`), "a");
      await assert.rejects(Deno.lstat(`${dir}/a`), Deno.errors.NotFound);
      assert.equal(renameNoReplace(`${dir}/b`, `${dir}/c`), false);
      assert.equal(await Deno.readTextFile(`${dir}/b`), "b", "the source stays");
      assert.equal(await Deno.readTextFile(`${dir}/c`), "a", "the target is not replaced");
    });
  },
});

Deno.test("renameNoReplace() is not available without FFI (PVR_NO_FFI=1)", async () => {
  const code = `import { renameNoReplace } from ${
    JSON.stringify(
      new URL("../../../native/ffi.ts", import.meta.url).href,
    )
  };
const d = Deno.makeTempDirSync();
Deno.writeTextFileSync(d + "/a", "a");
console.log(renameNoReplace(d + "/a", d + "/b"));
Deno.removeSync(d, { recursive: true });`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { PVR_NO_FFI: "1" },
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "null");
});
