package main

import (
	"context"
	"time"
)

// replicas are the connectors -spawn started: the first takes the load,
// the others (-replicas) share its store and only deliver. Their CPU times
// and plugin calls are summed.
type replicas []*spawned

func (rs replicas) cpu() (time.Duration, error) {
	return rs.sum((*spawned).cpu)
}

func (rs replicas) runQueueWait() (time.Duration, error) {
	return rs.sum((*spawned).runQueueWait)
}

func (rs replicas) pluginCPU() (time.Duration, error) {
	return rs.sum((*spawned).pluginCPU)
}

func (rs replicas) sum(f func(*spawned) (time.Duration, error)) (time.Duration, error) {
	var total time.Duration
	for _, s := range rs {
		d, err := f(s)
		if err != nil {
			return 0, err
		}
		total += d
	}
	return total, nil
}

// metricSum scrapes one metric from every replica and adds the samples
// with the same labels.
func (rs replicas) metricSum(ctx context.Context, name string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, s := range rs {
		m, err := s.metric(ctx, name)
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			out[k] += v
		}
	}
	return out, nil
}
