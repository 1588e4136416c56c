package validate

import (
	"regexp"
	"strings"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// maxSysctls bounds the number of sysctls of a pod; maxSysctlValue the
// length of one value.
const (
	maxSysctls     = 256
	maxSysctlValue = 4096
	maxSysctlName  = 253
)

// sysctlName is kubelet's form of a sysctl name: segments of lower-case
// letters, digits, '-' and '_', separated by '.' or '/'.
var sysctlName = regexp.MustCompile(`^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$`)

// ipcSysctls are the kernel.* sysctls of the IPC namespace (besides
// fs.mqueue.*), as kubelet and runc list them.
var ipcSysctls = map[string]bool{
	"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true, "kernel.sem": true,
	"kernel.shmall": true, "kernel.shmmax": true, "kernel.shmmni": true, "kernel.shm_rmid_forced": true,
}

// Sysctls checks a pod's sysctls: each must belong to a namespace the pod
// has of its own (net.* without host network; kernel.shm*, kernel.msg*,
// kernel.sem and fs.mqueue.* without host IPC; kernel.hostname and
// kernel.domainname without host UTS), as runc requires; a sysctl of the
// host would change the whole node.
func Sysctls(field string, sysctls map[string]string, ns *runtime.NamespaceOption) error {
	if len(sysctls) > maxSysctls {
		return invalid(field, "%d sysctls, at most %d", len(sysctls), maxSysctls)
	}
	for name, value := range sysctls {
		f := field + "[" + clip(name) + "]"
		if len(name) > maxSysctlName || !sysctlName.MatchString(name) {
			return invalid(f, "is not a sysctl name")
		}
		if len(value) > maxSysctlValue || strings.ContainsAny(value, "\x00\n") {
			return invalid(f, "value must be at most %d bytes without NUL or newline", maxSysctlValue)
		}
		dotted := dotSeparated(name)
		switch {
		case strings.HasPrefix(dotted, "net."):
			if ns.GetNetwork() == runtime.NamespaceMode_NODE {
				return invalid(f, "is a network sysctl and the pod uses the host network")
			}
		case ipcSysctls[dotted] || strings.HasPrefix(dotted, "fs.mqueue."):
			if ns.GetIpc() == runtime.NamespaceMode_NODE {
				return invalid(f, "is an IPC sysctl and the pod uses the host IPC namespace")
			}
		case dotted == "kernel.hostname" || dotted == "kernel.domainname":
			if ns.GetNetwork() == runtime.NamespaceMode_NODE {
				// The pod's UTS namespace is the host's with host network.
				return invalid(f, "is a UTS sysctl and the pod uses the host's UTS namespace (host network)")
			}
		default:
			return invalid(f, "is not namespaced: it would change the whole node")
		}
	}
	return nil
}

// dotSeparated turns a name in slash form ("net/ipv4/ip_forward") into
// the dotted form, as kubelet does: when the first separator is a slash,
// slashes and dots swap.
func dotSeparated(name string) string {
	i := strings.IndexAny(name, "./")
	if i < 0 || name[i] == '.' {
		return name
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, name)
}
