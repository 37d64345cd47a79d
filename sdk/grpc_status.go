package sdk

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/itsm-connector/itsm-connector/sdk/internal/itsmv1"
)

// ReadStatus reads the remote state of req's items. An empty request
// answers nothing without a call. A request with an item without an ID or
// an ID twice, and an answer that does not fit the request (see
// CheckStatusAnswer), are permanent errors: no retry changes them.
func (c *grpcClient) ReadStatus(ctx context.Context, req *StatusRequest) ([]WorkItemStatus, error) {
	if err := checkStatusRequest(req); err != nil {
		return nil, Permanent(fmt.Errorf("ReadStatus: %w", err))
	}
	if len(req.Items) == 0 {
		return nil, nil
	}
	resp, err := c.rpc.ReadStatus(ctx, statusRequestToWire(req))
	if err != nil {
		return nil, errorFromStatus(ctx, "ReadStatus", err)
	}
	got := statusesFromWire(resp.GetStatuses())
	if err := CheckStatusAnswer(req, got); err != nil {
		return nil, Permanent(fmt.Errorf("plugin answered ReadStatus wrongly: %w", err))
	}
	return got, nil
}

// ReadStatus passes a batch status read to the plugin, or refuses it when
// the plugin does not implement StatusReader.
func (s *grpcServer) ReadStatus(ctx context.Context, in *itsmv1.ReadStatusRequest) (_ *itsmv1.ReadStatusResponse, err error) {
	defer recoverPanic("ReadStatus", &err)
	r, ok := s.impl.(StatusReader)
	if !ok {
		return nil, errorToStatus(Permanent(fmt.Errorf("plugin does not implement ReadStatus")))
	}
	out, err := r.ReadStatus(ctx, statusRequestFromWire(in))
	if err != nil {
		return nil, errorToStatus(err)
	}
	return &itsmv1.ReadStatusResponse{Statuses: statusesToWire(out)}, nil
}

func statusRequestToWire(r *StatusRequest) *itsmv1.ReadStatusRequest {
	w := &itsmv1.ReadStatusRequest{Items: make([]*itsmv1.WorkItem, 0, len(r.Items))}
	for i := range r.Items {
		w.Items = append(w.Items, workItemToWire(&r.Items[i]))
	}
	return w
}

func statusRequestFromWire(w *itsmv1.ReadStatusRequest) *StatusRequest {
	r := &StatusRequest{Items: make([]WorkItem, 0, len(w.GetItems()))}
	for _, x := range w.GetItems() {
		if wi := workItemFromWire(x); wi != nil {
			r.Items = append(r.Items, *wi)
		}
	}
	return r
}

func statusesToWire(s []WorkItemStatus) []*itsmv1.WorkItemStatus {
	out := make([]*itsmv1.WorkItemStatus, 0, len(s))
	for _, st := range s {
		w := &itsmv1.WorkItemStatus{
			Id:         st.ID,
			Found:      st.Found,
			State:      stateToWire[st.State],
			ResolvedBy: st.ResolvedBy,
			Resolution: st.Resolution,
			Fields:     st.Fields,
		}
		if !st.ResolvedAt.IsZero() {
			w.ResolvedAt = timestamppb.New(st.ResolvedAt)
		}
		out = append(out, w)
	}
	return out
}

func statusesFromWire(w []*itsmv1.WorkItemStatus) []WorkItemStatus {
	out := make([]WorkItemStatus, 0, len(w))
	for _, x := range w {
		st := WorkItemStatus{
			ID:         x.GetId(),
			Found:      x.GetFound(),
			State:      stateFromWire[x.GetState()],
			ResolvedBy: x.GetResolvedBy(),
			Resolution: x.GetResolution(),
		}
		if x.GetResolvedAt() != nil {
			st.ResolvedAt = x.GetResolvedAt().AsTime()
		}
		if len(x.GetFields()) > 0 {
			st.Fields = x.GetFields()
		}
		out = append(out, st)
	}
	return out
}
