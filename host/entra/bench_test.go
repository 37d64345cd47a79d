package entra

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"testing"
)

// Run with: go test -run=^$ -bench=. -benchmem ./host/entra

func benchEnv(b *testing.B) (*env, string) {
	b.Helper()
	e := newEnv(b, nil, WithHooks(Hooks{}))
	return e, e.mint(b, tok{})
}

// BenchmarkVerifyWarm is a token seen before: hash, cache hit, expiry check.
func BenchmarkVerifyWarm(b *testing.B) {
	e, raw := benchEnv(b)
	ctx := context.Background()
	if _, err := e.v.Verify(ctx, raw); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.v.Verify(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateWarm adds reading the Authorization header.
func BenchmarkAuthenticateWarm(b *testing.B) {
	e, raw := benchEnv(b)
	ctx := context.Background()
	r := e.request("Bearer " + raw)
	if _, err := e.v.Authenticate(ctx, r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.v.Authenticate(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyWarmParallel is the warm path from every core at once.
func BenchmarkVerifyWarmParallel(b *testing.B) {
	e, raw := benchEnv(b)
	ctx := context.Background()
	if _, err := e.v.Verify(ctx, raw); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.v.Verify(ctx, raw); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyCold is a token never seen: parse, RSA signature, every
// claim check and the cache insert.
func BenchmarkVerifyCold(b *testing.B) {
	e, raw := benchEnv(b)
	ctx := context.Background()
	h := hashToken(raw)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		e.v.cache.mu.Lock()
		delete(e.v.cache.m, h)
		e.v.cache.mu.Unlock()
		if _, err := e.v.Verify(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRejectForged is a well-formed token with a bad signature, the
// cost of a forged-token flood.
func BenchmarkRejectForged(b *testing.B) {
	e, raw := benchEnv(b)
	forged := raw[:len(raw)-4] + "AAAA"
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.v.Verify(ctx, forged); err == nil {
			b.Fatal("forged token accepted")
		}
	}
}

// BenchmarkRSAVerifyOnly is the floor of the cold path: one RS256
// signature check with the standard library, nothing else.
func BenchmarkRSAVerifyOnly(b *testing.B) {
	k := keys(b, 1)[0]
	digest := sha256.Sum256([]byte("header.payload"))
	sig, err := rsa.SignPKCS1v15(nil, k.priv, crypto.SHA256, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(&k.priv.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}
