package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"
)

// spec is one measured run against one URL.
type spec struct {
	URL string
	// Tokens are sent round-robin as bearer tokens; none sends no header.
	Tokens []string
	// Concurrency is the number of connections (and requests in flight).
	Concurrency int
	// Total stops after this many requests; 0 means no count limit.
	Total int
	// Duration stops sending after this long; 0 means no time limit.
	Duration time.Duration
	// Rate is requests per second on a fixed schedule (open loop); 0 sends
	// as fast as the connections allow (closed loop).
	Rate float64
	// Timeout bounds one request.
	Timeout time.Duration
	Seq     *sequence
	Bodies  *payloads
}

// outcome is what a run measured.
type outcome struct {
	Requests int
	// Acked counts 202 responses; AckLatency holds their latencies, sorted.
	Acked      int
	AckLatency []time.Duration
	// Status counts responses other than 202 by status code.
	Status map[int]int
	// Errors counts requests that got no response, by kind; ErrorSample
	// keeps one message per kind.
	Errors      map[string]int
	ErrorSample map[string]string
	// Elapsed runs from the first scheduled request to the last response.
	Elapsed time.Duration
	// FiredAckedAt is when the first 202 for each alert's Fired arrived,
	// by alert id: where time to ticket starts.
	FiredAckedAt map[string]time.Time
}

// AckRate is acknowledged requests per second.
func (o outcome) AckRate() float64 {
	if o.Elapsed <= 0 {
		return 0
	}
	return float64(o.Acked) / o.Elapsed.Seconds()
}

// Percentile returns the p-th percentile (0 < p <= 100) of the ack
// latencies; 0 when there are none.
func (o outcome) Percentile(p float64) time.Duration { return percentile(o.AckLatency, p) }

// job is one request to send; at is its scheduled start (zero in a closed
// loop: the worker starts it at once).
type job struct{ at time.Time }

// tally is one worker's share of the outcome.
type tally struct {
	requests    int
	ack         []time.Duration
	status      map[int]int
	errors      map[string]int
	errorSample map[string]string
	last        time.Time
	firedAcked  map[string]time.Time
}

// newClient returns an HTTP client with one keep-alive connection per worker.
func newClient(s spec) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        s.Concurrency,
		MaxIdleConnsPerHost: s.Concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: s.Timeout}
}

// run sends the load of s and measures every response. Latency is taken
// from a request's scheduled start, not from when a connection was free, so
// an open-loop run counts the time requests wait behind a slow server
// (no coordinated omission). Cancelling ctx stops sending; requests in
// flight finish.
func run(ctx context.Context, s spec) outcome {
	client := newClient(s)
	defer client.CloseIdleConnections()

	buffer := 0
	if s.Rate > 0 {
		// An open loop never waits for a worker: the schedule runs ahead
		// and the latency of a queued request includes its wait.
		buffer = 1 << 16
	}
	jobs := make(chan job, buffer)
	tallies := make([]*tally, s.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range s.Concurrency {
		t := &tally{status: map[int]int{}, errors: map[string]int{}, errorSample: map[string]string{}, firedAcked: map[string]time.Time{}}
		tallies[w] = t
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body []byte
			k := w
			for j := range jobs {
				at := j.at
				if at.IsZero() {
					at = time.Now()
				}
				n := s.Seq.nextNotice()
				body = s.Bodies.render(body[:0], n, time.Now())
				tok := ""
				if len(s.Tokens) > 0 {
					tok = s.Tokens[k%len(s.Tokens)]
					k += s.Concurrency
				}
				status, err := send(ctx, client, s.URL, tok, body)
				end := time.Now()
				t.requests++
				t.last = end
				switch {
				case err != nil:
					kind := errorKind(err)
					t.errors[kind]++
					if _, ok := t.errorSample[kind]; !ok {
						t.errorSample[kind] = err.Error()
					}
				case status == http.StatusAccepted:
					t.ack = append(t.ack, end.Sub(at))
					if _, seen := t.firedAcked[n.alertID]; !n.resolved && !seen {
						t.firedAcked[n.alertID] = end
					}
				default:
					t.status[status]++
				}
			}
		}()
	}

	interval := time.Duration(0)
	if s.Rate > 0 {
		interval = time.Duration(float64(time.Second) / s.Rate)
	}
produce:
	for i := 0; s.Total == 0 || i < s.Total; i++ {
		var j job
		if interval > 0 {
			j.at = start.Add(time.Duration(i) * interval)
			if d := time.Until(j.at); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					break produce
				}
			}
		}
		if s.Duration > 0 && time.Since(start) >= s.Duration {
			break
		}
		select {
		case jobs <- j:
		case <-ctx.Done():
			break produce
		}
	}
	close(jobs)
	wg.Wait()

	o := outcome{Status: map[int]int{}, Errors: map[string]int{}, ErrorSample: map[string]string{}, FiredAckedAt: map[string]time.Time{}}
	var last time.Time
	for _, t := range tallies {
		o.Requests += t.requests
		o.Acked += len(t.ack)
		o.AckLatency = append(o.AckLatency, t.ack...)
		for k, v := range t.status {
			o.Status[k] += v
		}
		for k, v := range t.errors {
			o.Errors[k] += v
			if _, ok := o.ErrorSample[k]; !ok {
				o.ErrorSample[k] = t.errorSample[k]
			}
		}
		if t.last.After(last) {
			last = t.last
		}
		for id, at := range t.firedAcked {
			if prev, ok := o.FiredAckedAt[id]; !ok || at.Before(prev) {
				o.FiredAckedAt[id] = at
			}
		}
	}
	slices.Sort(o.AckLatency)
	if !last.IsZero() {
		o.Elapsed = last.Sub(start)
	}
	return o
}

// send posts one alert and drains the response so the connection is reused.
func send(ctx context.Context, client *http.Client, url, token string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// errorKind classifies a transport error for the report.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EMFILE):
		return "out of sockets"
	}
	return "other"
}
