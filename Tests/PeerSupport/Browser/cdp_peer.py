#!/usr/bin/env python3
"""A headless Chromium the Swift tests drive, over the Chrome DevTools Protocol on --remote-debugging-pipe.

Only the standard library: the browser reads NUL-terminated JSON commands on its fd 3 and writes NUL-terminated
JSON answers and events on its fd 4. The peer attaches to the browser's page (flattened session) and answers the
test's commands, one JSON object a line on stdin, with one JSON line on stdout each:

  {"cmd": "navigate", "url": U}                 loads U and waits until document.readyState is "complete"
  {"cmd": "evaluate", "expression": E}          Runtime.evaluate (promises awaited); {"ok", "value"}
  {"cmd": "wait", "expression": E, "timeout": S} evaluates E every 100 ms until it is truthy, at most S seconds
  {"cmd": "dialogs"}                            the JavaScript dialogs (alert, confirm) the page opened so far
  {"cmd": "errors"}                             exceptions thrown and CSP violations reported on the console

It prints "ready" once attached, and ends Chromium (and removes its profile) when stdin closes.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

CALL_TIMEOUT = 30.0


class Browser:
    def __init__(self, executable):
        self.profile = tempfile.mkdtemp(prefix="obwatch-chromium-")
        to_browser_read, self.to_browser = os.pipe()
        self.from_browser, from_browser_write = os.pipe()

        def attach_pipes():
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        self.log = open(os.path.join(self.profile, "chromium.log"), "wb")
        self.process = subprocess.Popen(
            [
                executable, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
                "--disable-background-networking", "--disable-component-update", "--mute-audio",
                "--user-data-dir=" + self.profile, "about:blank",
            ],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            preexec_fn=attach_pipes, pass_fds=(3, 4),
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self.lock = threading.Lock()
        self.answered = threading.Condition(self.lock)
        self.answers = {}
        self.next_id = 0
        self.dialogs = []
        self.errors = []
        self.session = None
        threading.Thread(target=self.read_loop, daemon=True).start()

    def read_loop(self):
        pending = b""
        while True:
            chunk = os.read(self.from_browser, 65536)
            if not chunk:
                with self.answered:
                    self.answers["closed"] = True
                    self.answered.notify_all()
                return
            pending += chunk
            while b"\0" in pending:
                message, pending = pending.split(b"\0", 1)
                self.dispatch(json.loads(message.decode("utf-8")))

    def dispatch(self, message):
        if "id" in message:
            with self.answered:
                self.answers[message["id"]] = message
                self.answered.notify_all()
            return
        method = message.get("method")
        params = message.get("params", {})
        if method == "Page.javascriptDialogOpening":
            self.dialogs.append({"type": params.get("type"), "message": params.get("message")})
            # Close it, or the page would stay blocked.
            self.send("Page.handleJavaScriptDialog", {"accept": True}, wait=False)
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.errors.append(details.get("exception", {}).get("description") or details.get("text"))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            # A 404 or 401 the page handles itself is logged by the network layer: not a page error.
            if entry.get("level") == "error" and entry.get("source") != "network":
                self.errors.append(entry.get("text"))

    def send(self, method, params=None, wait=True, session=True):
        with self.lock:
            self.next_id += 1
            ident = self.next_id
        message = {"id": ident, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode("utf-8") + b"\0")
        if not wait:
            return None
        deadline = time.monotonic() + CALL_TIMEOUT
        with self.answered:
            while ident not in self.answers:
                if self.answers.get("closed"):
                    raise RuntimeError("Chromium closed its pipe; its log: " + self.log_text())
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(method + " got no answer in %.0f s" % CALL_TIMEOUT)
                self.answered.wait(left)
            answer = self.answers.pop(ident)
        if "error" in answer:
            raise RuntimeError(method + ": " + json.dumps(answer["error"]))
        return answer.get("result", {})

    def attach(self):
        deadline = time.monotonic() + CALL_TIMEOUT
        while True:
            pages = [t for t in self.send("Target.getTargets", session=False)["targetInfos"] if t["type"] == "page"]
            if pages:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("Chromium opened no page")
            time.sleep(0.05)
        attached = self.send("Target.attachToTarget", {"targetId": pages[0]["targetId"], "flatten": True},
                             session=False)
        self.session = attached["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Log.enable")

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise RuntimeError("the expression threw: " +
                               (details.get("exception", {}).get("description") or details.get("text", "")))
        return result.get("result", {}).get("value")

    def wait(self, expression, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                last = self.evaluate(expression)
                if last:
                    return last
            except RuntimeError as error:
                last = "error: " + str(error)
            if time.monotonic() > deadline:
                raise RuntimeError("not true after %.0f s: %s; last value: %s" % (timeout, expression, json.dumps(last)))
            time.sleep(0.1)

    def navigate(self, url):
        self.send("Page.navigate", {"url": url})
        self.wait("document.readyState === 'complete' && location.href === %s" % json.dumps(url), CALL_TIMEOUT)

    def log_text(self):
        try:
            with open(os.path.join(self.profile, "chromium.log"), "rb") as log:
                return log.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def close(self):
        try:
            self.process.terminate()
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    executable = sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/chromium"
    browser = Browser(executable)
    try:
        browser.attach()
        print("ready", flush=True)
        for line in sys.stdin:
            if not line.strip():
                continue
            command = json.loads(line)
            try:
                kind = command["cmd"]
                if kind == "navigate":
                    value = browser.navigate(command["url"])
                elif kind == "evaluate":
                    value = browser.evaluate(command["expression"])
                elif kind == "wait":
                    value = browser.wait(command["expression"], float(command.get("timeout", 20)))
                elif kind == "dialogs":
                    value = browser.dialogs
                elif kind == "errors":
                    value = browser.errors
                else:
                    raise RuntimeError("unknown command " + kind)
                print(json.dumps({"ok": True, "value": value}), flush=True)
            except Exception as error:
                print(json.dumps({"ok": False, "error": str(error)}), flush=True)
    finally:
        browser.close()


if __name__ == "__main__":
    main()
