#!/usr/bin/env bash
# The k8s-bridge driven by the real kubectl, on local agents (pods are
# real processes): apply the shipped manifests, wait for Running, scale,
# delete a pod and see it replaced, read a pod's log, see a Status error.
# Usage: kubectl-scenario.sh KUBECTL (the path .ci/kubectl.sh prints).
# Every kubectl call is bounded; any failure fails the script.
set -euo pipefail
kubectl_bin=$1
cd "$(dirname "$0")/../../.."
work=$(mktemp -d)
empty="$work/no-manifests"
mkdir -p "$empty"
cargo build -q -p k8s-bridge
target/debug/k8s-bridge --local-agents 2 --listen 127.0.0.1:0 --work-dir "$work/bridge" \
  --manifests "$empty" > "$work/bridge.out" 2>&1 &
bridge=$!
cleanup() {
  stopping=$SECONDS
  kill -TERM "$bridge" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$bridge" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$bridge" 2>/dev/null || true
  echo "kubectl scenario: the bridge stopped in $((SECONDS - stopping)) s"
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "kubectl scenario: $*" >&2; cat "$work/bridge.out" >&2; exit 1; }

for _ in $(seq 100); do
  grep -q '^kubeconfig: ' "$work/bridge.out" && break
  kill -0 "$bridge" 2>/dev/null || fail "the bridge exited"
  sleep 0.1
done
config=$(sed -n 's/^kubeconfig: //p' "$work/bridge.out")
[ -n "$config" ] || fail "no kubeconfig line"
k() { timeout 60 "$kubectl_bin" --kubeconfig "$config" "$@"; }

echo "-- kubectl apply -f examples/k8s-bridge/manifests/"
k apply -f examples/k8s-bridge/manifests/
echo "-- re-applied: nothing changes"
k apply -f examples/k8s-bridge/manifests/ | tee "$work/apply2"
grep -q 'deployment.apps/frontend unchanged' "$work/apply2" || fail "a second apply changed frontend"

echo "-- wait for Running"
k -n web rollout status deploy/frontend --timeout=50s
k -n web wait --for=condition=Ready pod -l app=frontend --timeout=50s
k -n batch wait --for=jsonpath='{.status.phase}'=Running pod -l app=crunch --timeout=50s
k get pods -A -o wide
k get deploy -A

echo "-- scale frontend to 4"
k -n web scale deploy frontend --replicas=4
k -n web rollout status deploy/frontend --timeout=50s
count=$(k -n web get pods -l app=frontend -o name | wc -l)
[ "$count" -eq 4 ] || fail "4 frontend pods expected, got $count"

echo "-- delete a pod and see it replaced"
victim=$(k -n web get pods -l app=frontend -o jsonpath='{.items[0].metadata.name}')
k -n web delete pod "$victim" --timeout=40s
k -n web get pod "$victim" > /dev/null 2>&1 && fail "$victim is still there"
k -n web rollout status deploy/frontend --timeout=50s
k -n web wait --for=condition=Ready pod -l app=frontend --timeout=50s
names=$(k -n web get pods -l app=frontend -o jsonpath='{.items[*].metadata.name}')
echo "frontend pods now: $names"
[ "$(echo "$names" | wc -w)" -eq 4 ] || fail "not replaced: $names"
case " $names " in *" $victim "*) fail "$victim came back" ;; esac

echo "-- a rolling update (kubectl set image sends a strategic merge patch)"
k -n web set image deploy/frontend server=example/frontend:1.5
k -n web rollout status deploy/frontend --timeout=50s
images=$(k -n web get pods -l app=frontend -o jsonpath='{.items[*].spec.containers[0].image}')
echo "frontend images now: $images"
[ "$(echo "$images" | tr ' ' '\n' | grep -c 'example/frontend:1.5')" -eq 4 ] || fail "not rolled out: $images"
names=$(k -n web get pods -l app=frontend -o jsonpath='{.items[*].metadata.name}')

echo "-- read a pod's log"
pod=$(echo "$names" | cut -d' ' -f1)
k -n web logs "$pod" | tee "$work/log"
grep -q "frontend: serving on :8080" "$work/log" || fail "no log line from $pod"
k -n web describe pod "$pod" | grep -E '^(Status|Node|Controlled By):'

echo "-- a Status error"
if k -n web get pod no-such-pod 2> "$work/err"; then fail "no-such-pod was found"; fi
grep -q 'pods "no-such-pod" not found' "$work/err" || fail "unexpected error: $(cat "$work/err")"
cat "$work/err"
echo "kubectl scenario: passed after $SECONDS s"
