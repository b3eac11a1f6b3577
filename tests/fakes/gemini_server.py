"""A local stand-in for the Gemini ``generateContent`` REST API, scriptable per request.

google-genai talks to it through ``HttpOptions(base_url=server.url)``. The normal
answer is derived from the prompt: the request's JSON input part
(``{"words_per_sentence": N, "sentences": [...]}``) is re-cut into pieces of at
most N words, so the processor's coverage and length checks run on real data.

Behaviours (one per request, taken from the first matching rule, else ``ok``):

``ok`` · ``slow:<s>`` (answer after s seconds) · ``hang`` (never answer) ·
``429`` (rate limit, ``RetryInfo.retryDelay`` 1s; ``429:<s>`` for another delay) ·
``quota`` (per-day quota, ``limit: 0``) · ``500`` · ``503`` · ``bad_key`` (400
API_KEY_INVALID) · ``max_tokens`` (truncated JSON) · ``safety`` · ``bad_json`` ·
``lossy`` (keeps the first piece of each sentence) · ``long`` (sentences past
the limit) · ``wrong_count`` (one group missing).

A rule is ``(marker, [behaviours…])``: a request whose input contains ``marker``
(``""`` matches all) takes the next behaviour of the list. Rules and counters are
also reachable over HTTP (``POST /_fake/rules``, ``GET /_fake/stats``) so a
worker in another process can be scripted.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.gemini_answers import error, input_of, respond


@dataclass
class FakeGemini:
    """The scriptable state; thread-safe."""

    rules: list[tuple[str, list[str]]] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    answered_ok: Counter[str] = field(default_factory=Counter)
    behaviours: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # time.time() of each request
    api_keys: set[str] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def script(self, marker: str, *behaviours: str) -> None:
        with self.lock:
            self.rules.append((marker, list(behaviours)))

    def reset(self) -> None:
        with self.lock:
            self.rules.clear()
            self.requests.clear()
            self.answered_ok.clear()
            self.behaviours.clear()
            self.times.clear()

    def next_behaviour(self, prompt_hash: str, text: str) -> str:
        with self.lock:
            self.requests[prompt_hash] += 1
            self.times.append(time.time())
            behaviour = "ok"
            for marker, queue in self.rules:
                if marker in text and queue:
                    behaviour = queue.pop(0)
                    break
            self.behaviours.append(behaviour)
            return behaviour

    def total_requests(self) -> int:
        with self.lock:
            return sum(self.requests.values())

    def double_answers(self) -> int:
        """Prompts answered successfully more than once (paid for twice)."""
        with self.lock:
            return sum(n - 1 for n in self.answered_ok.values() if n > 1)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": sum(self.requests.values()),
                "distinct_prompts": len(self.requests),
                "answered_ok": sum(self.answered_ok.values()),
                "behaviours": list(self.behaviours),
            }


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib name)
        pass  # tests read counters, not access logs

    def _send(self, status: int, body: Any) -> None:
        raw = json.dumps(body).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left: that is what a hang test wants

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        loaded: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
        return loaded

    def do_GET(self) -> None:
        if self.path == "/_fake/stats":
            self._send(200, self.server.state.stats())
        else:
            self._send(404, error(404, "NOT_FOUND", self.path, []))

    def do_POST(self) -> None:
        state = self.server.state
        body = self._body()
        if self.path == "/_fake/rules":
            for marker, behaviours in body.get("rules", []):
                state.script(marker, *behaviours)
            self._send(200, state.stats())
            return
        if not self.path.endswith(":generateContent"):
            self._send(404, error(404, "NOT_FOUND", self.path, []))
            return
        with state.lock:
            state.api_keys.add(self.headers.get("x-goog-api-key", ""))
            state.paths.add(self.path)
        data = input_of(body)
        text = json.dumps(data, ensure_ascii=False, sort_keys=True)
        prompt_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
        status, answer = respond(state.stop, state.next_behaviour(prompt_hash, text), data)
        if status == 200 and answer.get("candidates", [{}])[0].get("finishReason") == "STOP":
            with state.lock:
                state.answered_ok[prompt_hash] += 1
        self._send(status, answer)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: FakeGemini


class GeminiServer:
    """Runs :class:`FakeGemini` on a free local port in a background thread."""

    def __init__(self) -> None:
        self.state = FakeGemini()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self.state
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> GeminiServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self.state.stop.set()  # releases hung handlers
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


if __name__ == "__main__":  # a server for a worker in another process
    server = GeminiServer().start()
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.close()
