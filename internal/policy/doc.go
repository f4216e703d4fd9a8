// Package policy evaluates a CI policy against an analysis report: which anomaly
// kinds must not occur, which limits the metrics must keep, and how far they may
// regress against an earlier report. It is what the check command runs.
//
// # Policy file
//
// A policy is a small YAML document. Every key is optional except that the file
// must not be empty; unknown keys are errors, reported with their line.
//
//	version: 1                      # the only version so far
//	fail_on: [syn_flood, half_open] # anomaly kinds that fail the check if found at all
//	max:                            # metric: highest allowed value
//	  retransmission_rate: 0.02
//	min:                            # metric: lowest allowed value
//	  flows: 1
//	scope:                          # restrict every rule to some connections
//	  server_ports: [80, 443]
//	  servers: [10.0.0.0/8, 2001:db8::1]
//	  clients: [192.0.2.0/24]
//	baseline:                       # used with --baseline old.json
//	  tolerance:                    # metric: factor
//	    retransmission_rate: 2
//	  slack:                        # metric: absolute allowance
//	    retransmission_rate: 0.001
//
// A policy file is complete on its own: it inherits nothing from Default, except
// that a file without a baseline section compares with Default's tolerances when
// a baseline report is given, and a metric without a slack entry uses the
// metric's default slack.
//
// # Scope
//
// The server of a flow is its responder (the endpoint that received the first
// SYN, or the one inferred for a flow picked up mid-stream); the client is its
// originator. A flow is in scope when it matches every list given: its server
// port is in server_ports, its server address is in one of servers, and its
// client address is in one of clients. Every metric is computed over the flows
// in scope only. A capture-wide finding (syn_flood, port_scan, ...) is in scope
// when it names a flow in scope or names no flows at all, so that an
// unattributed flood still fails a scoped policy.
//
// # Metrics
//
// Metrics returns the registry; every metric is computed over the flows in
// scope, from the report alone, so a JSON report read back gives the same
// values.
//
//   - flows: flows in scope.
//   - retransmission_rate: retransmission, fast_retransmission and
//     spurious_retransmission findings divided by the segments that take
//     sequence space (payload, SYN or FIN; the flows' orig_seq_packets and
//     resp_seq_packets), both directions: the share of what could be resent
//     that was. SYN and FIN retransmissions count. A report without those
//     fields (older JSON) falls back to all segments.
//   - lost_segment_rate: lost_segment findings divided by the same segments.
//   - out_of_order_rate: out_of_order findings divided by the same segments.
//   - half_open_share: flows with a half_open finding divided by the flows
//     whose first SYN the capture saw (not midstream).
//   - rejected_share: flows with a rejected finding (SYN answered by RST)
//     divided by the same.
//   - handshake_rtt_p50_ms, handshake_rtt_p99_ms: nearest-rank percentiles of
//     handshake_rtt_ms over the flows that have one.
//   - resets: reset findings (established connections aborted by RST).
//   - zero_window_events: zero_window findings.
//   - warnings: findings of severity warning or worse, per flow and
//     capture-wide, each counted as often as it occurred.
//
// Rates with no segments, shares with no opened flows and percentiles with no
// handshakes have no data.
//
// # Rules
//
// Each fail_on kind, max entry, min entry and (with a baseline report)
// tolerance entry is one rule; rules are evaluated and listed in that order,
// fail_on kinds by name and metrics in the order of Metrics. A fail_on rule
// fails when the kind was found at least once in scope; its measured value is
// the number of occurrences. A max rule fails when the metric is above the
// limit, a min rule when it is below. A baseline rule fails when
//
//	new > max(old × factor, old + slack)
//
// so a rate must both grow by the factor and by more than the slack: the slack
// keeps a rate of 0.0001 that becomes 0.0003 from failing a build. A rule whose
// metric cannot be measured (no handshakes for an RTT percentile, no segments
// for a rate) passes and says "no data". Failed rules name the flows and
// packets most responsible, at most five.
//
// # Defaults
//
// Default is used when no policy file is given. It fails on
//
//   - syn_flood and time_wait_storm: capture-wide signs of an attack or of a
//     client that opens connections faster than the server can retire them;
//   - close_wait_leak: an application that never closes its sockets, which
//     ends in file-descriptor exhaustion;
//   - overlap_mismatch: retransmitted bytes that differ from the first copy,
//     which no correct stack sends (corruption or an injection).
//
// and limits
//
//   - retransmission_rate to 0.02: healthy LAN and datacenter paths stay well
//     under 1 % of segments; above 2 % throughput suffers visibly;
//   - half_open_share and rejected_share to 0.05: a few unanswered or refused
//     SYNs are normal (probes, races at start-up); one in twenty is not;
//   - handshake_rtt_p99_ms to 500: above half a second the tail of connection
//     set-up is user-visible, and SYN retransmission (1 s) is close.
//
// Its baseline tolerances are a factor of 2 for rates, shares and counts and
// 1.5 for handshake RTT percentiles.
package policy
