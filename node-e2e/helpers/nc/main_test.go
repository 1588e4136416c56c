package main

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
)

// TestUDPAsTheSuiteRunsIt: `echo hostName | nc -w 1 -u IP PORT` against a
// UDP echo server that answers like agnhost netexec's UDP server.
func TestUDPAsTheSuiteRunsIt(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 1024)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if strings.TrimSpace(string(buf[:n])) == "hostName" {
				pc.WriteTo([]byte("netserver-0"), from)
			}
		}
	}()
	host, port, _ := net.SplitHostPort(pc.LocalAddr().String())
	var out, errOut bytes.Buffer
	start := time.Now()
	code := run([]string{"-w", "1", "-u", host, port}, strings.NewReader("hostName\n"), &out, &errOut)
	if code != 0 || out.String() != "netserver-0" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v: -w 1 should end it after 1 s idle", d)
	}
}

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1024)
		n, _ := c.Read(buf)
		c.Write(append([]byte("got "), buf[:n]...))
	}()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	var out, errOut bytes.Buffer
	if code := run([]string{"-w2", host, port}, strings.NewReader("ping"), &out, &errOut); code != 0 || out.String() != "got ping" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}

	// A closed port fails with exit status 1.
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	_, closed, _ := net.SplitHostPort(ln2.Addr().String())
	ln2.Close()
	if code := run([]string{"-w", "1", "127.0.0.1", closed}, strings.NewReader(""), &out, &errOut); code != 1 {
		t.Errorf("closed port: exit %d, want 1", code)
	}
}

func TestBadArguments(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{{}, {"-w"}, {"-w", "x", "h", "1"}, {"-z", "h", "1"}, {"h"}} {
		if code := run(args, strings.NewReader(""), &out, &errOut); code != 1 {
			t.Errorf("args %q: exit %d, want 1", args, code)
		}
	}
}
