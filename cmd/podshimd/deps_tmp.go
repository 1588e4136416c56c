package main

import (
	_ "github.com/containerd/containerd"
	_ "github.com/containerd/containerd/oci"
	_ "github.com/containerd/containerd/pkg/netns"
	_ "github.com/containerd/containerd/remotes/docker/config"
	_ "github.com/containerd/containerd/contrib/seccomp"
	_ "github.com/containernetworking/cni/libcni"
	_ "github.com/sirupsen/logrus"
	_ "google.golang.org/grpc"
	_ "k8s.io/cri-api/pkg/apis/runtime/v1"
	_ "github.com/distribution/reference"
	_ "github.com/pelletier/go-toml/v2"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/mutate"
	_ "k8s.io/cri-streaming/pkg/streaming"
)
func main() {}
