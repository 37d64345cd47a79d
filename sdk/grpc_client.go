package sdk

import (
	"context"
	"fmt"

	"github.com/itsm-connector/itsm-connector/sdk/internal/itsmv1"
)

// grpcClient is the host's client of a plugin process (package hostside's
// Client): every call goes over itsm.v1.PluginService and comes back as the
// plain Go types.
type grpcClient struct {
	rpc itsmv1.PluginServiceClient
}

var _ interface {
	Plugin
	Looker
	Updater
	Resolver
	Reopener
	StatusReader
} = (*grpcClient)(nil)

// Info fetches the plugin's description.
func (c *grpcClient) Info(ctx context.Context) (Info, error) {
	resp, err := c.rpc.Info(ctx, &itsmv1.InfoRequest{})
	if err != nil {
		return Info{}, errorFromStatus(ctx, "Info", err)
	}
	return infoFromWire(resp), nil
}

// Configure sends the backend's configuration; problems come back as
// Diagnostics (or a classified Error).
func (c *grpcClient) Configure(ctx context.Context, cfg Config) error {
	if _, err := c.rpc.Configure(ctx, &itsmv1.ConfigureRequest{ConfigJson: cfg}); err != nil {
		return errorFromStatus(ctx, "Configure", err)
	}
	return nil
}

// encode builds the wire form of req; a request that cannot be encoded
// (e.g. a NaN in fields) will never succeed, so the error is permanent.
func encode(method string, req *Request) (*itsmv1.Call, error) {
	if req == nil {
		return nil, Permanent(fmt.Errorf("%s: nil request", method))
	}
	call, err := callToWire(req)
	if err != nil {
		return nil, Permanent(fmt.Errorf("%s: %w", method, err))
	}
	return call, nil
}

// Lookup returns (nil, nil) when the plugin found no work item for the key.
func (c *grpcClient) Lookup(ctx context.Context, req *Request) (*WorkItem, error) {
	call, err := encode("Lookup", req)
	if err != nil {
		return nil, err
	}
	resp, err := c.rpc.Lookup(ctx, &itsmv1.LookupRequest{Call: call})
	if err != nil {
		return nil, errorFromStatus(ctx, "Lookup", err)
	}
	return workItemFromWire(resp.GetWorkItem()), nil
}

// Create opens a work item.
func (c *grpcClient) Create(ctx context.Context, req *Request) (*WorkItem, error) {
	call, err := encode("Create", req)
	if err != nil {
		return nil, err
	}
	resp, err := c.rpc.Create(ctx, &itsmv1.CreateRequest{Call: call})
	if err != nil {
		return nil, errorFromStatus(ctx, "Create", err)
	}
	return workItemFromWire(resp.GetWorkItem()), nil
}

// Update adds new information to req.Ref.
func (c *grpcClient) Update(ctx context.Context, req *Request) (*WorkItem, error) {
	call, err := encode("Update", req)
	if err != nil {
		return nil, err
	}
	resp, err := c.rpc.Update(ctx, &itsmv1.UpdateRequest{Call: call})
	if err != nil {
		return nil, errorFromStatus(ctx, "Update", err)
	}
	return workItemFromWire(resp.GetWorkItem()), nil
}

// Resolve resolves req.Ref.
func (c *grpcClient) Resolve(ctx context.Context, req *Request) (*WorkItem, error) {
	call, err := encode("Resolve", req)
	if err != nil {
		return nil, err
	}
	resp, err := c.rpc.Resolve(ctx, &itsmv1.ResolveRequest{Call: call})
	if err != nil {
		return nil, errorFromStatus(ctx, "Resolve", err)
	}
	return workItemFromWire(resp.GetWorkItem()), nil
}

// Reopen reopens req.Ref.
func (c *grpcClient) Reopen(ctx context.Context, req *Request) (*WorkItem, error) {
	call, err := encode("Reopen", req)
	if err != nil {
		return nil, err
	}
	resp, err := c.rpc.Reopen(ctx, &itsmv1.ReopenRequest{Call: call})
	if err != nil {
		return nil, errorFromStatus(ctx, "Reopen", err)
	}
	return workItemFromWire(resp.GetWorkItem()), nil
}
