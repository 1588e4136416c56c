package validate

import (
	"bytes"
	"fmt"
	"math"
	"strings"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Limits of a process's command line and environment. The exec request
// goes from containerd to the shim in one ttrpc message of at most 4 MiB
// with the container's whole process spec; the kernel takes at most
// 128 KiB per argument (MAX_ARG_STRLEN) and 2 MiB for arguments and
// environment together (ARG_MAX with the default 8 MiB stack).
const (
	// MaxArgLength is the kernel's MAX_ARG_STRLEN less the NUL.
	MaxArgLength = 128<<10 - 1
	// MaxArgsSize bounds the bytes of a command line (arguments plus
	// NULs), leaving room in ARG_MAX for the environment.
	MaxArgsSize = 1 << 20
	// MaxArgs bounds the number of arguments.
	MaxArgs = 64 << 10
	// MaxEnvs bounds the number of environment variables.
	MaxEnvs = 16 << 10
	// MaxEnvSize bounds the bytes of the environment.
	MaxEnvSize = 1 << 20
	// MaxTimeoutSeconds bounds timeouts given in seconds (a time.Duration
	// holds about 292 years).
	MaxTimeoutSeconds = math.MaxInt64 / int64(1e9)
	// maxID is the largest user or group ID Kubernetes accepts
	// (2^31-1).
	maxID = math.MaxInt32
)

// Command checks a command line: the arguments fit the kernel's limits
// and hold no NUL. required: at least one argument, the first non-empty.
func Command(field string, args []string, required bool) error {
	if len(args) == 0 {
		if required {
			return invalid(field, "is required")
		}
		return nil
	}
	if required && args[0] == "" {
		return invalid(field+"[0]", "is empty")
	}
	if len(args) > MaxArgs {
		return invalid(field, "%d arguments, at most %d", len(args), MaxArgs)
	}
	total := 0
	for i, a := range args {
		if len(a) > MaxArgLength {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "is %d bytes, at most %d", len(a), MaxArgLength)
		}
		if strings.ContainsRune(a, 0) {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "holds a NUL byte")
		}
		total += len(a) + 1
		if total > MaxArgsSize {
			return invalid(field, "is more than %d bytes", MaxArgsSize)
		}
	}
	return nil
}

// Envs checks environment variables: a key without '=' or NUL, a value
// without NUL, within the kernel's limits.
func Envs(field string, envs []*runtime.KeyValue) error {
	if len(envs) > MaxEnvs {
		return invalid(field, "%d variables, at most %d", len(envs), MaxEnvs)
	}
	total := 0
	for i, kv := range envs {
		f := fmt.Sprintf("%s[%d]", field, i)
		if kv == nil {
			return invalid(f, "is empty")
		}
		if kv.Key == "" || strings.ContainsAny(kv.Key, "=\x00") {
			return invalid(f+".key", "%q must be non-empty, without '=' or NUL", clip(kv.Key))
		}
		if bytes.IndexByte(kv.Value, 0) >= 0 {
			return invalid(f+".value", "holds a NUL byte")
		}
		if len(kv.Key)+len(kv.Value) > MaxArgLength {
			return invalid(f, "is more than %d bytes", MaxArgLength)
		}
		total += len(kv.Key) + len(kv.Value) + 2
		if total > MaxEnvSize {
			return invalid(field, "is more than %d bytes", MaxEnvSize)
		}
	}
	return nil
}

// Timeout checks a timeout in seconds: not negative, and small enough to
// be a duration.
func Timeout(field string, seconds int64) error {
	if seconds < 0 || seconds > MaxTimeoutSeconds {
		return invalid(field, "%d is out of range [0, %d] seconds", seconds, int64(MaxTimeoutSeconds))
	}
	return nil
}

// userID checks a user or group ID given in a request.
func userID(field string, v int64) error {
	if v < 0 || v > maxID {
		return invalid(field, "%d is out of range [0, %d]", v, int64(maxID))
	}
	return nil
}
