//go:build linux

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/e2e/harness"
)

// Header flood: each connection sends the start of a request and then
// ~1 MB of one header without ever ending it, as an attacker needs no
// token to do.
const (
	floodConns = 300
	floodPad   = 1000 << 10 // under net/http's default cap of 1 MiB, which let the whole header in
	floodChunk = 16 << 10
	// floodMaxGrowth bounds how much the host's resident memory may grow
	// while under the flood. Without a header cap 300 such connections
	// took a host from 29 MB to 931 MB; with it they add about 40 MB
	// (header buffers, and garbage the collector lets grow to GOGC=400).
	floodMaxGrowth = 100 << 20
	// floodRaceFactor scales the bound for binaries built with the race
	// detector, which shadows every allocation: 140 to 220 MB are added
	// with the cap; without it the flood passes even this bound.
	floodRaceFactor = 6
)

// TestListenersBoundMemoryUnderHeaderFlood: 300 connections, each
// trickling an unfinished header of about 1 MB, to the webhook and then to
// the admin listener, keep the host's resident memory within a bound.
func TestListenersBoundMemoryUnderHeaderFlood(t *testing.T) {
	c := harness.Start(t, harness.Options{Config: fileConfig, LogLevel: "info"})
	for _, l := range []struct{ name, url string }{{"webhook", c.URL()}, {"admin", c.AdminURL()}} {
		t.Run(l.name, func(t *testing.T) {
			u, err := url.Parse(l.url)
			if err != nil {
				t.Fatal(err)
			}
			base, err := c.RSS()
			if err != nil {
				t.Fatal(err)
			}
			growth := int64(floodMaxGrowth)
			if harness.RaceBuilt() {
				growth *= floodRaceFactor
			}
			peak, err := flood(t, c, u.Host, base+growth)
			t.Logf("%s: RSS %d MB before, peak %d MB under %d connections sending %d KB headers",
				l.name, base>>20, peak>>20, floodConns, floodPad>>10)
			if peak > base+growth {
				t.Fatalf("%s: resident memory grew from %d MB to %d MB under the header flood; want at most %d MB more",
					l.name, base>>20, peak>>20, growth>>20)
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	// The host still serves afterwards.
	c.SendFile(t, "testdata/metric-fired.json")
}

// flood opens floodConns connections to addr, each writing an unfinished
// request header of floodPad bytes, and samples the host's RSS until
// every writer is done (its header written, or the connection cut by the
// host). It returns the highest RSS seen; it stops early, closing every
// connection, once RSS passes limit, so that a host without limits is not
// driven into the machine's memory.
func flood(t *testing.T, c *harness.Connector, addr string, limit int64) (int64, error) {
	var (
		wg    sync.WaitGroup
		stop  = make(chan struct{})
		done  atomic.Int32
		mu    sync.Mutex
		conns []net.Conn
	)
	defer func() {
		mu.Lock()
		for _, cn := range conns {
			cn.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	head := fmt.Appendf(nil, "POST /api/v1/alerts HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-Pad: ", addr)
	chunk := bytes.Repeat([]byte("a"), floodChunk)
	for range floodConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer done.Add(1)
			cn, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				return // the host refused: nothing held
			}
			mu.Lock()
			conns = append(conns, cn)
			mu.Unlock()
			// A small send buffer makes a write wait until the host has
			// read most of what came before: a writer that is done has
			// had its header read as far as the host reads it. The
			// deadline bounds a write the host never reads (a connection
			// waiting in the listen queue, or one the host stopped
			// reading without closing it).
			_ = cn.(*net.TCPConn).SetWriteBuffer(floodChunk)
			_ = cn.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if _, err := cn.Write(head); err != nil {
				return
			}
			for sent := 0; sent < floodPad; sent += floodChunk {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := cn.Write(chunk); err != nil {
					return // cut off by the host
				}
			}
		}()
	}
	var peak int64
	sample := func() error {
		rss, err := c.RSS()
		peak = max(peak, rss)
		return err
	}
	var sampleErr error
	err := harness.Poll(2*time.Minute, func() (bool, string) {
		if sampleErr = sample(); sampleErr != nil || peak > limit {
			return true, ""
		}
		n := done.Load()
		return n == floodConns, fmt.Sprintf("%d of %d connections done", n, floodConns)
	})
	close(stop)
	if err != nil || sampleErr != nil || peak > limit {
		return peak, errors.Join(err, sampleErr)
	}
	// Every header is now as far as the host let it go, and each
	// connection the host did not cut is still open: memory is at its
	// highest.
	return peak, sample()
}
