package main

import (
	"debug/buildinfo"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Machine describes where the benchmark ran.
type Machine struct {
	Hostname    string `json:"hostname"`
	Kernel      string `json:"kernel"`
	CPU         string `json:"cpu"`
	CPUs        int    `json:"cpus"`
	MemoryTotal string `json:"memory_total"`
	LoadStart   string `json:"load_at_start"`
	LoadEnd     string `json:"load_at_end"`
	Cgroups     string `json:"cgroups"`
	GoVersion   string `json:"go_version"`
}

// Versions are the versions of everything compared.
type Versions struct {
	Podshim      string `json:"podshim"`        // CRI Version of podshimd
	PodshimGit   string `json:"podshim_git"`    // commit of the tree podshimd was built from
	ContainerdCR string `json:"containerd_cri"` // CRI Version of containerd's CRI plugin
	Containerd   string `json:"containerd"`     // containerd --version
	Runc         string `json:"runc"`
	CNIPlugins   string `json:"cni_plugins"`
}

// describeMachine reads the machine's description from /proc and uname.
func describeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadStart: loadAvg()}
	m.Hostname, _ = os.Hostname()
	m.Kernel = cmdOutput("uname", "-srm")
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "model name") {
				m.CPU = strings.TrimSpace(line[strings.IndexByte(line, ':')+1:])
				break
			}
		}
	}
	if bytes := readKB("/proc/meminfo", "MemTotal:"); bytes > 0 {
		m.MemoryTotal = formatMB(bytes/1024) + " MB"
	}
	m.Cgroups = "v1 (hybrid)"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		m.Cgroups = "v2"
	}
	return m
}

// loadAvg returns the 1, 5 and 15 minute load averages.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// toolVersions asks containerd, runc and dpkg for their versions, and the
// podshimd binary for the commit it was built from.
func toolVersions(podshimd string) Versions {
	return Versions{
		Containerd: shortVersion(cmdOutput("containerd", "--version")),
		Runc:       shortVersion(cmdOutput("runc", "--version")),
		CNIPlugins: cmdOutput("dpkg-query", "-W", "-f=${Version}", "containernetworking-plugins"),
		PodshimGit: builtFrom(podshimd),
	}
}

// builtFrom returns the VCS revision go build stamped into a binary
// ("-dirty" when the tree had changes), or the work tree's commit marked
// as such when the binary has none.
func builtFrom(binary string) string {
	info, err := buildinfo.ReadFile(binary)
	if err == nil {
		var rev, modified string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if modified == "true" {
				rev += "-dirty"
			}
			return rev
		}
	}
	return "work tree at " + gitDescribe()
}

// gitDescribe returns the current commit, marked "-dirty" when the tree has
// changes.
func gitDescribe() string {
	rev := cmdOutput("git", "rev-parse", "--short=12", "HEAD")
	if rev == "" {
		return "unknown"
	}
	if cmdOutput("git", "status", "--porcelain", "--untracked-files=no") != "" {
		rev += "-dirty"
	}
	return rev
}

func cmdOutput(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
