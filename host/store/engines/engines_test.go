package engines

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	s, err := Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatalf("Open(sqlite): %v", err)
	}
	_ = s.Close()
	if _, err := Open(context.Background(), "mysql", "x"); err == nil || !strings.Contains(err.Error(), `unknown driver "mysql"`) {
		t.Errorf("Open(mysql) = %v, want an unknown driver error", err)
	}
	if _, err := Open(context.Background(), "postgres", ""); err == nil || !strings.Contains(err.Error(), "dsn is empty") {
		t.Errorf("Open(postgres, \"\") = %v, want an empty dsn error", err)
	}
}
