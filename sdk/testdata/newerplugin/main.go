// Command newerplugin stands in for a plugin built with a newer SDK than
// the host's: it speaks itsm.v1 through the generated code directly and
// sends what a later minor version of the protocol could add, which this
// host's code has never heard of:
//
//   - capabilities in fields Capabilities does not have (100 and 101), next
//     to the known ones: lookup, update, resolve and comment (not reopen,
//     not read_status);
//   - unknown fields on InfoResponse, Attribute and WorkItem;
//   - API versions [1, 2], serving a version 2 set besides version 1, as a
//     plugin that knows a v2 protocol would (go-plugin picks the highest
//     version both sides offer, so a v1 host gets v1);
//   - from Update, a work item state the host does not know (3);
//   - from Create with the correlation key "future-error", an error whose
//     kind the host does not know (9).
//
// host/pluginhost's compatibility test starts it as a real subprocess.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/itsm-connector/itsm-connector/sdk/internal/itsmv1"
)

// withUnknown appends fields this protocol version does not define to m,
// as a newer sender's encoder would: field number n with a varint value
// for even n, a string for odd n.
func withUnknown[M proto.Message](m M, fields ...protowire.Number) M {
	var b []byte
	for _, n := range fields {
		if n%2 == 0 {
			b = protowire.AppendTag(b, n, protowire.VarintType)
			b = protowire.AppendVarint(b, 1)
		} else {
			b = protowire.AppendTag(b, n, protowire.BytesType)
			b = protowire.AppendString(b, fmt.Sprintf("field %d from a newer protocol", n))
		}
	}
	r := m.ProtoReflect()
	r.SetUnknown(append(r.GetUnknown(), protoreflect.RawFields(b)...))
	return m
}

type server struct {
	itsmv1.UnimplementedPluginServiceServer
	mu     sync.Mutex
	prefix string
}

func (s *server) Info(context.Context, *itsmv1.InfoRequest) (*itsmv1.InfoResponse, error) {
	return withUnknown(&itsmv1.InfoResponse{
		Name:        "newer",
		Version:     "9.0.0",
		ApiVersions: []int32{1, 2},
		Capabilities: withUnknown(&itsmv1.Capabilities{
			Lookup: true, Update: true, Resolve: true, Comment: true,
		}, 100, 101),
		Schema: &itsmv1.Schema{Attributes: []*itsmv1.Attribute{
			withUnknown(&itsmv1.Attribute{Name: "prefix", Type: "string", Required: true, Doc: "Prefix of work item keys."}, 8, 9),
		}},
	}, 10, 11), nil
}

func (s *server) Configure(_ context.Context, req *itsmv1.ConfigureRequest) (*itsmv1.ConfigureResponse, error) {
	var cfg struct {
		Prefix string `json:"prefix"`
	}
	if err := json.Unmarshal(req.GetConfigJson(), &cfg); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	s.mu.Lock()
	s.prefix = cfg.Prefix
	s.mu.Unlock()
	return &itsmv1.ConfigureResponse{}, nil
}

func (s *server) item(call *itsmv1.Call, state itsmv1.WorkItemState) *itsmv1.WorkItem {
	id := "1"
	if ref := call.GetRef(); ref != nil {
		id = ref.GetId()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return withUnknown(&itsmv1.WorkItem{
		Id:             id,
		Key:            s.prefix + "-" + id,
		State:          state,
		CorrelationKey: call.GetCorrelationKey(),
	}, 20, 21)
}

func (s *server) Lookup(context.Context, *itsmv1.LookupRequest) (*itsmv1.LookupResponse, error) {
	return &itsmv1.LookupResponse{}, nil
}

func (s *server) Create(_ context.Context, req *itsmv1.CreateRequest) (*itsmv1.CreateResponse, error) {
	if req.GetCall().GetCorrelationKey() == "future-error" {
		st, err := status.New(codes.Unknown, "a failure of a kind this host does not know").
			WithDetails(&itsmv1.Error{Kind: itsmv1.ErrorKind(9), Message: "a failure of a kind this host does not know"})
		if err != nil {
			return nil, err
		}
		return nil, st.Err()
	}
	return &itsmv1.CreateResponse{WorkItem: s.item(req.GetCall(), itsmv1.WorkItemState_WORK_ITEM_STATE_OPEN)}, nil
}

func (s *server) Update(_ context.Context, req *itsmv1.UpdateRequest) (*itsmv1.UpdateResponse, error) {
	return &itsmv1.UpdateResponse{WorkItem: s.item(req.GetCall(), itsmv1.WorkItemState(3))}, nil
}

func (s *server) Resolve(_ context.Context, req *itsmv1.ResolveRequest) (*itsmv1.ResolveResponse, error) {
	return &itsmv1.ResolveResponse{WorkItem: s.item(req.GetCall(), itsmv1.WorkItemState_WORK_ITEM_STATE_RESOLVED)}, nil
}

// v1 registers the itsm.v1 service.
type v1 struct{ plugin.NetRPCUnsupportedPlugin }

func (v1) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	itsmv1.RegisterPluginServiceServer(s, &server{})
	return nil
}

func (v1) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, fmt.Errorf("newerplugin is a plugin, not a host")
}

// v2 stands for a protocol version 2 this host does not speak: it serves
// nothing, so a host that negotiated it would fail at its first call.
type v2 struct{ v1 }

func (v2) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }

func main() {
	plugin.Serve(&plugin.ServeConfig{
		// The handshake every itsm-connector plugin uses (docs/plugin-protocol.md).
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  1,
			MagicCookieKey:   "ITSM_CONNECTOR_PLUGIN",
			MagicCookieValue: "a7c4d0e2-itsm-connector",
		},
		VersionedPlugins: map[int]plugin.PluginSet{
			1: {"itsm": v1{}},
			2: {"itsm": v2{}},
		},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}
