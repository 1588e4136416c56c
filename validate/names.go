package validate

import (
	"regexp"
	"sort"
	"strings"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Limits of names and metadata, from Kubernetes' object validation.
const (
	// MaxNameLength bounds metadata names and UIDs (a DNS subdomain).
	MaxNameLength = 253
	// MaxNamespaceLength bounds metadata namespaces (a DNS label).
	MaxNamespaceLength = 63
	// MaxIDLength bounds container and sandbox IDs (podshim's are 64 hex
	// digits; a unique prefix is accepted too).
	MaxIDLength = 64
	// maxQualifiedName and maxPrefix bound a label or annotation key:
	// [prefix/]name, as Kubernetes' IsQualifiedName.
	maxQualifiedName = 63
	maxKeyPrefix     = 253
	// MaxLabelValue bounds a label value. Kubernetes' own label values
	// stop at 63, but kubelet puts the pod name (a DNS subdomain, up to
	// 253) in io.kubernetes.pod.name, so CRI labels take 253.
	MaxLabelValue = 253
	// MaxLabelsSize and MaxAnnotationsSize bound the total size of a
	// config's label and annotation keys and values (Kubernetes'
	// TotalAnnotationSizeLimitB).
	MaxLabelsSize      = 256 << 10
	MaxAnnotationsSize = 256 << 10
)

// name is the character set of a metadata name, namespace or uid: what
// Kubernetes names use, plus upper-case letters and '_' (critest and
// other CRI clients use them). Nothing that could split a path, a CNI
// argument list or a log line.
var name = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)

// idForm is a container or sandbox ID, or a prefix of one.
var idForm = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Name checks a metadata name, namespace or uid of at most max bytes.
func Name(field, s string, max int) error {
	switch {
	case s == "":
		return invalid(field, "is required")
	case len(s) > max:
		return invalid(field, "is %d bytes, at most %d", len(s), max)
	case !name.MatchString(s):
		return invalid(field, "%q must be letters, digits, '.', '_' and '-', starting and ending with a letter or digit", clip(s))
	}
	return nil
}

// ID checks a container or sandbox ID given in a request. An empty ID is
// InvalidArgument; an unknown one is for the stores to answer (NotFound).
func ID(field, id string) error {
	switch {
	case id == "":
		return invalid(field, "is required")
	case len(id) > MaxIDLength || !idForm.MatchString(id):
		return invalid(field, "%q is not an ID (letters and digits, at most %d)", clip(id), MaxIDLength)
	}
	return nil
}

// PodMetadata checks a sandbox's metadata.
func PodMetadata(field string, m *runtime.PodSandboxMetadata) error {
	if m == nil {
		return invalid(field, "is required")
	}
	if err := Name(field+".name", m.Name, MaxNameLength); err != nil {
		return err
	}
	if err := Name(field+".namespace", m.Namespace, MaxNamespaceLength); err != nil {
		return err
	}
	// attempt is a uint32 restart count: every value is valid, and it is
	// part of the sandbox's name.
	return Name(field+".uid", m.Uid, MaxNameLength)
}

// ContainerMetadata checks a container's metadata.
func ContainerMetadata(field string, m *runtime.ContainerMetadata) error {
	if m == nil {
		return invalid(field, "is required")
	}
	// attempt: as for pods, any uint32.
	return Name(field+".name", m.Name, MaxNameLength)
}

// qualifiedName is the name part of a Kubernetes qualified name.
var qualifiedName = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)

// dnsSubdomain is the prefix part of a qualified name.
var dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// Key checks a label or annotation key: [prefix/]name as Kubernetes'
// IsQualifiedName.
func Key(field, k string) error {
	prefix, n, hasPrefix := strings.Cut(k, "/")
	if !hasPrefix {
		n, prefix = prefix, ""
	}
	switch {
	case hasPrefix && (prefix == "" || len(prefix) > maxKeyPrefix || !dnsSubdomain.MatchString(prefix)):
		return invalid(field, "key %q: the prefix must be a DNS subdomain of at most %d bytes", clip(k), maxKeyPrefix)
	case n == "" || len(n) > maxQualifiedName || !qualifiedName.MatchString(n):
		return invalid(field, "key %q: the name must be at most %d letters, digits, '-', '_' or '.', starting and ending with a letter or digit", clip(k), maxQualifiedName)
	}
	return nil
}

// Labels checks a config's labels: qualified keys, values of at most
// MaxLabelValue bytes without control characters, MaxLabelsSize in all.
func Labels(field string, labels map[string]string) error {
	total := 0
	for _, k := range sortedKeys(labels) {
		v := labels[k]
		if err := Key(field, k); err != nil {
			return err
		}
		if len(v) > MaxLabelValue || hasControl(v) {
			return invalid(field+"["+k+"]", "value must be at most %d bytes without control characters", MaxLabelValue)
		}
		total += len(k) + len(v)
	}
	if total > MaxLabelsSize {
		return invalid(field, "total %d bytes, at most %d", total, MaxLabelsSize)
	}
	return nil
}

// Annotations checks a config's annotations: qualified keys, no NUL,
// MaxAnnotationsSize in all.
func Annotations(field string, annotations map[string]string) error {
	total := 0
	for _, k := range sortedKeys(annotations) {
		v := annotations[k]
		if err := Key(field, k); err != nil {
			return err
		}
		if strings.ContainsRune(v, 0) {
			return invalid(field+"["+k+"]", "value holds a NUL byte")
		}
		total += len(k) + len(v)
		if total > MaxAnnotationsSize {
			return invalid(field, "more than %d bytes in all", MaxAnnotationsSize)
		}
	}
	return nil
}

// sortedKeys gives the keys in order, so that the same map always gets
// the same error.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
