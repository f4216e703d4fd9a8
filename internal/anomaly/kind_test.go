package anomaly

import (
	"regexp"
	"strings"
	"testing"
)

var snake = regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)

func TestCatalogComplete(t *testing.T) {
	seen := map[string]Kind{}
	for _, k := range Kinds() {
		in := k.Info()
		t.Run(in.Name, func(t *testing.T) {
			if !snake.MatchString(in.Name) {
				t.Errorf("name %q is not snake_case", in.Name)
			}
			if prev, dup := seen[in.Name]; dup {
				t.Errorf("name %q used by kinds %d and %d", in.Name, prev, k)
			}
			seen[in.Name] = k
			if got, ok := ByName(in.Name); !ok || got != k || k.String() != in.Name {
				t.Errorf("ByName(%q) = %d, %v; String %q", in.Name, got, ok, k.String())
			}
			if in.Severity.Rank() < 0 {
				t.Errorf("severity %q is unknown", in.Severity)
			}
			for field, text := range map[string]string{"Message": in.Message, "Wire": in.Wire, "Rule": in.Rule} {
				if strings.TrimSpace(text) == "" {
					t.Errorf("%s is empty", field)
				}
			}
			if len(in.Wire) < 80 || len(in.Rule) < 60 {
				t.Errorf("wire (%d chars) or rule (%d chars) too short to teach anything", len(in.Wire), len(in.Rule))
			}
			if len(in.Causes) == 0 || len(in.Remedies) == 0 {
				t.Errorf("%d causes, %d remedies; want at least one of each", len(in.Causes), len(in.Remedies))
			}
			for _, s := range append(append([]string{}, in.Causes...), in.Remedies...) {
				if strings.TrimSpace(s) == "" {
					t.Error("empty cause or remedy")
				}
			}
			wide := k >= SynFlood
			if (in.Level == CaptureWide) != wide {
				t.Errorf("level %s for kind %d", in.Level, k)
			}
		})
	}
	if len(seen) != int(NumKinds) {
		t.Errorf("%d names for %d kinds", len(seen), NumKinds)
	}
	if _, ok := ByName("no_such_kind"); ok {
		t.Error("ByName found an unknown name")
	}
}

func TestCatalogNames(t *testing.T) {
	for _, c := range []struct {
		k    Kind
		name string
	}{
		{HalfOpen, "half_open"}, {LostSegment, "lost_segment"}, {InvalidSegment, "invalid_segment"},
		{SynFlood, "syn_flood"}, {TimeWaitStorm, "time_wait_storm"}, {PortScan, "port_scan"},
		{RSTStorm, "rst_storm"}, {ConnectionFlood, "connection_flood"},
	} {
		if c.k.String() != c.name {
			t.Errorf("kind %d is %q, want %q", c.k, c.k.String(), c.name)
		}
	}
}

// TestCatalogTeaches checks that the entries carry the facts the issue asks
// for.
func TestCatalogTeaches(t *testing.T) {
	for _, c := range []struct {
		k     Kind
		facts []string
	}{
		{SynFlood, []string{"tcp_syncookies", "tcp_max_syn_backlog", "rate-limit", "100 SYN/s", "20%"}},
		{TimeWaitStorm, []string{"tcp_tw_reuse", "SO_REUSEADDR", "never enable tcp_tw_recycle", "keep-alive", "pool", "28232", "60 s", "50%"}},
		{CloseWaitLeak, []string{"application must close"}},
		{KeepAlive, []string{"7200 s", "75 s", "9"}},
		{LostSegment, []string{"capture loss from network loss", "ack_unseen_segment"}},
		{PortScan, []string{"REJ", "S0", "25"}},
	} {
		in := c.k.Info()
		all := strings.Join(append(append([]string{in.Wire, in.Rule}, in.Causes...), in.Remedies...), "\n")
		for _, f := range c.facts {
			if !strings.Contains(all, f) {
				t.Errorf("%s does not mention %q", in.Name, f)
			}
		}
	}
}

func TestInfoIsACopy(t *testing.T) {
	in := SynFlood.Info()
	in.Remedies[0] = "changed"
	if SynFlood.Info().Remedies[0] == "changed" {
		t.Error("Info shares its slices with the catalog")
	}
	if got := Kind(200).Info().Name; got != "kind_200" {
		t.Errorf("unknown kind name %q", got)
	}
}

func TestSetReport(t *testing.T) {
	var s Set
	for i := uint64(1); i <= 7; i++ {
		s.Add(DuplicateAck, i, int64(i))
	}
	s.Add(HalfOpen, 1, 1)
	r := s.Report(nil)
	if len(r) != 2 || r[0].Kind != "half_open" || r[1].Kind != "duplicate_ack" {
		t.Fatalf("report %+v", r)
	}
	if r[1].Count != 7 || len(r[1].Packets) != MaxEvidence || r[1].Message != DuplicateAck.Info().Message {
		t.Errorf("duplicate_ack entry %+v", r[1])
	}
}
