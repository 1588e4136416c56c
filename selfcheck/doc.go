// Package selfcheck is `podshimd check`: it looks at the node podshim
// would run on (containerd, runc, CNI, cgroups, directories,
// capabilities, registry settings, the pause image) and says, in plain
// words, what is wrong and how to fix it. It also finds the versions of
// containerd and runc for `podshimd --version`.
package selfcheck
