/**
 * The stand-in Pantahub's data: accounts, devices, trails, steps, object records and
 * log entries in memory (optionally saved to one small JSON file), blobs as files in a
 * directory named by storage id (spec pantahub-api.md §4.4).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { canonicalJson } from "../../../core/model/canonical.ts";
import { parseJson } from "../../../core/model/json_parse.ts";
import { isJsonObject, type JsonObject } from "../../../core/model/json_value.ts";

/** A plain JSON map (device metas, step meta). */
export type PlainMap = Record<string, unknown>;

/** A user account (§1.3, §2.6). The password is kept only as a salted hash. */
export interface UserRecord {
  /** ObjectID hex (not serialised by the real server). */
  readonly id: string;
  /** `prn:::accounts:/<id>`. */
  readonly prn: string;
  nick: string;
  email: string;
  /** Hex salt and hex SHA-256 of salt + password. */
  passwordSalt: string;
  passwordHash: string;
  /** The e-mail verification challenge; empty once verified. */
  challenge: string;
  timeCreated: number;
  timeModified: number;
}

/** A device (§6.1). */
export interface DeviceRecord {
  readonly id: string;
  /** `prn:::devices:/<id>`. */
  readonly prn: string;
  nick: string;
  /** Owner PRN, `""` while unclaimed. */
  owner: string;
  secret: string;
  /** Claim challenge; `""` when none. */
  challenge: string;
  public: boolean;
  userMeta: PlainMap;
  deviceMeta: PlainMap;
  garbage: boolean;
  timeCreated: number;
  timeModified: number;
}

/** A trail (§3.1); its id is the device id. */
export interface TrailRecord {
  readonly id: string;
  owner: string;
  readonly device: string;
  lastInsync?: number;
  lastTouched: number;
  factoryState: JsonObject;
  usedObjects: string[];
}

/** A step's `progress` (§3.1), as plain JSON. */
export interface StepProgress {
  progress: number;
  status: string;
  "status-msg": string;
  log: string;
  data?: unknown;
  downloads: { total: PlainMap; objects: unknown[] | null };
}

/** A step (§3.1). */
export interface StepRecord {
  /** `<trail-id>-<rev>`. */
  readonly id: string;
  owner: string;
  readonly device: string;
  committer: string;
  readonly trailId: string;
  readonly rev: number;
  commitMsg: string;
  state: JsonObject;
  stateSha: string;
  progress: StepProgress;
  stepTime: number;
  /** `undefined` is never used: a new step's progress time is the Unix epoch (0). */
  progressTime: number;
  meta: PlainMap;
  usedObjects: string[];
  markPublicProcessed: boolean;
  garbage: boolean;
  timeCreated: number;
  timeModified: number;
}

/** An object record (§4.1), keyed by storage id. */
export interface ObjectRecord {
  /** The sha (client-visible id). */
  readonly id: string;
  /** hex(sha256(`<owner>/<sha>`)). */
  readonly storageId: string;
  readonly owner: string;
  objectname: string;
  readonly sha256sum: string;
  /** Decimal string. */
  size: string;
  sizeint: number;
  mimeType: string;
  /** For a link record: the storage id of the public object it points at. */
  linkedObject?: string;
  garbage: boolean;
  timeCreated: number;
  timeModified: number;
}

/** A log entry (§7.1). */
export interface LogRecord {
  readonly id: string;
  readonly dev: string;
  readonly own: string;
  /** Server receipt time, Unix milliseconds. */
  readonly timeCreated: number;
  readonly tsec?: number;
  readonly tnano?: number;
  readonly rev?: string;
  readonly plat?: string;
  readonly src?: string;
  readonly lvl?: string;
  readonly msg?: string;
}

/** The storage id of `sha` for `owner` (§1.3): hex(sha256(`<owner>/<lowercase sha>`)). */
export function storageIdFor(owner: string, sha: string): string {
  return createHash("sha256").update(`${owner}/${sha.toLowerCase()}`).digest("hex");
}

const HEX24 = /^[0-9a-f]{24}$/;

/** True for a 24-character lowercase hex Mongo ObjectID. */
export function isObjectIdHex(s: string): boolean {
  return HEX24.test(s);
}

/** The id part of a PRN: everything after the first `/` (§1.3). */
export function idFromPrn(prn: string): string {
  const i = prn.indexOf("/");
  return i < 0 ? "" : prn.slice(i + 1);
}

/** In-memory records plus the blob directory. */
export class HubStore {
  readonly users: Map<string, UserRecord> = new Map();
  readonly devices: Map<string, DeviceRecord> = new Map();
  readonly trails: Map<string, TrailRecord> = new Map();
  /** Keyed by step id `<trail>-<rev>`. */
  readonly steps: Map<string, StepRecord> = new Map();
  /** Keyed by storage id. */
  readonly objects: Map<string, ObjectRecord> = new Map();
  readonly logs: LogRecord[] = [];
  readonly blobDir: string;
  readonly #now: () => number;
  readonly #machine = randomBytes(5);
  #counter = randomBytes(3).readUIntBE(0, 3);

  constructor(blobDir: string, now: () => number) {
    this.blobDir = blobDir;
    this.#now = now;
  }

  /** A fresh Mongo-style ObjectID (seconds, 5 random bytes, counter). */
  newId(): string {
    const b = new Uint8Array(12);
    const view = new DataView(b.buffer);
    view.setUint32(0, Math.floor(this.#now() / 1000) >>> 0);
    b.set(this.#machine, 4);
    this.#counter = (this.#counter + 1) & 0xffffff;
    b[9] = this.#counter >> 16;
    b[10] = (this.#counter >> 8) & 0xff;
    b[11] = this.#counter & 0xff;
    return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  }

  /** A user by nick, e-mail or account PRN (the login forms of §2.2). */
  findUser(name: string): UserRecord | undefined {
    for (const u of this.users.values()) {
      if (u.nick === name || u.email === name || u.prn === name) return u;
    }
    return undefined;
  }

  /** A user by account PRN. */
  userByPrn(prn: string): UserRecord | undefined {
    for (const u of this.users.values()) if (u.prn === prn) return u;
    return undefined;
  }

  /** The device with `nick` owned by `owner`. */
  deviceByNick(owner: string, nick: string): DeviceRecord | undefined {
    for (const d of this.devices.values()) {
      if (d.owner === owner && d.nick === nick && !d.garbage) return d;
    }
    return undefined;
  }

  /** A trail's steps in rev order. */
  stepsOf(trailId: string): StepRecord[] {
    return [...this.steps.values()].filter((s) => s.trailId === trailId).sort((a, b) =>
      a.rev - b.rev
    );
  }

  /** The object record of `sha` for `owner`. */
  objectFor(owner: string, sha: string): ObjectRecord | undefined {
    return this.objects.get(storageIdFor(owner, sha));
  }

  /** Path of a blob file. */
  blobPath(storageId: string): string {
    return `${this.blobDir}/${storageId}`;
  }

  /** Whether the blob of a storage id is on disk ("object exists", §4.4). */
  async blobExists(storageId: string): Promise<boolean> {
    try {
      return (await Deno.stat(this.blobPath(storageId))).isFile;
    } catch {
      return false;
    }
  }

  /** Serialises every record to plain JSON (states as canonical text). */
  snapshot(): unknown {
    return {
      users: [...this.users.values()],
      devices: [...this.devices.values()],
      trails: [...this.trails.values()].map((t) => ({
        ...t,
        factoryState: canonicalJson(t.factoryState),
      })),
      steps: [...this.steps.values()].map((s) => ({ ...s, state: canonicalJson(s.state) })),
      objects: [...this.objects.values()],
      logs: this.logs,
    };
  }

  /** Loads records written by {@link snapshot}, replacing nothing already present. */
  restore(data: unknown): void {
    const d = data as Record<string, unknown[]>;
    const state = (text: unknown): JsonObject => {
      const v = parseJson(String(text), "hub data");
      if (!isJsonObject(v)) throw new Error("hub data: a state is not an object");
      return v;
    };
    for (const u of (d.users ?? []) as UserRecord[]) this.users.set(u.id, u);
    for (const x of (d.devices ?? []) as DeviceRecord[]) this.devices.set(x.id, x);
    for (const t of (d.trails ?? []) as Array<TrailRecord & { factoryState: string }>) {
      this.trails.set(t.id, { ...t, factoryState: state(t.factoryState) });
    }
    for (const s of (d.steps ?? []) as Array<StepRecord & { state: string }>) {
      this.steps.set(s.id, { ...s, state: state(s.state) });
    }
    for (const o of (d.objects ?? []) as ObjectRecord[]) this.objects.set(o.storageId, o);
    for (const l of (d.logs ?? []) as LogRecord[]) this.logs.push(l);
  }
}

/** Hashes a password with a fresh salt. */
export function hashPassword(password: string): { passwordSalt: string; passwordHash: string } {
  const passwordSalt = randomBytes(16).toString("hex");
  return { passwordSalt, passwordHash: saltedHash(passwordSalt, password) };
}

/** Whether `password` matches a stored salted hash (constant time). */
export function checkPassword(
  rec: { passwordSalt: string; passwordHash: string },
  password: string,
): boolean {
  const a = Buffer.from(saltedHash(rec.passwordSalt, password), "hex");
  const b = Buffer.from(rec.passwordHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

function saltedHash(salt: string, password: string): string {
  return createHash("sha256").update(salt).update("\0").update(password).digest("hex");
}

/** Random lowercase alphanumerics (device secrets, §6.2), or from another alphabet. */
export function randomAlnum(n: number, alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"): string {
  const bytes = randomBytes(n);
  let out = "";
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

const ADJECTIVES = [
  "proper",
  "brave",
  "calm",
  "eager",
  "fancy",
  "gentle",
  "happy",
  "jolly",
  "kind",
  "lively",
  "merry",
  "nice",
  "polite",
  "quick",
  "sunny",
  "witty",
];
const ADVERBS = ["bravely", "calmly", "gladly", "kindly", "quietly", "rarely", "simply", "truly"];
const NOUNS = [
  "sponge",
  "cat",
  "otter",
  "falcon",
  "badger",
  "lemur",
  "panda",
  "heron",
  "koala",
  "gecko",
  "bison",
  "moose",
  "raven",
  "tapir",
  "walrus",
  "zebra",
];

/** A 3-word petname joined by `sep` (`proper_sponge_cat`, `calmly-brave-otter`). */
export function petname(sep: string): string {
  const [a, b, c] = randomBytes(3);
  return [ADVERBS[a % ADVERBS.length], ADJECTIVES[b % ADJECTIVES.length], NOUNS[c % NOUNS.length]]
    .join(sep);
}

/** One random word (for `__unregistered__<word>_<10 chars>` nicks). */
export function randomWord(): string {
  return NOUNS[randomBytes(1)[0] % NOUNS.length];
}
