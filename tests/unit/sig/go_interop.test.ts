/**
 * Compatibility with signatures made by the Go pvr: the shared pantavisor fixtures
 * carry real pvs@2 signatures. For each one the protected header that pvr would write
 * for the same algorithm, key, match rule and chain must be byte-identical to the Go
 * one, and the signature must verify over the payload pvr computes from the state.
 */

import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { parseJson } from "../../../core/model/json_parse.ts";
import { validateState } from "../../../core/model/state.ts";
import { canonicalJson } from "../../../core/model/canonical.ts";
import { isJsonObject } from "../../../core/model/json_value.ts";
import { parsePvs, protectedHeaderJson, signingInputOf } from "../../../core/sig/jws.ts";
import { decodeBase64Url, jwkJsonOf, verifyJws } from "../../../core/sig/keys.ts";
import { payloadBytes } from "../../../core/sig/payload.ts";
import { PANTAVISOR_FIXTURES } from "../../support/temp.ts";

interface GoSig {
  fixture: string;
  key: string;
  headerSame: boolean;
  verifies: boolean;
}

async function goSignatures(): Promise<GoSig[]> {
  const out: GoSig[] = [];
  const names: string[] = [];
  for await (const e of Deno.readDir(PANTAVISOR_FIXTURES)) {
    if (e.name.endsWith(".json")) names.push(e.name);
  }
  for (const name of names.sort()) {
    const state = validateState(
      parseJson(await Deno.readFile(PANTAVISOR_FIXTURES + name), name),
      name,
    );
    for (const [k, v] of state) {
      if (!isJsonObject(v) || v.get("#spec") !== "pvs@2") continue;
      const p = parsePvs(new TextEncoder().encode(canonicalJson(v)), k);
      assert.ok(p.x5c && p.x5c.length > 0, `${name} ${k}: the Go signatures carry x5c`);
      const leaf = new X509Certificate(p.x5c[0]);
      const ours = protectedHeaderJson(p.alg, jwkJsonOf(leaf.publicKey), p.match, p.x5c);
      const theirs = new TextDecoder().decode(decodeBase64Url(p.protectedB64));
      out.push({
        fixture: name,
        key: k,
        headerSame: ours === theirs,
        verifies: verifyJws(
          p.alg,
          leaf.publicKey,
          signingInputOf(p, payloadBytes(state, p.match)),
          p.signature,
        ),
      });
    }
  }
  return out;
}

Deno.test("Go pvr signatures: our protected header is byte-identical to go-jose's", async () => {
  const sigs = await goSignatures();
  assert.equal(sigs.length, 11);
  for (const s of sigs) assert.ok(s.headerSame, `${s.fixture} ${s.key}`);
});

Deno.test("Go pvr signatures verify over the payload pvr computes", async () => {
  const sigs = await goSignatures();
  const failing = sigs.filter((s) => !s.verifies).map((s) => `${s.fixture} ${s.key}`);
  // initial_state.json's _hostconfig signature protects `_hostconfig/**`, and the
  // fixture holds no such key any more: its payload changed since it was signed.
  assert.deepEqual(failing, ["initial_state.json _sigs/_hostconfig.json"]);
  assert.equal(sigs.filter((s) => s.verifies).length, 10);
});

Deno.test("a Go raw-mode signature shows the self-exclusion bug we fix", async () => {
  const state = validateState(
    parseJson(await Deno.readFile(PANTAVISOR_FIXTURES + "initial_state.json")),
    "initial_state.json",
  );
  const v = state.get("_sigs/_hostconfig.json");
  assert.ok(isJsonObject(v));
  const p = parsePvs(new TextEncoder().encode(canonicalJson(v)), "_hostconfig");
  assert.deepEqual(p.match, { include: ["_hostconfig/**"], exclude: ["src.json", "_sigs/.json"] });
});
