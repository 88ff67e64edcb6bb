#!/usr/bin/env python3
# A fake OpenAI-compatible chat-completions server for the agent example's test (agent_test.cc).
#
# Usage: fake_completions_server.py API_KEY
# Listens on 127.0.0.1 on a port the kernel picks, prints that port on one line, then serves
# until killed. Every POST /v1/chat/completions must carry "Authorization: Bearer API_KEY"
# (else 401 with an OpenAI-style error body).
#
# The "model" is scripted by the latest user message:
#   * lines "call <tool> <json arguments>": the first reply asks for those tool calls
#     (ids call_1, call_2, ...); once the conversation holds tool results after that user
#     message, the reply is text quoting each result: "[call_1] <content>" per line;
#   * "always call <tool> <json arguments>": asks for that tool call every time (a model that
#     never answers);
#   * "garbage": a 200 response whose body is not JSON;
#   * anything else: "You said: <text> (<n> messages; tools: <names>)".
# GET /page answers 200 "the fake page" (for the fetch_url tool); anything else is 404.
import http.server
import json
import sys

API_KEY = sys.argv[1] if len(sys.argv) > 1 else ""


def completion(message, finish):
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": "fake",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    }


def tool_calls(lines):
    calls = []
    for n, line in enumerate(lines, 1):
        _, name, args = line.split(" ", 2)
        calls.append({"id": "call_%d" % n, "type": "function",
                      "function": {"name": name, "arguments": args}})
    return {"role": "assistant", "content": None, "tool_calls": calls}


def reply_to(request):
    messages = request["messages"]
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    prompt = messages[last_user]["content"]
    results = [m for m in messages[last_user + 1:] if m["role"] == "tool"]
    if prompt.startswith("always call "):
        return completion(tool_calls([prompt[len("always "):]]), "tool_calls")
    calls = [line for line in prompt.splitlines() if line.startswith("call ")]
    if calls and not results:
        return completion(tool_calls(calls), "tool_calls")
    if calls:
        text = "\n".join("[%s] %s" % (m["tool_call_id"], m["content"]) for m in results)
    else:
        tools = ", ".join(t["function"]["name"] for t in request.get("tools", []))
        text = "You said: %s (%d messages; tools: %s)" % (prompt, len(messages), tools)
    return completion({"role": "assistant", "content": text}, "stop")


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/page":
            self.send(200, "the fake page", "text/plain")
        else:
            self.send(404, "not found", "text/plain")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != "/v1/chat/completions":
            return self.send(404, {"error": {"message": "no route " + self.path}})
        if self.headers.get("Authorization") != "Bearer " + API_KEY:
            return self.send(401, {"error": {"message": "Incorrect API key provided"}})
        try:
            request = json.loads(body)
        except ValueError as e:
            return self.send(400, {"error": {"message": "body is not JSON: %s" % e}})
        if any(m["role"] == "user" and m["content"] == "garbage" for m in request["messages"][-1:]):
            return self.send(200, "this is {not json", "application/json")
        self.send(200, reply_to(request))


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
