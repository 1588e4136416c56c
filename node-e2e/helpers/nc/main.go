// Command nc is the part of OpenBSD netcat (agnhost's image installs
// netcat-openbsd) that the node conformance suite uses: `echo hostName | nc
// -w 1 -u IP PORT` (test/e2e/framework/network DialFromNode) and plain TCP
// `nc [-w SECS] HOST PORT`. It sends stdin to HOST:PORT and copies what comes
// back to stdout; -w is the idle timeout in seconds. Debian's busybox nc,
// which the harness's agnhost image would otherwise run, has no -u, so
// node-e2e/images puts this one at /usr/bin/nc, ahead of /bin on PATH.
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// options are the parsed command line.
type options struct {
	udp  bool
	wait time.Duration
	addr string
}

// parse reads -u, -w SECS (or -wSECS), -v and -n (accepted, no effect),
// then HOST PORT.
func parse(args []string) (options, error) {
	o := options{}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-u":
			o.udp = true
		case a == "-v" || a == "-n":
		case len(a) >= 2 && a[:2] == "-w":
			v := a[2:]
			if v == "" {
				if i+1 == len(args) {
					return o, errors.New("-w needs a number of seconds")
				}
				i++
				v = args[i]
			}
			n, err := strconv.ParseFloat(v, 64)
			if err != nil || n < 0 {
				return o, fmt.Errorf("-w %q: not a number of seconds", v)
			}
			o.wait = time.Duration(n * float64(time.Second))
		case len(a) > 1 && a[0] == '-':
			return o, fmt.Errorf("unsupported option %s", a)
		default:
			rest = append(rest, a)
		}
	}
	if len(rest) != 2 {
		return o, errors.New("usage: nc [-u] [-w SECS] HOST PORT")
	}
	o.addr = net.JoinHostPort(rest[0], rest[1])
	return o, nil
}

// run returns the exit status: 0 when the exchange worked, 1 otherwise.
func run(args []string, in io.Reader, out, errOut io.Writer) int {
	o, err := parse(args)
	if err != nil {
		fmt.Fprintln(errOut, "nc:", err)
		return 1
	}
	if err := exchange(o, in, out); err != nil {
		fmt.Fprintln(errOut, "nc:", err)
		return 1
	}
	return 0
}

// exchange sends in to o.addr and copies replies to out until the peer
// closes (TCP) or nothing arrives for o.wait (UDP: 1 s when -w is not given,
// TCP: no limit).
func exchange(o options, in io.Reader, out io.Writer) error {
	network := "tcp"
	if o.udp {
		network = "udp"
	}
	dialTimeout := o.wait
	if dialTimeout == 0 {
		dialTimeout = 30 * time.Second
	}
	c, err := net.DialTimeout(network, o.addr, dialTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	data, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	if len(data) > 0 || o.udp {
		if _, err := c.Write(data); err != nil {
			return err
		}
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	idle := o.wait
	if o.udp && idle == 0 {
		idle = time.Second
	}
	buf := make([]byte, 64<<10)
	for {
		if idle > 0 {
			c.SetReadDeadline(time.Now().Add(idle))
		}
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := out.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		var ne net.Error
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &ne) && ne.Timeout():
			// Like netcat: the idle timeout ends the exchange quietly.
			return nil
		default:
			return err
		}
	}
}
