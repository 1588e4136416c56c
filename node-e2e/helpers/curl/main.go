// Command curl is the part of curl that the e2e suites run inside agnhost
// containers (for example `curl -g -q -s 'http://IP:PORT/dial?...'`), as a
// static binary for the agnhost stand-in image. It supports -g, -q, -s, -S,
// -k, -v, -i, -I, -f, -L, -X METHOD, -H HEADER, -d DATA, -o FILE,
// --max-time S, -m S and --connect-timeout S, and exits like curl: 0 on a
// response (22 with -f on an HTTP error), 6 when the host does not resolve,
// 7 when the connection fails, 28 on a timeout and 2 on a bad command line.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed command line.
type options struct {
	url, method, data, output  string
	headers                    []string
	silent, showErr, insecure  bool
	verbose, include, headOnly bool
	fail, follow               bool
	maxTime, connectTimeout    time.Duration
}

func parse(args []string) (options, error) {
	o := options{method: ""}
	seconds := func(v string) (time.Duration, error) {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("bad number of seconds %q", v)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("option %s needs a value", a)
			}
			i++
			return args[i], nil
		}
		var err error
		switch a {
		case "-g", "--globoff", "-q", "--disable":
		case "-s", "--silent":
			o.silent = true
		case "-S", "--show-error":
			o.showErr = true
		case "-k", "--insecure":
			o.insecure = true
		case "-v", "--verbose":
			o.verbose = true
		case "-i", "--include":
			o.include = true
		case "-I", "--head":
			o.headOnly = true
		case "-f", "--fail":
			o.fail = true
		case "-L", "--location":
			o.follow = true
		case "-X", "--request":
			o.method, err = value()
		case "-H", "--header":
			var h string
			h, err = value()
			o.headers = append(o.headers, h)
		case "-d", "--data":
			o.data, err = value()
		case "-o", "--output":
			o.output, err = value()
		case "-m", "--max-time":
			var v string
			if v, err = value(); err == nil {
				o.maxTime, err = seconds(v)
			}
		case "--connect-timeout":
			var v string
			if v, err = value(); err == nil {
				o.connectTimeout, err = seconds(v)
			}
		default:
			if strings.HasPrefix(a, "-") {
				return o, fmt.Errorf("option %s: is unknown", a)
			}
			o.url = a
		}
		if err != nil {
			return o, err
		}
	}
	if o.url == "" {
		return o, errors.New("no URL specified")
	}
	if !strings.Contains(o.url, "://") {
		o.url = "http://" + o.url
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "curl: %v\n", err)
		return 2
	}
	ctx := context.Background()
	if o.maxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.maxTime)
		defer cancel()
	}
	dialer := &net.Dialer{Timeout: o.connectTimeout}
	client := &http.Client{Transport: &http.Transport{
		DialContext:     dialer.DialContext,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: o.insecure},
		Proxy:           http.ProxyFromEnvironment,
	}}
	if !o.follow {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	method := o.method
	var body io.Reader
	if o.data != "" {
		body = strings.NewReader(o.data)
		if method == "" {
			method = http.MethodPost
		}
	}
	if o.headOnly {
		method = http.MethodHead
	}
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, o.url, body)
	if err != nil {
		fmt.Fprintf(stderr, "curl: (3) %v\n", err)
		return 3
	}
	req.Header.Set("User-Agent", "curl/podshim-stand-in")
	if o.data != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, h := range o.headers {
		if k, v, ok := strings.Cut(h, ":"); ok {
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		code := 7
		var dnsErr *net.DNSError
		switch {
		case errors.As(err, &dnsErr):
			code = 6
		case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
			code = 28
		}
		if !o.silent || o.showErr {
			fmt.Fprintf(stderr, "curl: (%d) %v\n", code, err)
		}
		return code
	}
	defer resp.Body.Close()
	if o.fail && resp.StatusCode >= 400 {
		if !o.silent || o.showErr {
			fmt.Fprintf(stderr, "curl: (22) The requested URL returned error: %d\n", resp.StatusCode)
		}
		return 22
	}
	out := stdout
	if o.output != "" && o.output != "-" {
		f, err := os.Create(o.output)
		if err != nil {
			fmt.Fprintf(stderr, "curl: (23) %v\n", err)
			return 23
		}
		defer f.Close()
		out = f
	}
	if o.verbose {
		fmt.Fprintf(stderr, "< %s %s\n", resp.Proto, resp.Status)
	}
	if o.include || o.headOnly {
		fmt.Fprintf(out, "%s %s\r\n", resp.Proto, resp.Status)
		_ = resp.Header.Write(out)
		fmt.Fprint(out, "\r\n")
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return 28
		}
		fmt.Fprintf(stderr, "curl: (56) %v\n", err)
		return 56
	}
	return 0
}
