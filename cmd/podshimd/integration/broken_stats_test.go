package integration

import (
	"context"
	"testing"
	"time"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestStatsSurviveBrokenPod takes the cgroups of one pod (its pause's and
// one container's) away while the pod runs: every stats and metrics call
// still answers, with the other pods complete and the broken one partial.
func TestStatsSurviveBrokenPod(t *testing.T) {
	pods, _, ctrs := podsWithContainers(t, 3)
	broken, brokenCtr, healthyCtr := pods[1], ctrs[1][0], ctrs[1][1]
	_, info := podStatus(t, broken)
	removeCgroup(t, info.CgroupsPath)
	removeCgroup(t, containerCgroup(t, brokenCtr))

	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()

	checkPods := func(call string, stats []*criapi.PodSandboxStats) {
		t.Helper()
		byID := map[string]*criapi.PodSandboxStats{}
		for _, s := range stats {
			byID[s.Attributes.GetId()] = s
		}
		for i, id := range pods {
			s := byID[id]
			if s == nil {
				t.Fatalf("%s: pod %d (%s) missing", call, i, id)
			}
			ctrStats := map[string]*criapi.ContainerStats{}
			for _, c := range s.Linux.GetContainers() {
				ctrStats[c.Attributes.GetId()] = c
			}
			for _, c := range ctrs[i][:2] {
				cs := ctrStats[c]
				if cs == nil {
					t.Fatalf("%s: pod %d container %s missing", call, i, c)
				}
				if c == brokenCtr {
					if cs.Cpu != nil {
						t.Errorf("%s: the broken container reports CPU %v", call, cs.Cpu)
					}
					continue
				}
				if cs.Cpu.GetUsageCoreNanoSeconds().GetValue() == 0 || cs.Memory.GetWorkingSetBytes() == nil {
					t.Errorf("%s: pod %d container %s has no CPU or memory: %v", call, i, c, cs)
				}
			}
			if id != broken && s.Linux.GetCpu().GetUsageCoreNanoSeconds().GetValue() == 0 {
				t.Errorf("%s: healthy pod %d has no CPU usage", call, i)
			}
		}
	}

	list, err := rt().ListPodSandboxStats(ctx, &criapi.ListPodSandboxStatsRequest{})
	if err != nil {
		t.Fatalf("ListPodSandboxStats with a broken pod: %v", err)
	}
	checkPods("ListPodSandboxStats", list.Stats)
	st, err := rt().StreamPodSandboxStats(ctx, &criapi.StreamPodSandboxStatsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	checkPods("StreamPodSandboxStats", drain(t, "StreamPodSandboxStats", st.Recv, (*criapi.StreamPodSandboxStatsResponse).GetPodSandboxStats))
	one, err := rt().PodSandboxStats(ctx, &criapi.PodSandboxStatsRequest{PodSandboxId: broken})
	if err != nil {
		t.Fatalf("PodSandboxStats of the broken pod: %v", err)
	}
	// The broken pod alone, with the others from the list.
	var withOne []*criapi.PodSandboxStats
	for _, s := range list.Stats {
		if s.Attributes.GetId() == broken {
			s = one.Stats
		}
		withOne = append(withOne, s)
	}
	checkPods("PodSandboxStats", withOne)

	cst, err := rt().StreamContainerStats(ctx, &criapi.StreamContainerStatsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	streamed := drain(t, "StreamContainerStats", cst.Recv, (*criapi.StreamContainerStatsResponse).GetContainerStats)
	clist, err := rt().ListContainerStats(ctx, &criapi.ListContainerStatsRequest{})
	if err != nil {
		t.Fatalf("ListContainerStats with a broken pod: %v", err)
	}
	for call, stats := range map[string][]*criapi.ContainerStats{"ListContainerStats": clist.Stats, "StreamContainerStats": streamed} {
		found := 0
		for _, s := range stats {
			switch s.Attributes.GetId() {
			case brokenCtr:
				found++
				if s.Cpu != nil {
					t.Errorf("%s: broken container reports CPU", call)
				}
			case healthyCtr, ctrs[0][0], ctrs[2][1]:
				found++
				if s.Cpu.GetUsageCoreNanoSeconds().GetValue() == 0 {
					t.Errorf("%s: container %s has no CPU usage", call, s.Attributes.GetId())
				}
			}
		}
		if found != 4 {
			t.Errorf("%s: found %d of the 4 containers checked", call, found)
		}
	}

	// Metrics: the healthy pods complete, the broken pod without what is
	// gone, and no error.
	waitFor(t, 60*time.Second, "pod metrics of all three pods", func() (bool, string) {
		resp, err := rt().ListPodSandboxMetrics(ctx, &criapi.ListPodSandboxMetricsRequest{})
		if err != nil {
			t.Fatalf("ListPodSandboxMetrics with a broken pod: %v", err)
		}
		byPod := map[string]map[string]bool{}
		for _, p := range resp.PodMetrics {
			cs := map[string]bool{}
			for _, c := range p.ContainerMetrics {
				for _, m := range c.Metrics {
					if m.Name == "container_cpu_usage_seconds_total" {
						cs[c.ContainerId] = true
					}
				}
			}
			byPod[p.PodSandboxId] = cs
		}
		for i, id := range pods {
			cs, ok := byPod[id]
			if !ok {
				return false, "pod " + id + " not collected yet"
			}
			for _, c := range ctrs[i][:2] {
				if c == brokenCtr {
					if cs[c] {
						t.Fatalf("the broken container has CPU metrics")
					}
				} else if !cs[c] {
					return false, "container " + c + " has no CPU metrics yet"
				}
			}
		}
		return true, ""
	})
	ms, err := rt().StreamPodSandboxMetrics(ctx, &criapi.StreamPodSandboxMetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := drain(t, "StreamPodSandboxMetrics", ms.Recv, (*criapi.StreamPodSandboxMetricsResponse).GetPodSandboxMetrics); len(got) < 3 {
		t.Fatalf("StreamPodSandboxMetrics with a broken pod: %d pods", len(got))
	}
}
