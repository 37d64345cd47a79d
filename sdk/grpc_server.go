package sdk

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/hashicorp/go-hclog"

	"github.com/itsm-connector/itsm-connector/sdk/internal/calltrace"
	"github.com/itsm-connector/itsm-connector/sdk/internal/itsmv1"
)

// grpcServer serves a Plugin as itsm.v1.PluginService inside the plugin
// process.
type grpcServer struct {
	itsmv1.UnimplementedPluginServiceServer
	impl Plugin
	// Lifecycle calls the plugin implements; nil for those it does not.
	lookup, update, resolve, reopen func(context.Context, *Request) (*WorkItem, error)
}

var _ itsmv1.PluginServiceServer = (*grpcServer)(nil)

func newGRPCServer(p Plugin) *grpcServer {
	s := &grpcServer{impl: p}
	if x, ok := p.(Looker); ok {
		s.lookup = x.Lookup
	}
	if x, ok := p.(Updater); ok {
		s.update = x.Update
	}
	if x, ok := p.(Resolver); ok {
		s.resolve = x.Resolve
	}
	if x, ok := p.(Reopener); ok {
		s.reopen = x.Reopen
	}
	return s
}

// recoverPanic turns a panic in the plugin into a permanent error for the
// call instead of a crash: a crashed plugin would be restarted and fed the
// same call again, forever. The stack goes to the plugin's log.
func recoverPanic(method string, err *error) {
	if r := recover(); r != nil {
		hclog.Default().Error("plugin panicked", "call", method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*err = errorToStatus(Permanent(fmt.Errorf("plugin panicked in %s: %v", method, r)))
	}
}

// Info answers the plugin's Info with APIVersions filled when the plugin left
// them empty and the lifecycle capabilities taken from the interfaces the
// plugin implements (they are what the host can actually call).
func (s *grpcServer) Info(ctx context.Context, _ *itsmv1.InfoRequest) (_ *itsmv1.InfoResponse, err error) {
	defer recoverPanic("Info", &err)
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, errorToStatus(err)
	}
	return infoToWire(completeInfo(s.impl, info)), nil
}

// completeInfo fills what Serve promises to fill in a plugin's Info.
func completeInfo(p Plugin, info Info) Info {
	if len(info.APIVersions) == 0 {
		info.APIVersions = []int{APIVersion}
	}
	have := CapabilitiesOf(p)
	info.Capabilities.Lookup = have.Lookup
	info.Capabilities.Update = have.Update
	info.Capabilities.Resolve = have.Resolve
	info.Capabilities.Reopen = have.Reopen
	info.Capabilities.ReadStatus = have.ReadStatus
	return info
}

// Configure passes the configuration to the plugin.
func (s *grpcServer) Configure(ctx context.Context, in *itsmv1.ConfigureRequest) (_ *itsmv1.ConfigureResponse, err error) {
	ctx, finish := calltrace.Serve(ctx)
	defer finish()
	defer recoverPanic("Configure", &err)
	if err := s.impl.Configure(ctx, Config(in.GetConfigJson())); err != nil {
		return nil, errorToStatus(err)
	}
	return &itsmv1.ConfigureResponse{}, nil
}

// call runs one lifecycle call: decode, dispatch (or refuse when the plugin
// does not implement it), encode.
func (s *grpcServer) call(ctx context.Context, method string, in *itsmv1.Call,
	fn func(context.Context, *Request) (*WorkItem, error)) (_ *itsmv1.WorkItem, err error) {
	// Spans the plugin starts under ctx go back to the host in the
	// trailer, when the host traces this call.
	ctx, finish := calltrace.Serve(ctx)
	defer finish()
	defer recoverPanic(method, &err)
	if fn == nil {
		return nil, errorToStatus(Permanent(fmt.Errorf("plugin does not implement %s", method)))
	}
	req, err := callFromWire(in)
	if err != nil {
		return nil, errorToStatus(Permanent(fmt.Errorf("%s: malformed request from host: %w", method, err)))
	}
	wi, err := fn(ctx, req)
	if err != nil {
		return nil, errorToStatus(err)
	}
	return workItemToWire(wi), nil
}

// Lookup answers an empty response when the plugin found nothing.
func (s *grpcServer) Lookup(ctx context.Context, in *itsmv1.LookupRequest) (*itsmv1.LookupResponse, error) {
	wi, err := s.call(ctx, "Lookup", in.GetCall(), s.lookup)
	if err != nil {
		return nil, err
	}
	return &itsmv1.LookupResponse{WorkItem: wi}, nil
}

// Create refuses a nil work item: the host could not record it and would
// create a duplicate on the next attempt.
func (s *grpcServer) Create(ctx context.Context, in *itsmv1.CreateRequest) (*itsmv1.CreateResponse, error) {
	wi, err := s.call(ctx, "Create", in.GetCall(), s.impl.Create)
	if err != nil {
		return nil, err
	}
	if wi == nil {
		return nil, errorToStatus(Permanent(fmt.Errorf("plugin bug: Create returned neither a work item nor an error")))
	}
	return &itsmv1.CreateResponse{WorkItem: wi}, nil
}

// Update passes a re-fire to the plugin.
func (s *grpcServer) Update(ctx context.Context, in *itsmv1.UpdateRequest) (*itsmv1.UpdateResponse, error) {
	wi, err := s.call(ctx, "Update", in.GetCall(), s.update)
	if err != nil {
		return nil, err
	}
	return &itsmv1.UpdateResponse{WorkItem: wi}, nil
}

// Resolve passes a resolution to the plugin.
func (s *grpcServer) Resolve(ctx context.Context, in *itsmv1.ResolveRequest) (*itsmv1.ResolveResponse, error) {
	wi, err := s.call(ctx, "Resolve", in.GetCall(), s.resolve)
	if err != nil {
		return nil, err
	}
	return &itsmv1.ResolveResponse{WorkItem: wi}, nil
}

// Reopen passes a reopening to the plugin.
func (s *grpcServer) Reopen(ctx context.Context, in *itsmv1.ReopenRequest) (*itsmv1.ReopenResponse, error) {
	wi, err := s.call(ctx, "Reopen", in.GetCall(), s.reopen)
	if err != nil {
		return nil, err
	}
	return &itsmv1.ReopenResponse{WorkItem: wi}, nil
}
