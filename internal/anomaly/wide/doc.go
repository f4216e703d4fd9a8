// Package wide finds the capture-wide anomalies: SYN floods, TIME_WAIT storms,
// port scans, RST storms and connection floods. The engine feeds a Detector
// with plain events (a new SYN, a completed handshake, a connection entering
// TIME_WAIT, a RST, a finished flow) in capture order and asks for Findings at
// the end. The package does no I/O and keeps no global state.
//
// # Time and memory
//
// Every window slides over capture time (the packets' timestamps, in
// nanoseconds), never the wall clock, so the same capture gives the same
// findings however fast it is read. Rates are kept in one-second buckets held
// in a ring per key (destination, source, ...), so a key costs a few hundred
// bytes whatever its traffic; windows are whole seconds (a shorter window is
// rounded up to one second) and at most one hour. Each table holds at most
// Config.MaxKeys keys: when it is full, keys idle for longer than their
// window are swept out, then the lighter half of the keys by events in their
// window (never a key whose episode is under way) is evicted and counted in
// Stats; only a table full of ongoing episodes leaves new keys untracked
// (counted too). Distinct-address sets are kept only for
// ongoing or reported findings and capped at Config.MaxSources; a capped
// figure is a lower bound and says so in Details.
//
// # The rules and their defaults
//
// syn_flood, per destination address:port. Call SYN once per connection
// attempt (the first SYN of a new connection or generation, never its
// retransmissions, which the engine already recognises), and Handshake when
// the originator's ACK completes the handshake. An episode runs while the SYNs
// in the last SynFloodWindow (10 s) average at least SynFloodRate (100 SYN/s);
// it is reported when the handshakes completed while it ran are under
// SynFloodMaxCompletion (20 %) of its SYNs. Rationale: a listener holds each
// unanswered attempt in its SYN queue while it retransmits the SYN-ACK (Linux
// tcp_synack_retries 5, about 63 s), so 100 uncompleted attempts per second
// keep some 6300 entries queued, more than Linux's tcp_max_syn_backlog
// (128 to 4096 depending on memory) and the default listen backlog
// (somaxconn 4096): at that point the kernel logs "Possible SYN flooding" and
// falls back to cookies. Busy real servers take hundreds of connections per
// second, but complete nearly all of them, so the completion ratio, not the
// rate, separates a flood from load; 20 % leaves room for clients that give
// up and for handshakes whose last ACK the capture missed. The 10 s window
// smooths reconnect bursts and spans the first SYN retransmissions (1 s, 2 s,
// 4 s) of clients that do get through.
//
// time_wait_storm, per (client address, server address:port), the client being
// the connection's originator, whose ephemeral ports are at stake. Call
// TimeWait once per connection when its active closer (the endpoint that sent
// the first FIN, the one that holds TIME_WAIT) enters TIME_WAIT. The number of
// such connections in the last TimeWaitLen (60 s, Linux's hard-coded
// TCP_TIMEWAIT_LEN; Windows uses 240 s) is the number of tuples still held.
// It is compared with EphemeralPorts (28232, Linux's default
// ip_local_port_range 32768–60999): a warning at TimeWaitWarnShare (50 %) of
// the range, an error at TimeWaitErrorShare (90 %). A shorter capture cannot
// fill a 60 s window, so the rate over the last TimeWaitRateWindow (10 s)
// also triggers the warning when it would exhaust the range within one
// TIME_WAIT length: 28232/60 ≈ 470 new connections per second to one service
// from one address. The finding says which side closed first: when the server
// closes, TIME_WAIT sits on the server and the client's ports are not held,
// but new SYNs on those tuples meet TIME_WAIT sockets.
//
// port_scan, per source address, over FlowEnd. A failed attempt is a
// non-midstream flow whose handshake never completed (conn_state REJ, S0, SH
// or RSTOS0, or a flow flagged half_open or rejected, which includes SYN
// scans that reset the open ports). The window (ScanWindow, 5 min) is anchored
// at the source's first attempt and restarts with the first attempt after it
// expires; flows end later than they start, so the flow's start time is used.
// A window is a scan when its failed attempts reach ScanMinTargets (25)
// distinct destination address:port pairs and the failures are at least
// ScanMinFailedShare (50 %) of the source's attempts. The 25 targets in 5 min
// follow Zeek's scan scripts (25 unique hosts per port or host+port pairs,
// 5 to 15 min windows); the failure share keeps out a busy client that
// talks to hundreds of services and meets a few dead ones.
//
// rst_storm, per sending address: RSTs in the last RSTStormWindow (10 s)
// reaching RSTStormCount (1000, Zeek's tcp_storm_thresh; 100 RST/s for
// 10 s is far beyond what a healthy host sends).
//
// connection_flood, per source address, over FlowEnd: a connection is idle
// when its handshake completed, it lasted at least ConnFloodMinHold (30 s)
// and it averaged at most ConnFloodMaxRate (16 payload bytes per second, both
// directions; Slowloris trickles a header line every 10 to 15 s). It is a
// flood when ConnFloodIdle (100) idle connections from the source were open
// at the same moment: browsers open about 6 connections per host and client
// pools default to tens, while threaded servers run out of workers at a few
// hundred (Apache's default MaxRequestWorkers is 256).
//
// # Merging
//
// A later design shards flows over workers, each with its own Detector, and
// merges them with Merge. The merge is exact when every key was fed to a
// single detector: SYN and Handshake by destination, TimeWait by (client,
// server), RST by sender and FlowEnd by originator address. Route those
// events to a detector by that key (for example a hash of the key), and the
// merged findings equal a single detector's while no table is full (a full
// table's evictions depend on the keys it holds). connection_flood merges exactly
// whatever the routing, since it keeps the idle intervals. When a key was
// split across detectors, Merge combines what each found (counts summed,
// peaks the larger, spans joined) but cannot recover an episode that only
// the combined traffic would have crossed the threshold for.
package wide
