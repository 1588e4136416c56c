package selfcheck

import (
	"fmt"
	"os"

	"github.com/podshim/podshim/cri/spec"
)

// checkPrivileges: podshimd runs as root, and with CAP_SYS_RESOURCE, so
// that containers may get an oom_score_adj below its own.
func checkPrivileges() []Finding {
	root := Finding{Check: "user", Detail: "root"}
	if os.Geteuid() != 0 {
		root.Severity = Error
		root.Detail = fmt.Sprintf("running as uid %d: podshimd creates namespaces, mounts and cgroups and needs root", os.Geteuid())
		root.Fix = "run podshimd (and podshimd check) as root"
	}
	capf := Finding{Check: "CAP_SYS_RESOURCE"}
	adj, canLower, err := spec.CurrentOOMScoreAdj()
	switch {
	case err != nil:
		capf.Severity, capf.Detail = Warning, err.Error()
	case !canLower:
		capf.Severity = Warning
		capf.Detail = fmt.Sprintf("missing: containers' oom_score_adj is clamped to podshimd's own (%d), "+
			"so pods that should be killed last on out-of-memory (kubelet gives Guaranteed pods -997) are not protected", adj)
		capf.Fix = "run podshimd with CAP_SYS_RESOURCE: as root outside a container, or add the capability to the container podshimd runs in"
	default:
		capf.Detail = fmt.Sprintf("present (podshimd's oom_score_adj %d; containers may go lower)", adj)
	}
	return []Finding{root, capf}
}
