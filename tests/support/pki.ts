/**
 * Test keys and certificates made with the `openssl` tool: RSA and EC (P-256, P-384,
 * P-521) key pairs, and a CA → intermediate → leaf chain with a code-signing leaf and
 * a leaf without code signing.
 */

/** Runs openssl in `cwd`; throws with its stderr on failure. */
export async function openssl(
  args: string[],
  cwd: string,
  stdin?: Uint8Array,
): Promise<Uint8Array> {
  const child = new Deno.Command("openssl", {
    args,
    cwd,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await child.output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return out.stdout;
}

/** Key kinds the tests sign with. */
export const KEY_KINDS = ["rsa", "p256", "p384", "p521"] as const;
export type KeyKind = typeof KEY_KINDS[number];

/** The JWS algorithm expected for each kind. */
export const KIND_ALG: Record<KeyKind, string> = {
  rsa: "RS256",
  p256: "ES256",
  p384: "ES384",
  p521: "ES512",
};

/**
 * Writes `<kind>.pem` (private: RSA as PKCS#1, P-256 and P-521 as SEC 1, P-384 as
 * PKCS#8) and `<kind>.pub.pem` (PKIX) for every kind, and `rsa.pub1.pem` (PKCS#1
 * `RSA PUBLIC KEY`) into `dir`.
 */
export async function makeKeys(dir: string): Promise<void> {
  await openssl(["genrsa", "-traditional", "-out", "rsa.pem", "2048"], dir);
  await openssl(["rsa", "-in", "rsa.pem", "-pubout", "-out", "rsa.pub.pem"], dir);
  await openssl(["rsa", "-in", "rsa.pem", "-RSAPublicKey_out", "-out", "rsa.pub1.pem"], dir);
  for (
    const [kind, curve] of [["p256", "prime256v1"], ["p384", "secp384r1"], ["p521", "secp521r1"]]
  ) {
    await openssl(
      ["ecparam", "-name", curve, "-genkey", "-noout", "-out", `${kind}.sec1.pem`],
      dir,
    );
    if (kind === "p384") {
      await openssl([
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        `${kind}.sec1.pem`,
        "-out",
        `${kind}.pem`,
      ], dir);
    } else {
      await Deno.rename(`${dir}/${kind}.sec1.pem`, `${dir}/${kind}.pem`);
    }
    await openssl(["ec", "-in", `${kind}.pem`, "-pubout", "-out", `${kind}.pub.pem`], dir);
  }
}

async function ext(dir: string, name: string, text: string): Promise<string> {
  await Deno.writeTextFile(`${dir}/${name}`, text);
  return name;
}

/**
 * Writes two self-signed roots into `dir`, `ca.key`/`ca.pem` and `other-ca.key`/
 * `other-ca.pem`, with `newKey` the `openssl req` key arguments.
 */
async function makeRoots(dir: string, newKey: string[]): Promise<void> {
  for (const root of ["ca", "other-ca"]) {
    await openssl([
      "req",
      "-x509",
      ...newKey,
      "-keyout",
      `${root}.key`,
      "-out",
      `${root}.pem`,
      "-days",
      "3650",
      "-subj",
      `/CN=${root} root`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ], dir);
  }
}

/**
 * Writes a chain into `dir`: `ca.pem` (root, RSA), `int.pem` (intermediate CA, P-384),
 * `leaf.key`/`leaf.pem` (P-256, code signing), `bad.key`/`bad.pem` (P-256, server auth
 * only), `x5c.pem` (leaf + intermediate), `x5c-bad.pem` (bad leaf + intermediate),
 * and `other-ca.pem` (an unrelated root).
 */
export async function makeChain(dir: string): Promise<void> {
  const caExt = await ext(
    dir,
    "ca.ext",
    "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
  );
  const leafExt = await ext(
    dir,
    "leaf.ext",
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n",
  );
  const badExt = await ext(
    dir,
    "bad.ext",
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
  );
  await makeRoots(dir, ["-newkey", "rsa:2048", "-nodes"]);
  const issue = async (name: string, key: string, subj: string, by: string, extFile: string) => {
    await openssl(["req", "-new", "-key", key, "-out", `${name}.csr`, "-subj", subj], dir);
    await openssl([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${by}.pem`,
      "-CAkey",
      `${by}.key`,
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "3650",
      "-extfile",
      extFile,
    ], dir);
  };
  await openssl(["ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", "int.key"], dir);
  await issue("int", "int.key", "/CN=test intermediate", "ca", caExt);
  for (const [name, e] of [["leaf", leafExt], ["bad", badExt]]) {
    await openssl(
      ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`],
      dir,
    );
    await issue(name, `${name}.key`, `/CN=test ${name}`, "int", e);
  }
  const text = (f: string) => Deno.readTextFile(`${dir}/${f}`);
  await Deno.writeTextFile(`${dir}/x5c.pem`, (await text("leaf.pem")) + (await text("int.pem")));
  await Deno.writeTextFile(`${dir}/x5c-bad.pem`, (await text("bad.pem")) + (await text("int.pem")));
}

/**
 * A small signing PKI, all P-256 (quick to generate): `ca.pem` (root), `leaf.key` +
 * `leaf.pem` (issued by it, code signing), `x5c.pem` (the leaf's chain) and
 * `other-ca.pem` (an unrelated root).
 */
export async function makeSigningChain(dir: string): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await makeRoots(dir, ec);
  await Deno.writeTextFile(
    `${dir}/leaf.ext`,
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n",
  );
  await openssl([
    "req",
    "-new",
    ...ec,
    "-keyout",
    "leaf.key",
    "-out",
    "leaf.csr",
    "-subj",
    "/CN=leaf",
  ], dir);
  await openssl([
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "leaf.pem",
    "-days",
    "3650",
    "-extfile",
    "leaf.ext",
  ], dir);
  await Deno.copyFile(`${dir}/leaf.pem`, `${dir}/x5c.pem`);
}
