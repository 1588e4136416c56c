#!/usr/bin/env bash
# Runs podshimd in the foreground with a default configuration: a containerd
# for podshim is started when none answers on the default socket, and the
# default pod network (bridge podshim0, 10.88.0.0/16) is written when the CNI
# config dir has none.
set -euo pipefail
cd "$(dirname "$0")/.."

# STACK=debian uses (or starts) the system containerd on its default socket.
# STACK=current starts the containerd built by stack/build.sh (the Makefile
# puts it first on PATH) with a config, root, state and socket of its own,
# so it never takes the system containerd's place.
STACK=${STACK:-debian}
PODSHIM_SOCK=${PODSHIM_SOCK:-/run/podshim/podshim.sock}
CNI_CONF_DIR=${CNI_CONF_DIR:-/etc/cni/net.d}
containerd_args=()
if [[ $STACK == current ]]; then
	CONTAINERD_SOCK=${CONTAINERD_SOCK:-/run/podshim/containerd-current/containerd.sock}
	dir=$(dirname "$CONTAINERD_SOCK")
	mkdir -p "$dir"
	cat >"$dir/config.toml" <<EOF
version = 2
root = "/var/lib/podshim/containerd-current"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "/var/lib/podshim/containerd-current/opt"
EOF
	containerd_args=(--config "$dir/config.toml")
else
	CONTAINERD_SOCK=${CONTAINERD_SOCK:-/run/containerd/containerd.sock}
	containerd_args=(--address "$CONTAINERD_SOCK")
fi

started_containerd=""
if ! ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1; then
	echo "starting $(containerd --version | awk '{ print $1, $3 }') on $CONTAINERD_SOCK (log: /var/log/podshim-containerd-$STACK.log)"
	mkdir -p "$(dirname "$CONTAINERD_SOCK")"
	containerd "${containerd_args[@]}" >"/var/log/podshim-containerd-$STACK.log" 2>&1 &
	started_containerd=$!
	for _ in $(seq 100); do ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1 && break; sleep 0.1; done
fi
cleanup() { [ -n "$started_containerd" ] && kill "$started_containerd" 2>/dev/null; true; }
trap cleanup EXIT

if ! ls "$CNI_CONF_DIR"/*.conf* >/dev/null 2>&1; then
	mkdir -p "$CNI_CONF_DIR"
	cat >"$CNI_CONF_DIR/10-podshim.conflist" <<'CONF'
{
  "cniVersion": "1.0.0",
  "name": "podshim",
  "plugins": [
    {"type": "bridge", "bridge": "podshim0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.0.0/16"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
CONF
	echo "wrote the default pod network to $CNI_CONF_DIR/10-podshim.conflist"
fi

echo
echo "podshim is starting. From another shell:"
echo "  crictl --runtime-endpoint unix://$PODSHIM_SOCK --image-endpoint unix://$PODSHIM_SOCK info"
echo
./bin/podshimd --listen "unix://$PODSHIM_SOCK" --containerd-address "$CONTAINERD_SOCK" --cni-conf-dir "$CNI_CONF_DIR" "$@"
