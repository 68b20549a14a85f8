// Maestro dashboard: one timeline drives every panel (replay of a trial folder, or the live trial over a websocket).
"use strict";

const MODULE_COLORS = { perception: "#4c9be8", grasp: "#f58518", control: "#54c59f", policy: "#b279a2",
  harness: "#e6c14b", agent: "#9d9da8", other: "#7f8c8d" };
const LIVE_ID = "__live__";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const fmtT = (t) => `${Math.abs(t ?? 0) < 0.05 ? "0.0" : (t ?? 0).toFixed(1)} s`;
const colorOf = (m) => MODULE_COLORS[m] || MODULE_COLORS.other;

const S = {
  info: { live: false }, trial: null, trialId: "", T: 0, playing: false, speed: 1, follow: true, camera: null,
  substepView: null, ws: null, liveJoints: { names: [], t: [], position: [] }, liveFrameN: {}, lastImgSrc: "",
  renderedT: null, analyticsLoaded: false,
};

// ------------------------------------------------------------------ data
function indexTrial(tr) {
  tr.events = (tr.events || []).slice().sort((a, b) => a.rel - b.rel || a.seq - b.seq);
  tr.calls = tr.events.filter((e) => e.type === "tool_call").sort((a, b) => a.rel_start - b.rel_start || a.seq - b.seq);
  tr.substeps = {};
  for (const e of tr.events) {
    if (e.substep == null) continue;
    const s = (tr.substeps[e.substep] ||= { n: e.substep, start: e.rel, end: e.rel, code: "", reasoning: "", subtasks: null });
    s.start = Math.min(s.start, e.rel);
    s.end = Math.max(s.end, e.rel_end ?? e.rel);
    if (e.type === "substep_code") { s.code = e.code || ""; s.reasoning = e.reasoning || ""; s.subtasks = e.subtasks || null; }
  }
  for (const k of Object.keys(tr.substeps)) {  // substep 0 = the observation before planning: not a code substep
    if (!tr.events.some((e) => e.substep === Number(k) && (e.type === "substep_start" || e.type === "substep_code"))) delete tr.substeps[k];
  }
  tr.videosRel = {};
  for (const [cam, v] of Object.entries(tr.videos || {})) tr.videosRel[cam] = (v.stamps || []).map((s) => s - tr.t0);
  const j = tr.joints || null;
  tr.jointsRel = j && j.t ? j.t.map((s) => s - tr.t0) : [];
  tr.duration = Math.max(tr.duration || 0, ...tr.events.map((e) => e.rel_end ?? e.rel), 0.001);
  return tr;
}

function lastIndexLE(arr, T, key = (x) => x) {  // binary search: last i with key(arr[i]) <= T (+1 ms: float stamps), else -1
  let lo = 0, hi = arr.length - 1, ans = -1;
  while (lo <= hi) { const mid = (lo + hi) >> 1; if (key(arr[mid]) <= T + 1e-3) { ans = mid; lo = mid + 1; } else hi = mid - 1; }
  return ans;
}

function stateAt(T) {
  const tr = S.trial;
  const st = { T, substep: null, subtasks: [], subtaskIdx: -1, planSubtask: null, line: null, call: null, activeCall: null, calls: [],
    stdout: "", verdicts: [], model: null, obs: null, ended: null, unknown: [] };
  if (!tr) return st;
  for (const e of tr.events) {
    if (e.rel > T + 1e-9) break;
    switch (e.type) {
      case "substep_start": case "substep_code":
        st.substep = e.substep; if (e.subtasks) st.subtasks = e.subtasks;
        if (e.current_subtask != null) st.planSubtask = e.current_subtask;
        break;
      case "exec_result": if (e.error) st.stdout += `[substep ${e.substep} ended with an error] ${e.error}\n`; break;
      case "warning": st.stdout += `[warning] ${e.note || e.message || ""}\n`; break;
      case "evaluation": st.stdout += `[evaluation] progress ${e.progress ?? "?"}${e.error_msg ? " \u2013 " + e.error_msg : ""}\n`; break;
      case "reflection": st.stdout += `[reflection] ${e.text || ""}\n`; break;
      case "tools": case "sandbox": break;
      case "line": if (e.substep === st.substep || st.substep == null) st.line = e.line; break;
      case "stdout": st.stdout += e.text || ""; break;
      case "verdict": st.verdicts.push(e); break;
      case "model_request": st.model = { req: e, resp: null }; break;
      case "model_response": st.model = { req: st.model ? st.model.req : null, resp: e }; break;
      case "observation": st.obs = e; break;
      case "trial_end": st.ended = e; break;
      case "trial_start": case "tool_call": break;
      default: st.unknown.push(e);
    }
  }
  for (const c of tr.calls) {
    if (c.rel_start > T + 1e-9) break;
    st.calls.push(c);
    st.call = c;
    if (c.rel_end >= T) st.activeCall = c;
  }
  const cur = st.activeCall || st.call;
  if (st.planSubtask != null) st.subtaskIdx = Number(st.planSubtask);
  if (cur) {
    if (st.activeCall && st.activeCall.line != null && st.activeCall.substep === st.substep) st.line = st.activeCall.line;
    const i = subtaskIndex(cur, st.subtasks);
    if (i >= 0 && cur.substep === st.substep) st.subtaskIdx = i;
  }
  if (st.ended && st.ended.success) st.subtaskIdx = st.subtasks.length;
  return st;
}

function subtaskIndex(call, subtasks) {
  const s = call.subtask;
  if (s == null && call.subtask_name == null) return -1;
  if (typeof s === "number") return s;
  if (s != null && /^\d+$/.test(String(s))) return Number(s);
  const name = call.subtask_name || s;
  const i = subtasks.indexOf(name);
  return i;
}

// ------------------------------------------------------------------ rendering
function chip(k, v) { return v == null || v === "" ? "" : `<span class="chip">${esc(k)} <b>${esc(v)}</b></span>`; }

function renderHeader() {
  const tr = S.trial, m = (tr && tr.meta) || {};
  $("mode").textContent = S.trialId === LIVE_ID ? "LIVE" : "REPLAY";
  $("mode").classList.toggle("live", S.trialId === LIVE_ID);
  $("meta").innerHTML = chip("task", m.task) + chip("model", m.model) + chip("robot", m.embodiment) +
    chip("seed", m.seed) + chip("scene", m.scene) + chip("perturbation", m.perturbation);
  $("instruction").textContent = m.instruction || (tr ? "(no instruction recorded)" : "No trial loaded");
  const issues = (tr && tr.issues) || [];
  $("issue-count").textContent = issues.length;
  const banner = $("issue-banner");
  banner.classList.toggle("hidden", issues.length === 0);
  banner.textContent = issues.length ? `\u26A0 ${issues.length} problem${issues.length > 1 ? "s" : ""} in this trial's files ` +
    `(${[...new Set(issues.map((i) => i.kind))].join(", ")}): showing what can be shown. Click for details.` : "";
  $("issues").innerHTML = issues.map((i) => `<li><span class="kind">${esc(i.kind)}</span>${i.line ? `line ${i.line}: ` : ""}${esc(i.message)}</li>`).join("") || "<li>none</li>";
  $("follow").parentElement.classList.toggle("hidden", S.trialId !== LIVE_ID);
  $("run-btn").disabled = !S.info.live; $("cancel-btn").disabled = !S.info.live;
  $("run-instruction").disabled = !S.info.live;
  if (!S.info.live) $("run-instruction").placeholder = "Live mode is off: start `maestro dashboard` with ROS to send instructions";
}

function renderOutcome(st) {
  const end = st.ended;
  let html = "";
  if (end) {
    const p = end.progress != null && end.progress >= 0 ? end.progress : null;  // -1 = not evaluated
    const cls = end.success ? "ok" : "bad";
    html = `<span class="verdict ${cls}" data-testid="verdict">${esc(end.verdict || (end.success ? "SUCCESS" : "FAILED"))}</span>` +
      (p != null ? `<div class="progress" title="task progress"><div style="width:${Math.max(0, Math.min(100, p))}%"></div></div><span>${p.toFixed(0)}%</span>` : "");
  } else if (S.trial && S.trial.events.length) {
    html = `<span class="verdict run" data-testid="verdict">RUNNING</span>`;
  }
  $("outcome").innerHTML = html;
}

function renderSubtasks(st) {
  $("substep-label").textContent = st.substep != null ? `substep ${st.substep}` : "";
  $("subtasks").innerHTML = st.subtasks.map((s, i) => {
    const cls = i < st.subtaskIdx ? "done" : i === st.subtaskIdx ? "active" : "";
    return `<li class="${cls}" data-index="${i}">${esc(s)}</li>`;
  }).join("") || `<li>(no plan yet)</li>`;
  const m = st.model;
  let html = "";
  if (m && m.req && !m.resp) html = `<div class="thinking">thinking\u2026 (${esc(m.req.kind || "request")}, substep ${esc(m.req.substep)})</div>`;
  else if (m && m.resp) {
    const r = m.resp;
    html = `<div>last answer: ${esc(r.kind || "")} for substep ${esc(r.substep)}</div>` +
      `<div>latency <b>${r.latency != null ? r.latency.toFixed(1) + " s" : "?"}</b>` +
      (r.input_tokens != null ? ` \u00B7 tokens in/out <b>${esc(r.input_tokens)}</b>/<b>${esc(r.output_tokens)}</b>` : "") + `</div>`;
  }
  const calls = S.trial ? S.trial.events.filter((e) => e.type === "model_response" && e.rel <= st.T) : [];
  if (calls.length) html += `<div>${calls.length} model call${calls.length > 1 ? "s" : ""}, ${calls.reduce((a, e) => a + (e.latency || 0), 0).toFixed(1)} s total</div>`;
  $("model").innerHTML = html || "<div>no model call yet</div>";
}

function renderReasoning(st) {
  const tr = S.trial;
  const n = S.substepView ?? st.substep;
  const sub = tr && n != null ? tr.substeps[n] : null;
  $("reasoning-label").textContent = n != null ? `substep ${n}` : "";
  $("reasoning").textContent = sub && sub.reasoning ? sub.reasoning : "(no reasoning recorded for this moment)";
  $("verdicts").innerHTML = st.verdicts.slice().reverse().map((v) => {
    const kind = /COMPLETE|SUCCESS/i.test(v.verdict) ? "complete" : /FAIL|ABORT/i.test(v.verdict) ? "fail" : "continue";
    return `<div class="v ${kind}"><b>${esc(v.verdict)}</b> \u00B7 substep ${esc(v.substep)} \u00B7 ${fmtT(v.rel)}<div>${esc(v.reasoning || "")}</div></div>`;
  }).join("") || "<div class='model'>none yet</div>";
}

const KW = /\b(def|return|if|else|elif|for|while|in|not|and|or|import|from|as|with|try|except|finally|raise|True|False|None|lambda|break|continue|pass|print)\b/;
function highlight(line) {
  const re = /(#.*$)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)(?=\s*\()|([A-Za-z_][A-Za-z0-9_]*)/g;
  let out = "", last = 0, m;
  while ((m = re.exec(line))) {
    out += esc(line.slice(last, m.index));
    if (m[1]) out += `<span class="com">${esc(m[1])}</span>`;
    else if (m[2]) out += `<span class="str">${esc(m[2])}</span>`;
    else if (m[3]) out += `<span class="num">${esc(m[3])}</span>`;
    else if (m[4]) out += KW.test(m[4]) && m[4] !== "print" ? `<span class="kw">${esc(m[4])}</span>` : `<span class="fn">${esc(m[4])}</span>`;
    else out += KW.test(m[5]) ? `<span class="kw">${esc(m[5])}</span>` : esc(m[5]);
    last = re.lastIndex;
  }
  return out + esc(line.slice(last));
}

function renderCode(st) {
  const tr = S.trial;
  const subs = tr ? Object.keys(tr.substeps).map(Number).sort((a, b) => a - b) : [];
  const n = S.substepView ?? st.substep;
  $("substep-tabs").innerHTML = subs.map((k) => `<button class="${k === n ? "on" : ""}" data-substep="${k}">${k}</button>`).join("");
  const sub = tr && n != null ? tr.substeps[n] : null;
  const following = S.substepView == null || S.substepView === st.substep;
  const execLine = following ? st.line : null;
  $("code-label").textContent = sub ? `substep ${n}` + (execLine ? ` \u00B7 line ${execLine}` : "") : "";
  const callLines = new Set(), errLines = new Set();
  if (tr) for (const c of tr.calls) if (c.substep === n && c.rel_start <= st.T) (c.error_code ? errLines : callLines).add(c.line);
  const code = $("code");
  if (!sub || !sub.code) { code.innerHTML = `<span class="ln"><span class="no"></span>(no code for this moment)</span>`; code.dataset.line = ""; return; }
  code.innerHTML = sub.code.split("\n").map((l, i) => {
    const no = i + 1;
    const cls = ["ln", no === execLine ? "exec" : "", callLines.has(no) ? "call" : "", errLines.has(no) ? "err" : ""].join(" ");
    return `<span class="${cls}" data-line="${no}"><span class="no">${no}</span>${highlight(l) || " "}</span>`;
  }).join("");
  code.dataset.line = execLine ?? "";
  const ex = code.querySelector(".exec");
  if (ex) { const top = ex.offsetTop - code.clientHeight / 2; if (Math.abs(code.scrollTop - top) > code.clientHeight / 3) code.scrollTop = Math.max(0, top); }
}

function renderStdout(st) {
  const el = $("stdout");
  let text = st.stdout;
  for (const u of st.unknown) text += `[unknown event '${u.type}'] ${JSON.stringify(u).slice(0, 200)}\n`;
  el.textContent = text || "(nothing printed yet)";
  el.scrollTop = el.scrollHeight;
}

function fileUrl(path) { return `/api/trial/${encodeURIComponent(S.trialId)}/file/${path.split("/").map(encodeURIComponent).join("/")}`; }

function cameras() {
  if (!S.trial) return [];
  if (S.trialId === LIVE_ID) return Object.keys(S.liveFrameN).sort();
  return Object.keys(S.trial.videos || {}).sort();
}

function renderCamera(st) {
  const cams = cameras();
  if (!S.camera || !cams.includes(S.camera)) S.camera = cams[0] || null;
  $("camera-tabs").innerHTML = cams.length > 1 ? cams.map((c) => `<button class="${c === S.camera ? "on" : ""}" data-camera="${esc(c)}">${esc(c)}</button>`).join("") : "";
  const img = $("camera-img");
  let src = "", label = "";
  if (S.camera && S.trialId === LIVE_ID) {
    const liveNow = S.follow && !S.trial.ended;
    src = liveNow ? `/api/live/frame/${encodeURIComponent(S.camera)}?n=${S.liveFrameN[S.camera]}` :
      `/api/live/frame/${encodeURIComponent(S.camera)}?t=${(S.trial.t0 + st.T).toFixed(2)}`;
    label = `${S.camera} \u00B7 live`;
  } else if (S.camera) {
    const stamps = S.trial.videosRel[S.camera] || [];
    const i = Math.max(0, lastIndexLE(stamps, st.T));
    src = `/api/trial/${encodeURIComponent(S.trialId)}/frame/${encodeURIComponent(S.camera)}/${i}`;
    label = `${S.camera} \u00B7 frame ${i + 1}/${stamps.length}` + (stamps.length ? ` \u00B7 ${fmtT(stamps[i])}` : "");
    img.dataset.frame = i;
  } else if (st.obs && st.obs.images.length) {  // no video: the agent's latest observation
    const f = st.obs.images[0];
    src = (st.obs.missing_images || []).includes(f) ? "" : fileUrl(f);
    label = `agent observation \u00B7 ${fmtT(st.obs.rel)}`;
  }
  if (src !== S.lastImgSrc) { S.lastImgSrc = src; if (src) img.src = src; else img.removeAttribute("src"); }
  img.classList.toggle("hidden", !src);
  $("camera-empty").classList.toggle("hidden", !!src);
  $("camera-label").textContent = label;
  const obs = st.obs;
  $("obs-strip").innerHTML = obs ? obs.images.map((f) => (obs.missing_images || []).includes(f) ?
    `<figure><div class="missing">\u26A0 ${esc(f.split("/").pop())}</div><figcaption>missing</figcaption></figure>` :
    `<figure><img src="${fileUrl(f)}" title="${esc(f)}"><figcaption>agent view \u00B7 ${fmtT(obs.rel)}</figcaption></figure>`).join("") : "";
}

function fmtArgs(a) {
  if (a == null) return "";
  if (typeof a === "string") return a;
  return Object.entries(a).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
}

function renderTools(st) {
  const tr = S.trial;
  const calls = tr ? tr.calls : [];
  $("tools-label").textContent = `${st.calls.length} / ${calls.length}`;
  const cur = st.activeCall || st.call;
  $("tools").innerHTML = calls.map((c, i) => {
    const future = c.rel_start > st.T + 1e-9;
    const running = !future && c.rel_end > st.T;
    const cls = [future ? "future" : "", c === cur ? "current" : "", c.error_code && !future && !running ? "error" : "", running ? "running" : ""].join(" ");
    const d = running ? "running\u2026" : `${(c.rel_end - c.rel_start).toFixed(1)} s`;
    return `<li class="${cls}" data-i="${i}" data-start="${c.rel_start}"><span class="dot" style="background:${colorOf(c.module)}"></span>` +
      `<span class="n">${esc(c.name)}</span><span class="d">${fmtT(c.rel_start)} \u00B7 ${d}</span></li>`;
  }).join("") || "<li>no tool calls</li>";
  const det = $("tool-detail");
  if (!cur) { det.innerHTML = "<div class='model'>no tool call yet</div>"; det.dataset.name = ""; return; }
  const running = cur.rel_end > st.T;
  const res = running ? `<div class="result">running\u2026</div>` : cur.error_code ?
    `<div class="result err">error ${cur.error_code}: ${esc(cur.error_msg || cur.result || "")}</div>` :
    `<div class="result ok">${esc(typeof cur.result === "string" ? cur.result : JSON.stringify(cur.result ?? "ok"))}</div>`;
  const imgs = (cur.images || []).map((f) => (cur.missing_images || []).includes(f) ?
    `<div class="missing">\u26A0 image missing: ${esc(f)}</div>` :
    `<img src="${fileUrl(f)}" alt="${esc(f)}" data-testid="tool-image" onerror="this.outerHTML='<div class=missing>\u26A0 image not readable: ${esc(f)}</div>'">`).join("");
  det.dataset.name = cur.name;
  det.innerHTML = `<div class="name" style="color:${colorOf(cur.module)}">${esc(cur.name)}()</div>` +
    `<div class="args">${esc(fmtArgs(cur.args))}</div>` +
    `<div class="model">${esc(cur.module)} \u00B7 ${esc(cur.tool_category)} \u00B7 substep ${esc(cur.substep)} line ${esc(cur.line)} \u00B7 ` +
    `${fmtT(cur.rel_start)} \u2192 ${fmtT(cur.rel_end)}</div>` + res + imgs;
}

function jointSeries() {
  if (S.trialId === LIVE_ID) {
    const j = S.liveJoints;
    return { names: j.names, t: j.t.map((s) => s - S.trial.t0), position: j.position };
  }
  const j = S.trial && S.trial.joints;
  return j && j.names && j.names.length ? { names: j.names, t: S.trial.jointsRel, position: j.position } : null;
}

function renderRobot(st) {
  const js = jointSeries();
  const el = $("robot");
  if (!js || !js.t.length) { el.innerHTML = "<div class='model'>no joint states recorded</div>"; $("robot-label").textContent = ""; return; }
  const i = Math.max(0, lastIndexLE(js.t, st.T));
  const q = js.position[i] || [];
  $("robot-label").textContent = `/joint_states @ ${fmtT(js.t[i])}`;
  el.dataset.sample = i;
  el.innerHTML = js.names.map((n, k) => {
    const finger = /finger|gripper/.test(n);
    const lo = finger ? 0 : -Math.PI, hi = finger ? 0.05 : Math.PI;
    const x = Math.max(0, Math.min(1, ((q[k] ?? 0) - lo) / (hi - lo)));
    return `<span class="name">${esc(n.replace(/^panda_|^piper_/, ""))}</span><div class="bar"><div style="left:calc(${(x * 100).toFixed(1)}% - 2px)"></div></div>` +
      `<span class="val" data-joint="${esc(n)}">${finger ? (q[k] ?? 0).toFixed(3) + " m" : (q[k] ?? 0).toFixed(3)}</span>`;
  }).join("") + `<canvas id="joint-plot"></canvas>`;
  drawJointPlot($("joint-plot"), js, st.T);
}

function drawJointPlot(cv, js, T) {
  const dpr = window.devicePixelRatio || 1, w = cv.clientWidth, h = cv.clientHeight;
  cv.width = w * dpr; cv.height = h * dpr;
  const g = cv.getContext("2d"); g.scale(dpr, dpr);
  const dur = Math.max(S.trial.duration, js.t[js.t.length - 1] || 0.001);
  const x = (t) => (t / dur) * w;
  const cols = ["#4c9be8", "#f58518", "#54c59f", "#e45756", "#b279a2", "#e6c14b", "#9d755d", "#bab0ac", "#72b7b2"];
  js.names.forEach((n, k) => {
    if (/finger|gripper/.test(n)) return;
    g.strokeStyle = cols[k % cols.length]; g.lineWidth = 1; g.beginPath();
    js.t.forEach((t, i) => { const y = h / 2 - ((js.position[i][k] || 0) / Math.PI) * (h / 2 - 2); i ? g.lineTo(x(t), y) : g.moveTo(x(t), y); });
    g.stroke();
  });
  g.strokeStyle = "#fff"; g.beginPath(); g.moveTo(x(T), 0); g.lineTo(x(T), h); g.stroke();
}

// ------------------------------------------------------------------ timeline
function lanes() {
  const mods = S.trial ? [...new Set(S.trial.calls.map((c) => c.module))] : [];
  const order = Object.keys(MODULE_COLORS);
  mods.sort((a, b) => (order.indexOf(a) + 99 * (order.indexOf(a) < 0)) - (order.indexOf(b) + 99 * (order.indexOf(b) < 0)));
  return ["model", "substep", ...mods, "events"];
}

function drawTimeline() {
  const cv = $("timeline-canvas"), dpr = window.devicePixelRatio || 1;
  const w = cv.clientWidth, h = cv.clientHeight;
  if (cv.width !== w * dpr || cv.height !== h * dpr) { cv.width = w * dpr; cv.height = h * dpr; }
  const g = cv.getContext("2d"); g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const tr = S.trial; if (!tr) return;
  const L = lanes(), labelW = 78, lh = (h - 14) / L.length, dur = Math.max(tr.duration, 0.001);
  const x = (t) => labelW + (t / dur) * (w - labelW - 6);
  const y = (name) => L.indexOf(name) * lh;
  g.font = "10px DejaVu Sans, sans-serif"; g.textBaseline = "middle";
  L.forEach((name, i) => {
    g.fillStyle = i % 2 ? "#11171e" : "#0d1218"; g.fillRect(0, i * lh, w, lh);
    g.fillStyle = "#8593a6"; g.fillText(name, 6, i * lh + lh / 2);
  });
  // model requests -> responses
  let req = null;
  for (const e of tr.events) {
    if (e.type === "model_request") req = e;
    if (e.type === "model_response" && req) { g.fillStyle = "#c678dd"; g.fillRect(x(req.rel), y("model") + 3, Math.max(2, x(e.rel) - x(req.rel)), lh - 6); req = null; }
  }
  if (req) { g.fillStyle = "#c678dd88"; g.fillRect(x(req.rel), y("model") + 3, Math.max(2, x(tr.duration) - x(req.rel)), lh - 6); }
  for (const s of Object.values(tr.substeps)) {
    g.fillStyle = s.n % 2 ? "#2d5c8a" : "#3d7ab5"; g.fillRect(x(s.start), y("substep") + 3, Math.max(2, x(s.end) - x(s.start)), lh - 6);
    g.fillStyle = "#fff"; g.fillText(String(s.n), x(s.start) + 3, y("substep") + lh / 2);
  }
  for (const c of tr.calls) {
    const yy = y(c.module);
    g.fillStyle = colorOf(c.module); g.fillRect(x(c.rel_start), yy + 3, Math.max(3, x(c.rel_end) - x(c.rel_start)), lh - 6);
    if (c.error_code) { g.strokeStyle = "#f26d6d"; g.lineWidth = 2; g.strokeRect(x(c.rel_start), yy + 2, Math.max(3, x(c.rel_end) - x(c.rel_start)), lh - 4); }
  }
  for (const e of tr.events) {
    const col = { stdout: "#d8dee9", verdict: e.verdict && /COMPLETE/.test(e.verdict) ? "#4ccf8b" : "#f3b94d", observation: "#5fb3f9",
      trial_end: e.success ? "#4ccf8b" : "#f26d6d", trial_start: "#ffffff" }[e.type];
    if (!col) continue;
    g.fillStyle = col; g.beginPath(); g.arc(x(e.rel), y("events") + lh / 2, 3, 0, 7); g.fill();
  }
  // ticks
  g.fillStyle = "#8593a6";
  const step = dur > 300 ? 60 : dur > 100 ? 20 : dur > 40 ? 10 : dur > 15 ? 5 : 1;
  for (let t = 0; t <= dur; t += step) { g.fillRect(x(t), h - 14, 1, 4); g.fillText(`${t}s`, x(t) + 2, h - 6); }
  g.strokeStyle = "#ffffff"; g.lineWidth = 1.5; g.beginPath(); g.moveTo(x(S.T), 0); g.lineTo(x(S.T), h - 12); g.stroke();
  cv._xToT = (px) => Math.max(0, Math.min(dur, ((px - labelW) / (w - labelW - 6)) * dur));
  $("legend").innerHTML = L.filter((n) => MODULE_COLORS[n] || n === "model").map((n) => `<span style="--c:${n === "model" ? "#c678dd" : colorOf(n)}">${n === "model" ? "model call" : n}</span>`).join("") +
    `<span style="--c:#f26d6d">failed call</span>`;
}

// ------------------------------------------------------------------ main render
function render() {
  if (!S.trial) { renderHeader(); return; }
  const st = stateAt(S.T);
  renderOutcome(st); renderSubtasks(st); renderReasoning(st); renderCode(st); renderStdout(st);
  renderCamera(st); renderTools(st); renderRobot(st); drawTimeline();
  const sc = $("scrubber"); sc.max = S.trial.duration.toFixed(2); if (document.activeElement !== sc) sc.value = S.T;
  $("clock").textContent = `${fmtT(S.T)} / ${fmtT(S.trial.duration)}`;
  for (const id of ["panel-subtasks", "panel-reasoning", "panel-code", "panel-camera", "panel-tools", "panel-robot"]) $(id).dataset.t = S.T.toFixed(3);
  S.renderedT = S.T;
}

function seek(T) {
  if (!S.trial) return;
  S.T = Math.max(0, Math.min(S.trial.duration, Number(T)));
  if (S.trialId === LIVE_ID && S.T < S.trial.duration - 0.5) { S.follow = false; $("follow").checked = false; }
  render();
}

// ------------------------------------------------------------------ loading
async function getJSON(url) {
  const r = await fetch(url);
  const body = await r.json().catch(() => ({ error: `bad JSON from ${url}` }));
  if (!r.ok) throw new Error(body.error || `${r.status} ${url}`);
  return body;
}

async function loadTrials(select) {
  const list = await getJSON("/api/trials");
  const sel = $("trial-select");
  const opts = [];
  if (S.info.live) opts.push(`<option value="${LIVE_ID}">\u25CF Live (agent)</option>`);
  for (const t of list) {
    const ok = t.success === true ? "\u2713" : t.success === false ? "\u2717" : "\u2026";
    opts.push(`<option value="${esc(t.id)}">${ok} ${esc(t.id)}${t.task ? " \u00B7 " + esc(t.task) : ""}</option>`);
  }
  sel.innerHTML = opts.join("") || `<option value="">no trials found</option>`;
  if (select) sel.value = select;
  return list;
}

async function openTrial(id) {
  S.trialId = id; S.substepView = null; S.lastImgSrc = ""; S.camera = null; S.playing = false; $("play").innerHTML = "&#9654;";
  try {
    if (id === LIVE_ID) {
      const live = await getJSON("/api/live");
      for (const c of live.cameras || []) S.liveFrameN[c] = S.liveFrameN[c] || 1;
      S.trial = indexTrial(live);
      S.follow = true; $("follow").checked = true;
      S.T = S.trial.duration;
    } else {
      S.trial = indexTrial(await getJSON(`/api/trial/${encodeURIComponent(id)}`));
      S.T = 0;
    }
  } catch (err) {
    S.trial = null;
    $("instruction").textContent = `cannot open trial ${id}: ${err.message}`;
  }
  $("trial-select").value = id;
  const url = new URL(location.href);
  if (url.searchParams.get("trial") !== id) { url.searchParams.set("trial", id); url.searchParams.delete("t"); history.replaceState(null, "", url); }
  const t = Number(new URL(location.href).searchParams.get("t"));
  if (id !== LIVE_ID && t > 0 && S.trial) S.T = Math.min(t, S.trial.duration);
  renderHeader(); render();
  window.maestro.ready = true;
}

// ------------------------------------------------------------------ live
function connectWS() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  S.ws = ws;
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    window.maestro.received.push(msg.kind);
    if (msg.kind === "event") onLiveEvent(msg);
    else if (msg.kind === "frame") { S.liveFrameN[msg.camera] = (S.liveFrameN[msg.camera] || 0) + 1; if (S.trialId === LIVE_ID) scheduleRender(); }
    else if (msg.kind === "joints") {
      const j = S.liveJoints; j.names = msg.names; j.t.push(msg.t); j.position.push(msg.position);
      if (j.t.length > 3000) { j.t.splice(0, 1000); j.position.splice(0, 1000); }
      if (S.trialId === LIVE_ID) scheduleRender();
    } else if (msg.kind === "task") onTaskMessage(msg);
    else if (msg.kind === "reply" && !msg.ok) $("task-status").textContent = `\u26A0 ${msg.error}`;
    else if (msg.kind === "issue" && S.trialId === LIVE_ID && S.trial) { S.trial.issues.push(msg.issue); renderHeader(); }
  };
  ws.onclose = () => { setTimeout(connectWS, 2000); };
}

function onLiveEvent(msg) {
  const ev = msg.event;
  window.maestro.liveEvents.push(ev);
  if (ev.type === "trial_start") {
    if (S.trialId === LIVE_ID || !S.trial) {
      S.trial = indexTrial({ id: LIVE_ID, meta: msg.meta || {}, t0: msg.t0, events: [ev], issues: [], videos: {}, joints: null, duration: 0 });
      S.trialId = LIVE_ID; $("trial-select").value = LIVE_ID; S.follow = true; $("follow").checked = true; renderHeader();
    } else {
      $("task-status").textContent = "\u25CF a live trial started: choose \u201CLive\u201D above";
    }
    return scheduleRender();
  }
  if (S.trialId !== LIVE_ID || !S.trial) return;
  S.trial.events.push(ev);
  indexTrial(S.trial);
  if (S.follow) S.T = ev.type === "trial_end" ? S.trial.duration : Math.max(S.T, ev.rel_end ?? ev.rel);
  if (ev.type === "trial_end") { $("task-status").textContent = `trial finished: ${ev.verdict || ""}`; loadTrials(LIVE_ID); }
  scheduleRender();
}

function onTaskMessage(msg) {
  const s = $("task-status");
  if (msg.status === "feedback") s.textContent = `${msg.phase} \u00B7 substep ${msg.substep}/${msg.max_substeps}`;
  else if (msg.status === "result") s.textContent = msg.error_code ? `\u2717 ${msg.verdict} (${msg.error_code}): ${msg.error_msg}` : `\u2713 ${msg.verdict}, progress ${msg.progress.toFixed(0)}%`;
  else if (msg.status === "rejected") s.textContent = `\u2717 ${msg.error}`;
  else s.textContent = msg.status.replace("_", " ");
}

let renderPending = false;
function scheduleRender() { if (!renderPending) { renderPending = true; requestAnimationFrame(() => { renderPending = false; render(); }); } }

// ------------------------------------------------------------------ analytics
async function loadAnalytics() {
  const q = new URLSearchParams({ category: $("an-category").value, embodiment: $("an-embodiment").value });
  const a = await getJSON(`/api/analytics?${q}`);
  window.maestro.analytics = a;
  const fill = (sel, values) => { const cur = sel.value; sel.innerHTML = `<option value="">all</option>` + values.map((v) => `<option>${esc(v)}</option>`).join(""); sel.value = cur; };
  fill($("an-category"), a.all_task_categories); fill($("an-embodiment"), a.all_embodiments);
  $("an-summary").textContent = `${a.trials} trials \u00B7 ${a.calls} tool calls`;
  const bars = (obj, color) => { const max = Math.max(1, ...Object.values(obj)); return Object.entries(obj).map(([k, v]) =>
    `<div class="hbar" data-key="${esc(k)}"><span class="k" title="${esc(k)}">${esc(k)}</span><div><div class="b" style="width:${(v / max) * 100}%;background:${color(k)}"></div></div><span class="v">${v}</span></div>`).join("") || "<div class='model'>no calls</div>"; };
  $("an-modules").innerHTML = bars(a.by_module, colorOf);
  $("an-categories").innerHTML = bars(a.by_category, () => "#5fb3f9");
  const pm = a.passing_map;
  const heat = (p) => `hsl(${210 - 170 * p}, 70%, ${18 + 40 * p}%)`;
  $("an-passing").innerHTML = pm.labels.length ? `<table class="heat"><tr><th>from \u2193 / to \u2192</th>${pm.labels.map((l) => `<th>${esc(l)}</th>`).join("")}</tr>` +
    pm.labels.map((l, i) => `<tr><th>${esc(l)}</th>${pm.labels.map((m, j) => `<td data-from="${esc(l)}" data-to="${esc(m)}" data-count="${pm.counts[i][j]}" style="background:${heat(pm.probs[i][j])}">` +
      (pm.counts[i][j] ? `${pm.probs[i][j].toFixed(2)}<small>(${pm.counts[i][j]})</small>` : "") + `</td>`).join("")}</tr>`).join("") + `</table>` : "<div class='model'>no transitions</div>";
  $("an-bigrams").innerHTML = a.bigrams.length ? `<table class="list"><tr><th>#</th><th>call \u2192 next call</th></tr>${a.bigrams.map((b) => `<tr><td>${b.count}</td><td>${esc(b.a)} \u2192 ${esc(b.b)}</td></tr>`).join("")}</table>` : "<div class='model'>none</div>";
  $("an-trials").innerHTML = `<table class="list"><tr><th>trial</th><th>task</th><th>category</th><th>calls</th><th>progress</th></tr>${a.outcomes.map((o) =>
    `<tr><td>${esc(o.trial)}</td><td>${esc(o.task)}</td><td>${esc(o.task_category)}</td><td>${o.calls}</td><td>${o.progress ?? "\u2013"}</td></tr>`).join("")}</table>`;
}

// ------------------------------------------------------------------ wiring
function tick(prev) {
  const now = performance.now();
  if (S.trial) {
    if (S.playing) {
      S.T += ((now - prev) / 1000) * S.speed;
      if (S.T >= S.trial.duration) { S.T = S.trial.duration; S.playing = false; $("play").innerHTML = "&#9654;"; }
      render();
    } else if (S.trialId === LIVE_ID && S.follow && !S.trial.events.some((e) => e.type === "trial_end") && S.trial.events.length) {
      const T = Date.now() / 1000 - S.trial.t0;
      S.trial.duration = Math.max(S.trial.duration, T);
      if (Math.abs(T - S.T) > 0.2) { S.T = T; render(); }
    }
  }
  requestAnimationFrame(() => tick(now));
}

function wire() {
  document.querySelectorAll(".tab").forEach((b) => b.addEventListener("click", () => {
    document.querySelectorAll(".tab").forEach((x) => x.classList.toggle("active", x === b));
    for (const v of ["trial", "analytics", "issues"]) $(`view-${v}`).classList.toggle("hidden", v !== b.dataset.tab);
    if (b.dataset.tab === "analytics") loadAnalytics().catch((e) => ($("an-summary").textContent = e.message));
    if (b.dataset.tab === "trial") render();
  }));
  $("issue-banner").addEventListener("click", () => document.querySelector('.tab[data-tab="issues"]').click());
  $("trial-select").addEventListener("change", (e) => openTrial(e.target.value));
  $("scrubber").addEventListener("input", (e) => seek(e.target.value));
  $("play").addEventListener("click", () => {
    S.playing = !S.playing;
    if (S.playing && S.trial && S.T >= S.trial.duration - 0.01) S.T = 0;
    $("play").innerHTML = S.playing ? "&#10074;&#10074;" : "&#9654;";
  });
  $("speed").addEventListener("change", (e) => (S.speed = Number(e.target.value)));
  $("follow").addEventListener("change", (e) => { S.follow = e.target.checked; if (S.follow && S.trial) seek(S.trial.duration); });
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT") return;
    if (e.key === " ") { e.preventDefault(); $("play").click(); }
    if (e.key === "ArrowRight") seek(S.T + 0.5);
    if (e.key === "ArrowLeft") seek(S.T - 0.5);
  });
  const cv = $("timeline-canvas");
  let drag = false;
  const at = (e) => { const r = cv.getBoundingClientRect(); if (cv._xToT) seek(cv._xToT(e.clientX - r.left)); };
  cv.addEventListener("mousedown", (e) => { drag = true; at(e); });
  window.addEventListener("mousemove", (e) => { if (drag) at(e); });
  window.addEventListener("mouseup", () => (drag = false));
  $("tools").addEventListener("click", (e) => { const li = e.target.closest("li[data-start]"); if (li) seek(Number(li.dataset.start) + 0.01); });
  $("substep-tabs").addEventListener("click", (e) => { const b = e.target.closest("button"); if (!b) return;
    const n = Number(b.dataset.substep); S.substepView = S.substepView === n ? null : n; render(); });
  $("camera-tabs").addEventListener("click", (e) => { const b = e.target.closest("button"); if (b) { S.camera = b.dataset.camera; render(); } });
  $("an-category").addEventListener("change", loadAnalytics);
  $("an-embodiment").addEventListener("change", loadAnalytics);
  $("run-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const instruction = $("run-instruction").value.trim();
    if (!instruction) { $("task-status").textContent = "type an instruction first"; return; }
    if (!S.ws || S.ws.readyState !== 1) { $("task-status").textContent = "not connected to the dashboard server"; return; }
    S.ws.send(JSON.stringify({ op: "run_task", instruction }));
    $("task-status").textContent = "sending\u2026";
  });
  $("cancel-btn").addEventListener("click", () => { if (S.ws && S.ws.readyState === 1) S.ws.send(JSON.stringify({ op: "cancel" })); });
  window.addEventListener("resize", scheduleRender);
}

window.maestro = { ready: false, seek, state: () => stateAt(S.T), S, received: [], liveEvents: [], analytics: null, openTrial, loadAnalytics };

(async function main() {
  wire();
  try { S.info = await getJSON("/api/info"); } catch (e) { S.info = { live: false }; }
  const wanted = new URL(location.href).searchParams.get("trial") || S.info.initial_trial;
  const list = await loadTrials();
  connectWS();
  const first = wanted || (S.info.live ? LIVE_ID : list.length ? list[0].id : "");
  renderHeader();
  if (first) await openTrial(first); else window.maestro.ready = true;
  requestAnimationFrame(() => tick(performance.now()));
})();
