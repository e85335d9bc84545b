import { MemoryObjectStore } from "../../core/store/memory_store.ts";
import { runObjectStoreContract } from "./object_store_contract.ts";

runObjectStoreContract("MemoryObjectStore", () => {
  const store = new MemoryObjectStore();
  return Promise.resolve({
    store,
    cleanup: () => Promise.resolve(),
    corrupt: (sha) => Promise.resolve(store.corruptForTest(sha)),
  });
});
