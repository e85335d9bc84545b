/**
 * `GET /trails/summary` and `GET /trails/<id>/summary` (spec pantahub-api.md §3.12),
 * synthesised from devices and steps: the real data comes from an external pipeline.
 *
 * open question §12.2, our approximation:
 * * `revision` is the highest rev; `progress-revision` is the highest rev whose status
 *   is not `NEW` (the last step the device picked up), else rev 0's;
 * * `status`, `status-msg`, `progress`, `state-sha`, `progress-time` come from that
 *   progress step; `step-time` from the latest step;
 * * `timestamp` ("last seen") is the latest of the device's modification time, the
 *   progress time and the trail's last touch;
 * * `real-ip` is the string device-meta `real-ip` if any; the `fleet-*` fields are the
 *   string user-meta values of the same names, else `""`;
 * * a device without a trail is listed with revision 0 and empty status;
 * * sorted by `timestamp` ascending (the real default `-timestamp` loses its `-`).
 *
 * @module
 */

import { appError, goTime, jsonResponse } from "./http.ts";
import { type Ctx, type HubCore, requirePrincipal } from "./router.ts";
import type { DeviceRecord } from "./store.ts";

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** The TrailSummary of one device plus its sort key. */
export function deviceSummary(core: HubCore, d: DeviceRecord): { doc: object; ts: number } {
  // open question §12.2: field sources as listed in the module doc above.
  const trail = core.store.trails.get(d.id);
  const steps = core.store.stepsOf(d.id).filter((s) => !s.garbage);
  const latest = steps.at(-1);
  const prog = steps.filter((s) => s.progress.status !== "NEW").at(-1) ?? steps[0];
  const ts = Math.max(d.timeModified, trail?.lastTouched ?? 0, prog?.progressTime ?? 0);
  const doc = {
    deviceid: d.id,
    device: d.prn,
    "device-nick": d.nick,
    revision: latest?.rev ?? 0,
    "progress-revision": prog?.rev ?? 0,
    progress: prog?.progress.progress ?? 0,
    public: d.public,
    "state-sha": prog?.stateSha ?? "",
    status: prog?.progress.status ?? "",
    "status-msg": prog?.progress["status-msg"] ?? "",
    timestamp: goTime(ts),
    "step-time": goTime(latest?.stepTime),
    "progress-time": goTime(prog?.progressTime),
    "trail-touched-time": goTime(trail?.lastTouched),
    "real-ip": str(d.deviceMeta["real-ip"]),
    "fleet-group": str(d.userMeta["fleet-group"]),
    "fleet-model": str(d.userMeta["fleet-model"]),
    "fleet-location": str(d.userMeta["fleet-location"]),
    "fleet-rev": str(d.userMeta["fleet-rev"]),
  };
  return { doc, ts };
}

/** `GET /trails/summary`: the caller's devices (USER or SESSION only). */
export function summaryHandler(c: Ctx): Response {
  const p = requirePrincipal(c);
  if (p.type !== "USER" && p.type !== "SESSION") throw appError(403, "summary is for users");
  const rows = [...c.core.store.devices.values()].filter((d) => d.owner === p.prn && !d.garbage)
    .map((d) => deviceSummary(c.core, d))
    .sort((a, b) =>
      a.ts - b.ts || ((a.doc as { deviceid: string }).deviceid <
          (b.doc as { deviceid: string }).deviceid
        ? -1
        : 1)
    );
  return jsonResponse(200, rows.map((r) => r.doc), "canonical");
}

/** `GET /trails/<id>/summary`: one summary, the owner's or a public device's. */
export function trailSummaryHandler(c: Ctx): Response {
  const p = requirePrincipal(c);
  const d = c.core.store.devices.get(c.params.id);
  if (d === undefined || !(d.public || d.owner === p.prn || d.prn === p.prn)) {
    throw appError(403, "No access to summary");
  }
  return jsonResponse(200, deviceSummary(c.core, d).doc, "canonical");
}
