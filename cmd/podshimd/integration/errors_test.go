package integration

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestErrorCodes checks the gRPC codes kubelet relies on.
func TestErrorCodes(t *testing.T) {
	ctx, cancel := callCtx()
	defer cancel()
	unknown := randHex(32)

	t.Run("UnknownIDsNotFound", func(t *testing.T) {
		calls := map[string]error{}
		_, calls["StartContainer"] = rt().StartContainer(ctx, &criapi.StartContainerRequest{ContainerId: unknown})
		_, calls["ContainerStatus"] = rt().ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: unknown})
		_, calls["PodSandboxStatus"] = rt().PodSandboxStatus(ctx, &criapi.PodSandboxStatusRequest{PodSandboxId: unknown})
		_, calls["ExecSync"] = rt().ExecSync(ctx, &criapi.ExecSyncRequest{ContainerId: unknown, Cmd: []string{"true"}})
		for call, err := range calls {
			if grpcCode(err) != codes.NotFound {
				t.Errorf("%s(unknown id) = %v (code %v), want NotFound", call, err, grpcCode(err))
			}
		}
	})

	t.Run("StopRemoveUnknownOK", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			if _, err := rt().StopContainer(ctx, &criapi.StopContainerRequest{ContainerId: unknown, Timeout: 1}); err != nil {
				t.Errorf("StopContainer(unknown) #%d: %v", i+1, err)
			}
			if _, err := rt().RemoveContainer(ctx, &criapi.RemoveContainerRequest{ContainerId: unknown}); err != nil {
				t.Errorf("RemoveContainer(unknown) #%d: %v", i+1, err)
			}
			if _, err := rt().StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: unknown}); err != nil {
				t.Errorf("StopPodSandbox(unknown) #%d: %v", i+1, err)
			}
			if _, err := rt().RemovePodSandbox(ctx, &criapi.RemovePodSandboxRequest{PodSandboxId: unknown}); err != nil {
				t.Errorf("RemovePodSandbox(unknown) #%d: %v", i+1, err)
			}
		}
	})

	t.Run("NameConflicts", func(t *testing.T) {
		pod := podConfig(t)
		podID := runPod(t, pod)
		_, err := rt().RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: pod})
		if grpcCode(err) != codes.AlreadyExists {
			t.Errorf("second RunPodSandbox with the same metadata = %v (code %v), want AlreadyExists", err, grpcCode(err))
		}
		cfg := containerConfig(pod, "twin", "sleep", "3600")
		createContainer(t, podID, pod, cfg)
		_, err = rt().CreateContainer(ctx, &criapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: pod})
		if grpcCode(err) != codes.AlreadyExists {
			t.Errorf("second CreateContainer with the same metadata = %v (code %v), want AlreadyExists", err, grpcCode(err))
		}
		// Another attempt is another name.
		cfg.Metadata.Attempt = 1
		createContainer(t, podID, pod, cfg)
	})

	t.Run("InvalidPodConfig", func(t *testing.T) {
		base := func() *criapi.PodSandboxConfig { return podConfig(t) }
		cases := []struct {
			field string
			cfg   *criapi.PodSandboxConfig
		}{
			{"metadata", func() *criapi.PodSandboxConfig { c := base(); c.Metadata = nil; return c }()},
			{"metadata.name", func() *criapi.PodSandboxConfig { c := base(); c.Metadata.Name = ""; return c }()},
			{"metadata.namespace", func() *criapi.PodSandboxConfig { c := base(); c.Metadata.Namespace = ""; return c }()},
			{"metadata.uid", func() *criapi.PodSandboxConfig { c := base(); c.Metadata.Uid = ""; return c }()},
			{"config", nil},
		}
		for _, tc := range cases {
			resp, err := rt().RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: tc.cfg})
			if err == nil {
				removePod(t, resp.PodSandboxId)
			}
			if grpcCode(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tc.field) {
				t.Errorf("RunPodSandbox without %s = %v (code %v), want InvalidArgument naming %q", tc.field, err, grpcCode(err), tc.field)
			}
		}
	})

	t.Run("InvalidContainerConfig", func(t *testing.T) {
		pod := podConfig(t)
		podID := runPod(t, pod)
		noMeta := containerConfig(pod, "x", "true")
		noMeta.Metadata = nil
		noImage := containerConfig(pod, "y", "true")
		noImage.Image = nil
		for field, cfg := range map[string]*criapi.ContainerConfig{"metadata": noMeta, "image": noImage} {
			_, err := rt().CreateContainer(ctx, &criapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: pod})
			if grpcCode(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), field) {
				t.Errorf("CreateContainer without %s = %v (code %v), want InvalidArgument naming %q", field, err, grpcCode(err), field)
			}
		}
		_, err := rt().CreateContainer(ctx, &criapi.CreateContainerRequest{PodSandboxId: unknown, Config: containerConfig(pod, "z", "true"), SandboxConfig: pod})
		if grpcCode(err) != codes.NotFound {
			t.Errorf("CreateContainer in an unknown pod = %v (code %v), want NotFound", err, grpcCode(err))
		}
	})

	// The daemon still serves.
	if _, err := rt().Version(ctx, &criapi.VersionRequest{}); err != nil {
		t.Errorf("Version after the bad requests: %v", err)
	}
	if _, err := rt().ListPodSandbox(ctx, &criapi.ListPodSandboxRequest{}); err != nil {
		t.Errorf("ListPodSandbox after the bad requests: %v", err)
	}
}
