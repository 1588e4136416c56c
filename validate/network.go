package validate

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Limits of a pod's network settings.
const (
	// MaxPortMappings bounds a pod's port mappings.
	MaxPortMappings = 1024
	// MaxHostname is the kernel's limit for a host name (HOST_NAME_MAX).
	MaxHostname = 64
	// maxDNSEntries bounds the servers, searches and options of a pod.
	maxDNSEntries = 64
)

// PortMappings checks a pod's port mappings: a known protocol, container
// port 1-65535, host port 0-65535 (0: none), a host IP that parses.
func PortMappings(field string, pms []*runtime.PortMapping) error {
	if len(pms) > MaxPortMappings {
		return invalid(field, "%d port mappings, at most %d", len(pms), MaxPortMappings)
	}
	for i, pm := range pms {
		f := fmt.Sprintf("%s[%d]", field, i)
		if pm == nil {
			return invalid(f, "is empty")
		}
		if _, ok := runtime.Protocol_name[int32(pm.Protocol)]; !ok {
			return invalid(f+".protocol", "%d is not TCP, UDP or SCTP", pm.Protocol)
		}
		if pm.ContainerPort < 1 || pm.ContainerPort > 65535 {
			return invalid(f+".container_port", "%d is out of range [1, 65535]", pm.ContainerPort)
		}
		if pm.HostPort < 0 || pm.HostPort > 65535 {
			return invalid(f+".host_port", "%d is out of range [0, 65535]", pm.HostPort)
		}
		if pm.HostIp != "" {
			if _, err := netip.ParseAddr(pm.HostIp); err != nil {
				return invalid(f+".host_ip", "%q is not an IP address", clip(pm.HostIp))
			}
		}
	}
	return nil
}

// hostnameForm is an RFC 1123 host name (labels of letters, digits and
// '-', dot-separated), optionally fully qualified with a final '.': kubelet
// sends "<pod>.<subdomain>.<namespace>.svc.<cluster domain>" for
// setHostnameAsFQDN, which ends in '.' when the cluster domain is empty.
var hostnameForm = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*\.?$`)

// Hostname checks a pod's host name ("" = the node's).
func Hostname(field, h string) error {
	if h == "" {
		return nil
	}
	if len(h) > MaxHostname || !hostnameForm.MatchString(h) {
		return invalid(field, "%q is not a host name of at most %d letters, digits, '-' and '.'", clip(h), MaxHostname)
	}
	return nil
}

// DNSConfig checks what goes into the pod's resolv.conf: server IPs that
// parse, searches and options without white space.
func DNSConfig(field string, d *runtime.DNSConfig) error {
	if d == nil {
		return nil
	}
	for _, l := range []struct {
		name string
		list []string
	}{{"servers", d.Servers}, {"searches", d.Searches}, {"options", d.Options}} {
		if len(l.list) > maxDNSEntries {
			return invalid(field+"."+l.name, "%d entries, at most %d", len(l.list), maxDNSEntries)
		}
		for i, s := range l.list {
			f := fmt.Sprintf("%s.%s[%d]", field, l.name, i)
			if s == "" || len(s) > 253 || strings.IndexFunc(s, isSpaceOrControl) >= 0 {
				return invalid(f, "%q must be 1-253 bytes without white space or control characters", clip(s))
			}
			if l.name == "servers" {
				if _, err := netip.ParseAddr(s); err != nil {
					return invalid(f, "%q is not an IP address", clip(s))
				}
			}
		}
	}
	return nil
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }
