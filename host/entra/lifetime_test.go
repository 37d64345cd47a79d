package entra

import (
	"strings"
	"testing"
	"time"
)

// TestCheckTimes is the table of the time-claim rule, at its edges.
func TestCheckTimes(t *testing.T) {
	const (
		skew = 5 * time.Minute
		max  = 28 * time.Hour
	)
	at := func(d time.Duration) *numericDate { return &numericDate{t: t0.Add(d)} }
	far := &numericDate{t: time.Date(5100, 1, 1, 0, 0, 0, 0, time.UTC)}
	cases := []struct {
		name          string
		iat, nbf, exp *numericDate
		skew          time.Duration // skew unless set
		want          string        // reason; "" accepts
	}{
		{name: "75 minute token", iat: at(-time.Minute), nbf: at(-time.Minute), exp: at(74 * time.Minute)},
		{name: "no exp", iat: at(-time.Minute), want: ReasonMalformed},
		{name: "expired inside the skew", iat: at(-time.Hour), exp: at(-skew)},
		{name: "expired past the skew", iat: at(-time.Hour), exp: at(-skew - time.Second), want: ReasonExpired},
		{name: "nbf inside the skew", nbf: at(skew), exp: at(time.Hour)},
		{name: "nbf past the skew", nbf: at(skew + time.Second), exp: at(time.Hour), want: ReasonNotYetValid},
		{name: "iat past the skew", iat: at(skew + time.Second), exp: at(time.Hour), want: ReasonNotYetValid},
		{name: "exp - iat is the limit", iat: at(-time.Hour), exp: at(max - time.Hour)},
		{name: "exp - iat a second over the limit", iat: at(-time.Hour), exp: at(max - time.Hour + time.Second), want: ReasonLifetimeTooLong},
		{name: "exp - iat over the limit, issued long ago", iat: at(-100 * time.Hour), exp: at(time.Hour), want: ReasonLifetimeTooLong},
		{name: "exp in 5100", iat: at(-time.Minute), exp: far, want: ReasonLifetimeTooLong},
		{name: "exp in 5100, iat at the epoch", iat: &numericDate{t: time.Unix(0, 0)}, exp: far, want: ReasonLifetimeTooLong},
		{name: "no iat, exp at the limit plus the skew", exp: at(max + skew)},
		{name: "no iat, exp a second further", exp: at(max + skew + time.Second), want: ReasonLifetimeTooLong},
		{name: "no iat, nbf long ago, exp in 5100", nbf: at(-1000 * time.Hour), exp: far, want: ReasonLifetimeTooLong},
		{name: "no iat, no skew, exp at the limit", exp: at(max), skew: -1},
		{name: "no iat, no skew, exp a second further", exp: at(max + time.Second), skew: -1, want: ReasonLifetimeTooLong},
		{name: "iat in the future inside the skew, lifetime at the limit", iat: at(skew), exp: at(skew + max)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := skew
			if tc.skew < 0 {
				s = 0
			}
			err := checkTimes(&jwtClaims{Iat: tc.iat, Nbf: tc.nbf, Exp: tc.exp}, t0, s, max)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %s (%s)", err.Reason, err.Description)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted, want %s", tc.want)
			case tc.want != "" && (err.Reason != tc.want || err.Status != 401):
				t.Fatalf("got %d %s (%s), want 401 %s", err.Status, err.Reason, err.Description, tc.want)
			}
			if err != nil && err.Reason == ReasonLifetimeTooLong && !strings.Contains(err.Description, "max_token_lifetime") {
				t.Errorf("description %q does not name max_token_lifetime", err.Description)
			}
		})
	}
}
