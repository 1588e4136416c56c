package spec

import (
	"testing"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// benchConfig is a typical kubelet container: numeric user, a few mounts
// and env vars, resources, RuntimeDefault seccomp, dropped capabilities.
func benchConfig() *runtime.ContainerConfig {
	cfg := testContainerConfig()
	cfg.Envs = []*runtime.KeyValue{{Key: "A", Value: []byte("1")}, {Key: "B", Value: []byte("2")}, {Key: "KUBERNETES_SERVICE_HOST", Value: []byte("10.0.0.1")}}
	cfg.Mounts = []*runtime.Mount{
		{ContainerPath: "/var/run/secrets/kubernetes.io/serviceaccount", HostPath: "/tmp", Readonly: true},
		{ContainerPath: "/dev/termination-log", HostPath: "/etc/hostname"},
		{ContainerPath: "/etc/hosts", HostPath: "/etc/hosts"},
	}
	cfg.Linux.Resources = &runtime.LinuxContainerResources{CpuShares: 102, CpuPeriod: 100000, CpuQuota: 50000, MemoryLimitInBytes: 128 << 20, OomScoreAdj: 1000}
	sc := cfg.Linux.SecurityContext
	sc.RunAsUser = i64(1000)
	sc.Capabilities = &runtime.Capability{DropCapabilities: []string{"NET_RAW"}}
	sc.Seccomp = &runtime.SecurityProfile{ProfileType: runtime.SecurityProfile_RuntimeDefault}
	sc.MaskedPaths = defaultMasked
	sc.ReadonlyPaths = defaultReadonly
	return cfg
}

// BenchmarkContainer measures building the options only.
func BenchmarkContainer(b *testing.B) {
	cfg, sb, img := benchConfig(), testSandbox(), testImage()
	o := Options{RestrictOOMScoreAdj: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Container("c", cfg, sb, img, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkContainerGenerateSpec measures Container plus oci.GenerateSpec,
// user resolution reading the rootfs' /etc/passwd and /etc/group included.
func BenchmarkContainerGenerateSpec(b *testing.B) {
	cfg, sb, img, root := benchConfig(), testSandbox(), testImage(), testRootfs(b)
	o := Options{RestrictOOMScoreAdj: true}
	b.ReportAllocs()
	for b.Loop() {
		opts, err := Container("c", cfg, sb, img, o)
		if err != nil {
			b.Fatal(err)
		}
		s, err := generate(b, root, "c", opts)
		if err != nil {
			b.Fatal(err)
		}
		if s.Process.User.UID != 1000 || s.Linux.Seccomp == nil {
			b.Fatalf("unexpected spec: user %+v", s.Process.User)
		}
	}
}

// BenchmarkPauseGenerateSpec measures Pause plus oci.GenerateSpec.
func BenchmarkPauseGenerateSpec(b *testing.B) {
	sb, img, root := testSandbox(), pauseImage(), testRootfs(b)
	sb.Pid = 0
	b.ReportAllocs()
	for b.Loop() {
		opts, err := Pause(sb, img, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := generate(b, root, sb.ID, opts); err != nil {
			b.Fatal(err)
		}
	}
}
