package integration

import (
	"math"
	"math/rand/v2"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// mutator changes CRI requests at random, through protobuf reflection, so
// that one piece of code reaches every field of every RPC. Its values are
// the ones that broke runtimes before: paths with "..", NUL bytes, 1 MiB
// strings, numbers at the ends of their types, nil sub-messages, long
// lists and maps. It is deterministic for a given rand source.
type mutator struct {
	rng *rand.Rand
	// strs are the string values it picks from (besides generated ones);
	// the live IDs are among them, so that mutated requests also reach
	// existing objects.
	strs []string
	// big counts the 1 MiB strings of the current request (at most 4,
	// to stay below the 16 MiB gRPC message limit).
	big int
}

const mib = 1 << 20

// baseStrings are values for any string field. Absolute paths stay inside
// dir (mount host paths are created by CreateContainer) or name files
// every host has.
func baseStrings(dir string) []string {
	return []string{
		"", "a", "A", "-", ".", "..", "../../../etc/passwd", "a/../../b", "/", dir + "/fuzz-host", dir + "/fuzz-host/../../x",
		"/etc/hosts", "/dev/null", "/proc/self", "a\x00b", "\x00", "\n", "a b", "a;b=c", "%s%n", "${HOME}", "\u00e9\u4e2d\U0001F600",
		"\xff\xfe", strings.Repeat("x", 64), strings.Repeat("y", 254), strings.Repeat("z", 4097),
		"net.ipv4.ip_forward", "kernel.panic", "kernel.shmmax", "vm.swappiness", "0-1", "0-9999", "1,", "2MB", "3MB", "1GB",
		"memory.max", "../cgroup.procs", "127.0.0.1", "::1", "999.1.1.1", "10.0.0.0/8", "localhost:1/x", "busybox",
		"docker.io/library/podshim-fuzz-none:1", "sha256:" + strings.Repeat("0", 64), "-1", "4294967296", "9223372036854775808",
		"io.kubernetes.pod.name", "example.com/key", "Example.COM/Key", "runc", "TCP",
	}
}

// str returns a string to put in a field.
func (m *mutator) str() string {
	switch m.rng.IntN(20) {
	case 0:
		if m.big < 4 {
			m.big++
			return strings.Repeat("M", mib)
		}
		return strings.Repeat("m", 1000)
	case 1:
		// random bytes, any of them
		b := make([]byte, m.rng.IntN(40))
		for i := range b {
			b[i] = byte(m.rng.IntN(256))
		}
		return string(b)
	default:
		return m.strs[m.rng.IntN(len(m.strs))]
	}
}

// extremes are values for integer fields.
var extremes = []int64{0, 1, -1, 2, 1000, 65535, 65536, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64,
	1 << 32, 1 << 40, 1<<44 - 1, 1 << 44, 6 << 20, 4096, 262144, 262145, 1000000, 1000001, -1000, -1001, 1001, 8191}

func (m *mutator) num() int64 { return extremes[m.rng.IntN(len(extremes))] }

// mutate makes up to 3 changes to msg (none in 1 of 16 requests, so that
// the valid paths run too).
func (m *mutator) mutate(msg protoreflect.Message) {
	m.big = 0
	if m.rng.IntN(16) == 0 {
		return
	}
	for n := 1 + m.rng.IntN(3); n > 0; n-- {
		m.change(msg, 0)
	}
}

// change changes one field of msg, or one field below it.
func (m *mutator) change(msg protoreflect.Message, depth int) {
	fields := msg.Descriptor().Fields()
	if fields.Len() == 0 {
		return
	}
	fd := fields.Get(m.rng.IntN(fields.Len()))
	switch {
	case fd.IsMap():
		m.changeMap(msg, fd)
	case fd.IsList():
		m.changeList(msg, fd, depth)
	case fd.Kind() == protoreflect.MessageKind:
		switch {
		case depth > 6 || m.rng.IntN(4) == 0:
			msg.Clear(fd) // nil sub-message
		default:
			m.change(msg.Mutable(fd).Message(), depth+1)
		}
	default:
		msg.Set(fd, m.scalar(fd))
	}
}

func (m *mutator) changeList(msg protoreflect.Message, fd protoreflect.FieldDescriptor, depth int) {
	if m.rng.IntN(5) == 0 {
		msg.Clear(fd)
		return
	}
	list := msg.Mutable(fd).List()
	n := 1
	switch m.rng.IntN(6) {
	case 0:
		n = 1000 // a long list
	case 1:
		n = 20
	}
	for i := 0; i < n; i++ {
		if fd.Kind() == protoreflect.MessageKind {
			el := list.NewElement()
			if m.rng.IntN(3) > 0 && depth < 6 {
				m.change(el.Message(), depth+1)
			}
			list.Append(el) // an empty element stands for a nil one
			continue
		}
		v := m.scalar(fd)
		if s, ok := v.Interface().(string); ok && n > 1 && len(s) >= mib {
			v = protoreflect.ValueOfString(s[:100])
		}
		list.Append(v)
	}
}

func (m *mutator) changeMap(msg protoreflect.Message, fd protoreflect.FieldDescriptor) {
	if m.rng.IntN(5) == 0 {
		msg.Clear(fd)
		return
	}
	mp := msg.Mutable(fd).Map()
	n := 1
	if m.rng.IntN(6) == 0 {
		n = 1000
	}
	for i := 0; i < n; i++ {
		k := m.scalar(fd.MapKey())
		if s, ok := k.Interface().(string); ok && n > 1 {
			if len(s) > 100 {
				s = s[:100]
			}
			k = protoreflect.ValueOfString(strings.ToValidUTF8(s, "") + strings.Repeat("k", i%7) + string(rune('a'+i%26)))
		}
		if fd.MapValue().Kind() == protoreflect.MessageKind {
			mp.Set(k.MapKey(), mp.NewValue())
			continue
		}
		v := m.scalar(fd.MapValue())
		if s, ok := v.Interface().(string); ok && n > 1 && len(s) >= mib {
			v = protoreflect.ValueOfString(s[:100])
		}
		mp.Set(k.MapKey(), v)
	}
}

// scalar returns a value for a non-message field.
func (m *mutator) scalar(fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.StringKind:
		// proto3 strings are UTF-8: gRPC refuses to send others.
		return protoreflect.ValueOfString(strings.ToValidUTF8(m.str(), "\uFFFD"))
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(m.str()))
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(m.rng.IntN(2) == 0)
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		if m.rng.IntN(3) == 0 {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber([]int32{-1, 99, math.MaxInt32}[m.rng.IntN(3)]))
		}
		return protoreflect.ValueOfEnum(vals.Get(m.rng.IntN(vals.Len())).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(m.num()))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(m.num())
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(m.num()))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(m.num()))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(float64(m.num()))
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(m.num()))
	}
	return fd.Default()
}
