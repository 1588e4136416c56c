// Package deploy holds what runs podshim as a node service — the systemd
// unit in systemd/, installed by `make install` — and the tests of that
// installation: the installed files, `systemd-analyze verify` of the unit,
// and crictl, podshimd check and the one-instance lock against a running
// installed podshimd.
package deploy
