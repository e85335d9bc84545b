import { FsObjectStore } from "../../core/store/fs_store.ts";
import { makeTempDir } from "../support/temp.ts";
import { runObjectStoreContract } from "./object_store_contract.ts";

/** Damages an object file so that its size and its hash change (as root may, despite 0444). */
async function damage(path: string): Promise<void> {
  await Deno.chmod(path, 0o644);
  const bytes = await Deno.readFile(path);
  const damaged = new Uint8Array(bytes.length + 1);
  damaged.set(bytes);
  if (bytes.length > 0) damaged[0] ^= 0xff;
  await Deno.writeFile(path, damaged);
  await Deno.chmod(path, 0o444);
}

for (const fsync of [true, false]) {
  runObjectStoreContract(`FsObjectStore (fsync: ${fsync})`, async () => {
    const { dir, cleanup } = await makeTempDir("pvr-fs-store-");
    const store = await FsObjectStore.open(`${dir}/objects`, { create: true, fsync });
    return {
      store,
      cleanup,
      corrupt: (sha) => damage(store.pathOf(sha)),
      rawEntries: async () => {
        const names: string[] = [];
        for await (const e of Deno.readDir(store.location)) names.push(e.name);
        return names.sort();
      },
    };
  });
}
