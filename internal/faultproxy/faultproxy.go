// Package faultproxy is an HTTP reverse proxy that injects the failures object
// stores produce in production: 5xx answers, connection resets, requests that
// stall, and responses lost after the server applied the request. Tests put it
// between lakefuse and a real S3 server (versitygw) to prove that retries, stall
// deadlines and the commit protocol hold. It forwards the Host header unchanged, so
// signed requests stay valid.
package faultproxy

import (
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
)

// Fault is what the proxy does to one request.
type Fault int

const (
	// Pass forwards the request and its response.
	Pass Fault = iota
	// ServerError answers 503 SlowDown without forwarding.
	ServerError
	// Reset closes the connection without forwarding or answering.
	Reset
	// Stall holds the request without forwarding or answering until the client
	// gives up (or the proxy closes).
	Stall
	// LoseResponse forwards the request (the server applies it) and then closes
	// the connection instead of returning the response.
	LoseResponse
)

// Rule picks the fault for a request; Pass when it does not care.
type Rule func(r *http.Request) Fault

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	srv   *httptest.Server
	proxy *httputil.ReverseProxy

	mu     sync.Mutex
	rule   Rule
	counts map[Fault]int
	done   chan struct{}
}

// Start starts a proxy to target (for example http://127.0.0.1:7070) on a
// loopback port. Close stops it.
func Start(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &Proxy{proxy: httputil.NewSingleHostReverseProxy(u), counts: map[Fault]int{}, done: make(chan struct{})}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	return p, nil
}

// URL is the proxy's base URL, to use as the S3 endpoint.
func (p *Proxy) URL() string { return p.srv.URL }

// Close stops the proxy and releases stalled requests.
func (p *Proxy) Close() {
	close(p.done)
	p.srv.CloseClientConnections()
	p.srv.Close()
}

// SetRule replaces the rule; nil passes everything.
func (p *Proxy) SetRule(r Rule) {
	p.mu.Lock()
	p.rule = r
	p.mu.Unlock()
}

// Count returns how many requests got fault f.
func (p *Proxy) Count(f Fault) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[f]
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	f := Pass
	if p.rule != nil {
		f = p.rule(r)
	}
	p.counts[f]++
	p.mu.Unlock()
	switch f {
	case ServerError:
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>injected by faultproxy</Message></Error>`)
	case Reset:
		hijackAndClose(w)
	case Stall:
		select {
		case <-r.Context().Done():
		case <-p.done:
		}
		hijackAndClose(w)
	case LoseResponse:
		rec := httptest.NewRecorder()
		p.proxy.ServeHTTP(rec, r)
		hijackAndClose(w)
	default:
		p.proxy.ServeHTTP(w, r)
	}
}

func hijackAndClose(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("faultproxy: the response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // a reset, not an orderly close
	}
	_ = conn.Close()
}

// Random returns a rule that fails requests at random, seeded: a ServerError with
// probability pErr, a Reset with probability pReset.
func Random(seed uint64, pErr, pReset float64) Rule {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var mu sync.Mutex
	return func(*http.Request) Fault {
		mu.Lock()
		x := rng.Float64()
		mu.Unlock()
		switch {
		case x < pErr:
			return ServerError
		case x < pErr+pReset:
			return Reset
		}
		return Pass
	}
}

// Once returns a rule that gives fault f to the first request with this method
// whose path ends with suffix, and passes everything else.
func Once(method, suffix string, f Fault) Rule {
	var mu sync.Mutex
	fired := false
	return func(r *http.Request) Fault {
		mu.Lock()
		defer mu.Unlock()
		if !fired && r.Method == method && strings.HasSuffix(r.URL.Path, suffix) {
			fired = true
			return f
		}
		return Pass
	}
}

// Always returns a rule that gives fault f to every request matching method whose
// path contains part.
func Always(method, part string, f Fault) Rule {
	return func(r *http.Request) Fault {
		if r.Method == method && strings.Contains(r.URL.Path, part) {
			return f
		}
		return Pass
	}
}
