#!/usr/bin/env bash
# Builds the Docker image and checks it the way an operator would: the
# container runs as a non-root user, becomes healthy, answers an MCP call,
# keeps a session across a restart (the data folder is a volume), refuses a
# foreign Host. Needs a Docker engine, so it is not part of `meson test`.
#   test/docker/smoke.sh            (from the project's root)
set -euo pipefail
name=litemcp-smoke-$$
volume=$name-data
port=${PORT:-18080}
cleanup() { docker rm -f "$name" >/dev/null 2>&1 || true; docker volume rm -f "$volume" >/dev/null 2>&1 || true; }
trap cleanup EXIT
check() { if eval "$2"; then echo "ok - $1"; else echo "FAILED - $1"; exit 1; fi; }

docker build -q -t litemcp:smoke . >/dev/null
docker run -d --name "$name" -p "$port:8080" -v "$volume:/var/lib/litemcp" litemcp:smoke --examples >/dev/null
for _ in $(seq 60); do
  [ "$(docker inspect --format '{{.State.Health.Status}}' "$name")" = healthy ] && break
  sleep 1
done
check "the health check passes" '[ "$(docker inspect --format "{{.State.Health.Status}}" "$name")" = healthy ]'
check "it runs as the litemcp user, not root" '[ "$(docker exec "$name" id -un)" = litemcp ]'
mcp=(-s -X POST "localhost:$port/mcp" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
sid=$(curl "${mcp[@]}" -D - -o /dev/null -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"smoke","version":"1"}}}' \
      | tr -d '\r' | awk 'tolower($1)=="mcp-session-id:"{print $2}')
check "initialize gives a session ($sid)" '[ -n "$sid" ]'
docker restart "$name" >/dev/null
for _ in $(seq 30); do curl -fs "localhost:$port/readyz" >/dev/null && break; sleep 1; done
answer=$(curl "${mcp[@]}" -H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 2025-11-25' \
         -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"after restart"}}}')
check "the session survives a restart of the container" '[[ "$answer" == *"after restart"* ]]'
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "localhost:$port/mcp" -H 'Host: evil.example.com' -H 'Content-Type: application/json' -d '{}')
check "a foreign Host is refused ($status)" '[ "$status" = 403 ]'
echo "all checks passed"
