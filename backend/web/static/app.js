/* Quire dashboard: vanilla JS over the JSON API. The tokens live in sessionStorage.
   An expired access token is renewed once with the refresh token (POST /auth/refresh,
   which rotates it: the new one is stored every time) and the request is replayed;
   only when that fails too does the login form return.
   Every node that shows data is built with h(): text through textContent, attributes
   through setAttribute, never innerHTML. A file name, a chunk's error or a parser
   message is data a PDF's author controls; the page's CSP (script-src 'self') is the
   second line of defence, not the first. */
"use strict";

const Quire = (() => {
  const TERMINAL = new Set(["completed", "partial", "failed", "cancelled"]);
  const $ = (id) => document.getElementById(id);
  const auth = {
    get token() { return sessionStorage.getItem("quire.token"); },
    get user() { return JSON.parse(sessionStorage.getItem("quire.user") || "null"); },
    get refreshToken() { return sessionStorage.getItem("quire.refresh"); },
    // Old and new answers alike: a field that is absent keeps its stored value.
    save(body) {
      if (body.access_token) sessionStorage.setItem("quire.token", body.access_token);
      if (body.refresh_token) sessionStorage.setItem("quire.refresh", body.refresh_token);
      if (body.user) sessionStorage.setItem("quire.user", JSON.stringify(body.user));
    },
    clear() {
      for (const key of ["quire.token", "quire.refresh", "quire.user"]) sessionStorage.removeItem(key);
    },
    // One renewal in flight at a time: parallel 401s (list + stream) share it.
    renew() {
      if (!auth.renewing) {
        auth.renewing = (async () => {
          if (!auth.refreshToken) return false;
          const response = await fetch("/api/v1/auth/refresh", {
            method: "POST", headers: { Authorization: "Bearer " + auth.refreshToken },
          });
          if (!response.ok) return false;
          auth.save(await response.json());
          return true;
        })().finally(() => { auth.renewing = null; });
      }
      return auth.renewing;
    },
  };

  /* h("a", { href, className, dataset: {...} }, child, ...): children are nodes or
     text (appended as text nodes); null/false props and children are skipped. */
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value == null || value === false) continue;
      if (name === "className") node.className = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children.flat()) {
      if (child == null || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const percentOf = (value) => Math.max(0, Math.min(100, Number(value) || 0));

  function toast(message, isError) {
    const box = $("toast");
    box.textContent = message;
    box.className = "toast" + (isError ? " bad" : "");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => box.classList.add("hidden"), 4000);
  }

  async function api(method, path, body, raw) {
    const send = () => {
      const headers = { Authorization: "Bearer " + auth.token };
      const init = { method, headers };
      if (body instanceof FormData) init.body = body;
      else if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
      return fetch("/api/v1" + path, init);
    };
    let response = await send();
    if (response.status === 401 && (await auth.renew())) response = await send();
    if (response.status === 401) { auth.clear(); showLogin(); throw new Error("please log in again"); }
    if (raw) return response;
    if (response.status === 204) return null;
    const data = await response.json();
    if (!response.ok) throw new Error(data.error.code + ": " + data.error.message);
    return data;
  }

  /* ---- login ---- */
  function showLogin() {
    $("login-panel").classList.remove("hidden");
    $("app").classList.add("hidden");
    $("logout").classList.add("hidden");
    $("whoami").textContent = "";
  }

  function requireLogin(start) {
    const go = () => {
      $("login-panel").classList.add("hidden");
      $("app").classList.remove("hidden");
      $("logout").classList.remove("hidden");
      const user = auth.user;
      $("whoami").textContent = user ? user.email + (user.role === "operator" ? " · operator" : "") : "";
      start();
    };
    $("logout").onclick = logout;
    const credentials = () => ({ email: $("email").value, password: $("password").value });
    const attempt = async (steps) => {
      $("login-error").textContent = "";
      try { await steps(); go(); } catch (err) { $("login-error").textContent = err.message; }
    };
    const login = async () => auth.save(await postAuth("login", credentials()));
    // Register answers 202 and a generic message whether the email is new or taken
    // (older servers answered with tokens): then log in with the same credentials,
    // whose error, if any, is the one shown.
    const register = async () => {
      const answer = await postAuth("register", credentials());
      if (answer.access_token) auth.save(answer); else await login();
    };
    $("login-form").onsubmit = (event) => { event.preventDefault(); attempt(login); };
    $("register-button").onclick = () => { if ($("login-form").reportValidity()) attempt(register); };
    if (auth.token) go(); else showLogin();
  }

  async function postAuth(path, body) {
    const response = await fetch("/api/v1/auth/" + path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error((data.error && data.error.message) || "HTTP " + response.status);
    return data;
  }

  // Revoke the session on the server (access token + refresh token), then forget it
  // here whatever the answer: a failed call must not leave the tokens in the tab.
  async function logout() {
    const send = () => fetch("/api/v1/auth/logout", {
      method: "POST",
      headers: { Authorization: "Bearer " + auth.token, "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: auth.refreshToken }),
    });
    try {
      if (auth.token) {
        const response = await send();
        if (response.status === 401 && (await auth.renew())) await send();
      }
    } catch (err) { /* offline or refused: the local session goes anyway */ }
    finally { auth.clear(); location.href = "/"; }
  }

  function bar(percent, status) {
    const fill = h("div", { className: "bar" });
    fill.style.width = percentOf(percent) + "%"; // CSSOM: allowed without 'unsafe-inline'
    return h("div", { className: "progress " + status }, fill,
      h("span", { className: "label" }, Math.round(percentOf(percent)) + " %"));
  }

  /* ---- index: upload + job list ---- */
  function startIndex() {
    requireLogin(() => {
      setupUpload();
      refreshJobs();
    });
  }

  function setupUpload() {
    const zone = $("dropzone"), input = $("file");
    let file = null;
    const pick = (f) => { file = f; $("picked").textContent = f ? f.name + " · " + Math.ceil(f.size / 1024) + " KiB" : "no file chosen"; };
    input.onchange = () => pick(input.files[0]);
    zone.ondragover = (e) => { e.preventDefault(); zone.classList.add("over"); };
    zone.ondragleave = () => zone.classList.remove("over");
    zone.ondrop = (e) => { e.preventDefault(); zone.classList.remove("over"); pick(e.dataTransfer.files[0]); };
    $("upload-form").onsubmit = async (event) => {
      event.preventDefault();
      $("upload-error").textContent = "";
      if (!file) { $("upload-error").textContent = "choose or drop a PDF first"; return; }
      const form = new FormData();
      form.append("file", file, file.name);
      form.append("words_per_sentence", $("words").value);
      form.append("pages_per_chunk", $("pages").value);
      form.append("overlap_pages", $("overlap").value);
      form.append("max_retries", $("retries").value);
      form.append("processor", $("processor").value);
      form.append("ocr", $("ocr").value);
      form.append("ocr_lang", $("ocr-lang").value);
      try {
        const accepted = await api("POST", "/jobs", form);
        toast("job " + accepted.job_id.slice(0, 8) + " queued");
        pick(null); input.value = "";
        refreshJobs();
      } catch (err) { $("upload-error").textContent = err.message; }
    };
  }

  async function refreshJobs() {
    clearTimeout(refreshJobs.timer);
    let listing;
    try { listing = await api("GET", "/jobs?per_page=50"); } catch (err) { toast(err.message, true); return; }
    const user = auth.user;
    $("jobs-scope").textContent = (user && user.role === "operator" ? "all users · " : "") + listing.pagination.total + " jobs";
    const rows = listing.items.map((job) => {
      const p = job.progress;
      const failed = p.chunks.failed ? [" ", h("span", { className: "bad-text" }, `(${p.chunks.failed} failed)`)] : [];
      return h("tr", { dataset: { job: job.id, status: job.status } },
        h("td", {}, h("a", { href: "/jobs/" + encodeURIComponent(job.id) }, job.filename)),
        h("td", {}, h("span", { className: "badge " + job.status }, job.status)),
        h("td", { className: "wide" }, bar(p.percent, job.status)),
        h("td", {}, `${p.done}/${p.total}`, failed),
        h("td", { className: "muted" }, new Date(job.created_at).toLocaleString()));
    });
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 5, className: "muted" }, "No jobs yet: drop a PDF above.")));
    $("jobs-body").replaceChildren(...rows);
    // The list refreshes while something runs; a job page follows its job live (SSE).
    if (listing.items.some((job) => !TERMINAL.has(job.status))) refreshJobs.timer = setTimeout(refreshJobs, 1500);
  }

  /* ---- job page: SSE progress, chunk grid, actions ---- */
  function startJob(jobId) {
    const jobPath = "/jobs/" + encodeURIComponent(jobId);
    const selected = new Set();
    let lastCounts = "";
    let lastJob = null; // the last GET /jobs/{id}: what progress events do not carry
    let shownChunk = null; // the chunk whose detail is shown under the grid

    const render = (s) => {
      $("job-status").textContent = s.status;
      $("job-status").className = "badge " + s.status;
      // A finished job cannot be cancelled: hide the button instead of offering a 409.
      $("cancel-job").hidden = TERMINAL.has(s.status);
      if (!s.progress) return;
      const p = s.progress;
      $("job-bar").style.width = percentOf(p.percent) + "%";
      $("job-bar").parentElement.className = "progress big " + s.status;
      $("job-percent").textContent = Math.round(p.percent) + " %";
      const eta = s.eta_seconds ? ` · about ${Math.ceil(s.eta_seconds)} s left` : "";
      if (lastJob && s.status !== lastJob.status && s.status === "paused_quota") loadJob(); // for resume_at
      const job = lastJob || {};
      const resumeAt = s.resume_at !== undefined ? s.resume_at : job.resume_at;
      const resume = s.status === "paused_quota" && resumeAt
        ? ` · resumes by itself at ${new Date(resumeAt).toLocaleString()} (or retry now)` : "";
      const usage = job.usage || {};
      const paid = usage.tokens_used || usage.cache_hits
        ? ` · ${Number(usage.tokens_used).toLocaleString()} tokens, ${usage.cache_hits} cache hits` : "";
      $("job-detail").textContent = `${s.step} · ${p.done}/${p.total} chunks · round ${s.round} · automatic retries ${s.retry_count}/${s.max_retries}${eta}${resume}${paid}`;
      $("job-error").textContent = s.error ? s.error.code + ": " + s.error.message : "";
      $("job-pages").textContent = pagesNote(job.result);
      // The summary is written when the job ends: read the job once more then.
      if (TERMINAL.has(s.status) && !endedJobRead && lastJob) { endedJobRead = true; loadJob(); }
      const key = JSON.stringify(p.chunks);
      if (key !== lastCounts) { lastCounts = key; loadChunks(); }
    };

    let endedJobRead = false;

    // "2-4, 7" for [2, 3, 4, 7].
    function ranges(pages) {
      const parts = [];
      for (const page of [...new Set(pages)].sort((a, b) => a - b)) {
        const last = parts[parts.length - 1];
        if (last && page === last[1] + 1) last[1] = page; else parts.push([page, page]);
      }
      return parts.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(", ");
    }

    // What the result says of its pages: OCR'd, low-confidence, unreadable, empty.
    function pagesNote(result) {
      if (!result) return "";
      const notes = [];
      if (result.ocr_pages) notes.push(`${result.ocr_pages} ${result.ocr_pages === 1 ? "page" : "pages"} read by OCR`);
      if ((result.low_confidence_pages || []).length) notes.push(`low OCR confidence: pages ${ranges(result.low_confidence_pages)}`);
      if ((result.unreadable_pages || []).length) notes.push(`unreadable text layer: pages ${ranges(result.unreadable_pages)}`);
      if ((result.pages_without_text || []).length) notes.push(`no text: pages ${ranges(result.pages_without_text)}`);
      return notes.join(" · ");
    }

    const loadJob = async () => {
      const job = await api("GET", jobPath);
      lastJob = job;
      if (TERMINAL.has(job.status)) endedJobRead = true; // this read has the final summary
      $("job-title").textContent = job.filename;
      document.title = job.filename + " · Quire";
      render({ ...job, job_id: job.id, eta_seconds: null });
      return job;
    };

    async function loadChunks() {
      let page = 1, items = [], summary = {};
      for (;;) {
        const listing = await api("GET", `${jobPath}/chunks?per_page=100&page=${page}`);
        items = items.concat(listing.items); summary = listing.summary;
        if (page >= listing.pagination.pages) break;
        page += 1;
      }
      $("chunk-summary").textContent = Object.entries(summary).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(" · ");
      $("chunk-grid").replaceChildren(...items.map((c) => {
        const classes = ["cell", c.status];
        if (c.fallback) classes.push("fallback");
        if (Object.keys(c.ocr_pages || {}).length) classes.push("ocr");
        if (selected.has(c.chunk_id)) classes.push("selected");
        return h("button", { type: "button", className: classes.join(" "), dataset: { chunk: c.chunk_id }, title: chunkTip(c) },
          String(c.chunk_id));
      }));
      showDetail($("chunk-grid").querySelector(`.cell[data-chunk="${Number(shownChunk)}"]`));
    }

    // The tooltip's text, also shown under the grid for the hovered or focused cell
    // (a title is neither keyboard- nor touch-accessible).
    function chunkTip(c) {
      const processor = lastJob ? lastJob.processor : "the job's processor";
      const pageErrors = Object.entries(c.page_errors || {})
        .map(([page, why]) => (String(why).startsWith(`page ${page}`) ? `\n${why}` : `\npage ${page}: ${why}`));
      const ocr = Object.entries(c.ocr_pages || {})
        .map(([page, confidence]) => `page ${page} (${Math.round(Number(confidence))} %)`);
      return `chunk ${c.chunk_id} · pages ${c.pages[0]}–${c.pages[1]} · attempts ${c.attempts}` +
        (c.tokens_used ? ` · ${c.tokens_used} tokens` : "") +
        (c.fallback ? `\nprocessed by the ${c.fallback} fallback, not by ${processor}` : "") +
        (c.last_error_code ? `\n${c.last_error_code}: ${c.last_error}` : "") +
        (ocr.length ? `\nread by OCR (mean word confidence): ${ocr.join(", ")}` : "") +
        pageErrors.join("");
    }

    function showDetail(cell) {
      shownChunk = cell ? cell.dataset.chunk : null;
      $("chunk-detail").textContent = cell ? cell.title : "";
    }

    async function follow() {
      // fetch() + a stream reader: EventSource cannot send the bearer header.
      try {
        const response = await api("GET", `${jobPath}/events`, undefined, true);
        if (!response.ok) throw new Error("live progress unavailable (" + response.status + ")");
        const reader = response.body.getReader(), decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
            const event = (block.match(/^event: (.*)$/m) || [])[1];
            const data = (block.match(/^data: (.*)$/m) || [])[1];
            if (event === "progress") render(JSON.parse(data));
            if (event === "end") { await loadJob(); await loadChunks(); return; }
          }
        }
      } catch (err) { toast(err.message, true); }
      setTimeout(follow, 3000); // the stream dropped before the end: reconnect
    }

    const retry = async (ids) => {
      const body = { force: $("force").checked };
      if (ids) body.chunk_ids = ids;
      try {
        const answer = await api("POST", `${jobPath}/chunks/retry`, body);
        toast(`retrying ${answer.retried_count} chunk(s), round ${answer.round}`);
        selected.clear(); $("selected-count").textContent = "0"; $("retry-selected").disabled = true;
        await loadJob(); follow();
      } catch (err) { toast(err.message, true); }
    };

    const download = async (fmt) => {
      const response = await api("GET", `${jobPath}/result?format=${fmt}`, undefined, true);
      if (!response.ok) { const e = await response.json(); toast(e.error.code + ": " + e.error.message, true); return; }
      const disposition = response.headers.get("Content-Disposition") || "";
      const name = (disposition.match(/filename="?([^";]+)"?/) || [])[1] || "result." + fmt;
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await response.blob());
      link.download = name;
      document.body.appendChild(link); link.click(); link.remove();
      const missing = response.headers.get("X-Quire-Missing-Pages");
      toast("downloaded " + name + (missing ? " · pages " + missing + " missing" : ""));
    };

    requireLogin(async () => {
      const hovered = (e) => { const cell = e.target.closest(".cell"); if (cell) showDetail(cell); };
      $("chunk-grid").onmouseover = hovered;
      $("chunk-grid").addEventListener("focusin", hovered);
      $("chunk-grid").onclick = (e) => {
        const cell = e.target.closest(".cell"); if (!cell) return;
        const id = Number(cell.dataset.chunk);
        if (selected.has(id)) selected.delete(id); else selected.add(id);
        cell.classList.toggle("selected");
        $("selected-count").textContent = selected.size;
        $("retry-selected").disabled = selected.size === 0;
      };
      $("retry-failed").onclick = () => retry(null);
      $("retry-selected").onclick = () => retry([...selected]);
      $("cancel-job").onclick = async () => {
        try { const a = await api("POST", `${jobPath}/cancel`); toast("job " + a.status); } catch (err) { toast(err.message, true); }
      };
      $("delete-job").onclick = async () => {
        if (!confirm("Delete this job, its chunks and its files?")) return;
        try { await api("DELETE", jobPath); location.href = "/"; } catch (err) { toast(err.message, true); }
      };
      document.querySelectorAll(".download").forEach((b) => { b.onclick = () => download(b.dataset.format); });
      try { await loadJob(); await loadChunks(); follow(); } catch (err) { toast(err.message, true); }
    });
  }

  return { startIndex, startJob };
})();

// The templates hold no script: the page says what it is in <body data-page=…>.
(() => {
  const { page, jobId } = document.body.dataset;
  if (page === "index") Quire.startIndex();
  else if (page === "job") Quire.startJob(jobId);
})();
