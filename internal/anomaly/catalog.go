package anomaly

import "github.com/tcpflow-analyze/tcpflow-analyze/report"

// catalog holds every kind's entry. It is never written after initialisation;
// Kind.Info hands out copies.
var catalog = [NumKinds]Info{
	HalfOpen: {
		Name: "half_open", Severity: report.SeverityWarning, Level: PerFlow,
		Message: "the handshake never completed",
		Wire: "The originator sent a SYN, but the three-way handshake never finished: either no SYN-ACK came back, " +
			"or the SYN-ACK came back and the originator never sent the final ACK. Until the handshake completes, " +
			"the responder keeps the attempt in its SYN queue (SYN_RECV) and retransmits its SYN-ACK, and the " +
			"originator retransmits its SYN with a doubling timeout (Linux: 1 s, 2 s, 4 s, ... up to tcp_syn_retries).",
		Rule: "Per flow, when it ends, not for midstream flows: a flow whose two endpoints never both reached a synchronized " +
			"state, ending in conn_state S0 (SYN, no reply), SH (SYN then FIN, no reply), RSTOS0 (SYN then RST from the " +
			"originator, no reply), RSTO, RSTR, S1, S2, S3, SF or OTH. An originator that acknowledged the responder's SYN " +
			"synchronized both, even where the capture missed the SYN-ACK (one direction only). Evidence is the flow's first packet.",
		Causes: []string{
			"the server host is down, unreachable, or a firewall silently drops the SYN (S0 with SYN retransmissions)",
			"the SYN-ACK is lost or dropped on the way back, often asymmetric routing or a stateful firewall that saw only one direction",
			"spoofed source addresses in a SYN flood: the SYN-ACK goes to a host that never asked and never answers",
			"a port scanner (nmap -sS) that sends SYN and answers the SYN-ACK with RST instead of ACK",
			"the capture started or stopped in the middle of the handshake, or missed one direction",
		},
		Remedies: []string{
			"check that the server listens and is reachable: ss -ltn on the server, a traceroute or a TCP probe from the client's network",
			"look for firewall or security-group rules that drop instead of reject, in both directions",
			"if many sources leave handshakes half open against one service, read syn_flood in this catalog",
			"capture on both sides of a firewall or load balancer to see where the SYN or the SYN-ACK disappears",
		},
	},
	Rejected: {
		Name: "rejected", Severity: report.SeverityWarning, Level: PerFlow,
		Message: "the connection attempt was refused with RST",
		Wire: "The responder answered the SYN with a RST (normally RST+ACK acknowledging the SYN) instead of a SYN-ACK. " +
			"The client's connect() fails at once with ECONNREFUSED, \"Connection refused\".",
		Rule: "Per flow, when it ends: Zeek's conn_state REJ, that is the responder reset the connection while the " +
			"originator was still in SYN_SENT (or both reset without either sending data).",
		Causes: []string{
			"nothing listens on that port on that address: the service is down, restarting, or bound to 127.0.0.1 or another interface",
			"a firewall or load balancer rejects the connection actively (for example iptables REJECT --reject-with tcp-reset)",
			"the client uses the wrong port or address (configuration, DNS pointing to an old host)",
			"the listen queue overflowed on a host with net.ipv4.tcp_abort_on_overflow=1",
			"a port scan: most probed ports are closed and answer with RST (see port_scan)",
		},
		Remedies: []string{
			"on the server, check the listener and its address: ss -ltnp 'sport = :PORT'",
			"check the firewall and load balancer rules for REJECT or reset actions on that port",
			"verify the client's target address and port, and DNS",
			"if rejects come in bursts under load, check netstat -s for listen queue overflows and tcp_abort_on_overflow",
		},
	},
	Retransmission: {
		Name: "retransmission", Severity: report.SeverityNotice, Level: PerPacket,
		Message: "a segment was sent again (data, SYN or FIN)",
		Wire: "A segment carrying payload, SYN or FIN covers sequence numbers its sender had already sent. " +
			"This entry counts the plain retransmissions, usually sent when the retransmission timer (RTO) expired " +
			"without an acknowledgement; fast and spurious retransmissions have their own kinds. An RTO " +
			"retransmission stalls the sender for at least the RTO (Linux: 200 ms minimum, 1 s for a SYN) and " +
			"halves its congestion window or more.",
		Rule: "Wireshark's rule: a segment with payload, SYN or FIN whose sequence number is below the next expected " +
			"sequence number of its direction (highest seq+len seen), that is not a keep-alive and is neither a " +
			"spurious retransmission, a fast retransmission nor out of order (tcp.analysis.retransmission without " +
			"the fast and spurious flags). The summary's retransmission total adds fast and spurious ones, as tshark does.",
		Causes: []string{
			"packet loss on the path: congestion, full queues, a policer or shaper dropping bursts, a faulty link or NIC",
			"loss of the acknowledgement on the way back, so the sender retransmits data that had arrived",
			"a path MTU black hole: large segments are retransmitted again and again while small ones pass (ICMP blocked)",
			"a receiver or middlebox that is too busy to answer in time",
		},
		Remedies: []string{
			"find where the loss happens: capture at both ends and see whether the first copy arrived",
			"check interface error and drop counters on hosts and switches (ip -s link, ethtool -S, switch port counters)",
			"look for policers or shapers and for duplex mismatches on the path",
			"if only full-size segments are retransmitted, test the path MTU and allow ICMP \"fragmentation needed\" / \"packet too big\"",
			"make sure SACK is enabled on both ends so one loss does not cost a whole window",
		},
	},
	FastRetransmission: {
		Name: "fast_retransmission", Severity: report.SeverityNotice, Level: PerPacket,
		Message: "data was resent after duplicate ACKs (fast retransmit)",
		Wire: "The receiver signalled a hole with duplicate ACKs (or SACK blocks) and the sender resent the missing " +
			"segment at once instead of waiting for its retransmission timer. This is TCP recovering from a " +
			"single loss the efficient way (RFC 5681, RFC 6675): the connection keeps going, at a reduced congestion window.",
		Rule: "Wireshark's rule: a segment below the next expected sequence number, sent within 20 ms of the peer's last " +
			"ACK, and either the peer sent two or more duplicate ACKs whose ACK number equals this segment's " +
			"sequence number, or the peer's SACK blocks cover more than two MSS and not this segment while its " +
			"ACK number equals this sequence number, or the peer sent two or more duplicate ACKs and no SACK " +
			"block holds this segment.",
		Causes: []string{
			"a single packet lost in the network while later packets arrived: congestion, queue overflow, a lossy link",
			"reordering of more than a few segments on the path (per-packet load balancing), which looks like loss to the receiver",
		},
		Remedies: []string{
			"occasional fast retransmissions are normal; investigate when their rate grows with load (queue drops)",
			"check queue and drop counters on the path, and shapers or policers that drop bursts",
			"if the \"lost\" segment arrived shortly after anyway, look for reordering (see out_of_order) rather than loss",
		},
	},
	SpuriousRetransmission: {
		Name: "spurious_retransmission", Severity: report.SeverityNotice, Level: PerPacket,
		Message: "data was resent although the peer had already acknowledged it",
		Wire: "The sender resent bytes that the receiver's ACKs had already covered, so the retransmission was useless. " +
			"The sender either timed out too early, or had not yet seen the ACK when it retransmitted.",
		Rule: "Wireshark's rule: a segment with payload whose end (seq+len) is at or below the last ACK number the peer " +
			"sent in the other direction.",
		Causes: []string{
			"the retransmission timer fired too early: a delay spike longer than the RTO (bufferbloat, a busy receiver, Wi-Fi retries)",
			"the ACKs were delayed or lost on the way back, so the sender never saw them in time",
			"a capture taken near the receiver, where the ACK is seen before it reaches the sender",
		},
		Remedies: []string{
			"look for latency spikes and deep queues on the path; consider AQM such as fq_codel",
			"check the reverse path for ACK loss",
			"keep Linux's spurious-RTO detection (net.ipv4.tcp_frto) enabled and do not lower the minimum RTO",
		},
	},
	OutOfOrder: {
		Name: "out_of_order", Severity: report.SeverityWarning, Level: PerPacket,
		Message: "a segment arrived after a later one",
		Wire: "A segment with sequence numbers below what its direction had already reached arrived shortly after " +
			"the later data: the packets were reordered between the sender and the capture point. The receiver " +
			"sends duplicate ACKs for the gap until the late segment arrives; with enough reordering the sender " +
			"mistakes it for loss and retransmits.",
		Rule: "Wireshark's rule: a segment below the next expected sequence number of its direction, not a copy of a " +
			"segment still remembered as unacknowledged, seen within the handshake's initial RTT (3 ms when unknown) " +
			"of the peer's last segment, and not ending exactly at the next expected sequence number (unless that " +
			"was set by a pure ACK). Fast retransmissions are tested first and take precedence.",
		Causes: []string{
			"per-packet load balancing over several paths (ECMP, link aggregation, bonding in round-robin mode)",
			"the capture itself: several taps or a SPAN session merging directions, or multi-queue capture with skewed timestamps",
			"a retransmission sent less than one RTT after the original, which Wireshark's timing rule calls out of order",
		},
		Remedies: []string{
			"check whether the path hashes flows (good) or sprays packets (bad) across links",
			"capture at a single point on one interface and compare; reordering that appears only in merged captures is an artefact",
			"Linux tolerates reordering adaptively (net.ipv4.tcp_reordering); persistent reordering still costs throughput",
		},
	},
	LostSegment: {
		Name: "lost_segment", Severity: report.SeverityWarning, Level: PerPacket,
		Message: "a segment before this one was never seen",
		Wire: "A segment starts beyond the next expected sequence number of its direction: the bytes in between were " +
			"sent but never captured. Either the network dropped them before the capture point, or the capture " +
			"itself missed them. Wireshark calls this \"previous segment not captured\".",
		Rule: "Wireshark's rule: a segment without RST whose sequence number is greater than the next expected sequence " +
			"number (highest seq+len seen, SYN and FIN counting one) of its direction, once that is known. The " +
			"skipped bytes are added to the flow's missed_bytes.",
		Causes: []string{
			"capture loss: the capturing host or the mirror port could not keep up (the most common cause on busy links)",
			"the capture started in the middle of the connection, or a snapshot/filter cut it",
			"real loss between the sender and the capture point",
			"asymmetric routing: part of the connection's packets took a path that the capture does not see",
		},
		Remedies: []string{
			"tell capture loss from network loss: if the receiver later ACKs the missing bytes (ack_unseen_segment) and the sender never retransmits them, the capture missed them; if the receiver sends duplicate ACKs or SACK for the hole and the sender retransmits it, the network lost them",
			"check the capture's own drop counters (tcpdump's \"packets dropped by kernel\", pcapng interface statistics) and the mirror port's oversubscription",
			"for capture loss: raise the capture buffer (tcpdump -B), capture with a BPF filter or a shorter snaplen, or use a TAP instead of a SPAN port",
			"for network loss: treat it like retransmission and find the dropping hop",
		},
	},
	AckUnseenSegment: {
		Name: "ack_unseen_segment", Severity: report.SeverityWarning, Level: PerPacket,
		Message: "the peer acknowledged data that the capture never saw",
		Wire: "An ACK covers bytes the other direction was never seen sending. The receiver got them, so the network " +
			"delivered them; only the capture missed them. This is the strongest sign of capture loss rather than " +
			"network loss.",
		Rule: "Wireshark's rule: a segment with the ACK flag whose ACK number is greater than the highest contiguous " +
			"sequence number seen from the peer (except that after a zero-window probe, an ACK of one more byte at " +
			"the expected sequence number counts as a window update).",
		Causes: []string{
			"capture loss: the capturing host, the SPAN port or the NIC dropped packets",
			"the capture started after the data was sent",
			"asymmetric routing: one direction's data does not pass the capture point",
			"segmentation offload on the capturing host (TSO/GRO) combined with a snaplen or a ring that truncated data",
		},
		Remedies: []string{
			"do not chase this as a network problem: confirm with the capture's drop counters",
			"capture on a host that is not the busy endpoint, enlarge the capture buffer, or use a hardware TAP",
			"make sure both directions of the connection pass the capture point",
		},
	},
	DuplicateAck: {
		Name: "duplicate_ack", Severity: report.SeverityNotice, Level: PerPacket,
		Message: "the receiver repeated the same ACK",
		Wire: "A pure ACK that repeats the previous ACK number and window of its direction. A receiver sends one for " +
			"each segment that arrives beyond a hole, to tell the sender which byte it is still missing; SACK " +
			"blocks in the same packet say what did arrive.",
		Rule: "Wireshark's rule: a segment without payload, SYN, FIN or RST, with a non-zero window equal to the previous " +
			"window of its direction, a sequence number equal to the next expected one, and an ACK number equal to " +
			"the previous ACK of its direction. A different ACK number resets the count.",
		Causes: []string{
			"a segment lost between the sender and the receiver, with later segments arriving",
			"reordering on the path",
		},
		Remedies: []string{
			"look for the fast retransmission that should follow; if there is none, the sender may not support it or the hole is capture-only",
			"many duplicate ACKs per loss are normal with large windows; what matters is the loss behind them",
		},
	},
	TripleDuplicateAck: {
		Name: "triple_duplicate_ack", Severity: report.SeverityWarning, Level: PerPacket,
		Message: "three or more duplicate ACKs: the receiver signals a loss",
		Wire: "Three duplicate ACKs in a row for the same byte: the classic threshold (RFC 5681 dupthresh) at which a " +
			"sender concludes a segment was lost and fast-retransmits it.",
		Rule: "Recorded on the third consecutive duplicate ACK (by Wireshark's duplicate-ACK rule) for the same ACK number " +
			"in one direction; further duplicates of the same run do not count again.",
		Causes: []string{
			"a segment lost in the network while the following ones arrived",
			"reordering by three or more segments",
		},
		Remedies: []string{
			"find the loss: check queues, policers and error counters between the sender and the receiver",
			"if a fast retransmission does not follow soon, the sender waits for its RTO: check that SACK is enabled",
		},
	},
	ZeroWindow: {
		Name: "zero_window", Severity: report.SeverityWarning, Level: PerPacket,
		Message: "the receiver advertised a zero window: its buffer is full",
		Wire: "A segment whose window field is 0: the endpoint's receive buffer is full because its application is not " +
			"reading, and the peer must stop sending data. The peer then sends zero-window probes until the " +
			"window opens again with a window update.",
		Rule: "Wireshark's rule: a segment without SYN, FIN or RST whose raw window field is 0.",
		Causes: []string{
			"the receiving application reads too slowly: busy CPU, blocked on a lock, disk or a downstream service",
			"the application stopped reading entirely (hung thread, deadlock), which shows as long series of probes",
			"a receive buffer that is too small for the traffic (a fixed SO_RCVBUF)",
		},
		Remedies: []string{
			"look at the receiving process: CPU, thread dumps, what it is waiting for",
			"let the kernel autotune the buffer (do not set SO_RCVBUF) and check net.ipv4.tcp_rmem's maximum",
			"if it lasts, the zero_window_probe count tells for how long the sender was stalled",
		},
	},
	ZeroWindowProbe: {
		Name: "zero_window_probe", Severity: report.SeverityNotice, Level: PerPacket,
		Message: "the sender probed a zero window",
		Wire: "While the peer advertises a zero window, the sender's persist timer sends a probe, usually one byte of " +
			"new data, to learn when the window opens (RFC 9293 3.8.6.1). The answer is a zero_window_probe_ack " +
			"that repeats the zero window, or a window update.",
		Rule: "Wireshark's rule: a segment with exactly one byte of payload, at the next expected sequence number of its " +
			"direction, while the peer's last advertised window is 0. It does not advance the expected sequence number.",
		Causes: []string{
			"the normal reaction to a zero window; the underlying cause is the receiver's full buffer (see zero_window)",
		},
		Remedies: []string{
			"fix the slow receiver; a long run of probes means the receiving application is stuck",
			"Linux aborts the connection after net.ipv4.tcp_retries2 unanswered probes, not after answered ones",
		},
	},
	ZeroWindowProbeAck: {
		Name: "zero_window_probe_ack", Severity: report.SeverityInfo, Level: PerPacket,
		Message: "the receiver answered a zero-window probe",
		Wire: "The receiver's reply to a zero-window probe: a pure ACK that still advertises a zero window. It tells the " +
			"sender the receiver is alive but its buffer is still full.",
		Rule: "Wireshark's rule: a segment without payload, SYN, FIN or RST, with window 0 equal to the previous window of " +
			"its direction, at the next expected sequence number, whose ACK number equals its direction's previous " +
			"ACK or one more, right after the peer sent a zero-window probe.",
		Causes:   []string{"an answered zero-window probe: the receiver's buffer is still full"},
		Remedies: []string{"nothing to fix in itself; see zero_window for the slow receiver behind it"},
	},
	WindowFull: {
		Name: "window_full", Severity: report.SeverityWarning, Level: PerPacket,
		Message: "the sender filled the receiver's advertised window",
		Wire: "A data segment that ends exactly at the right edge of the receiver's advertised window: the sender has " +
			"as many bytes in flight as the receiver allows and must now wait for an ACK. Throughput is limited " +
			"by the receive window, not by the network.",
		Rule: "Wireshark's rule: a segment with payload and without SYN, FIN or RST whose seq+len equals the peer's last " +
			"ACK number plus the peer's window shifted by its window scale. Not evaluated while the peer's window " +
			"scale is unknown (handshake not captured).",
		Causes: []string{
			"a receive window smaller than the bandwidth-delay product: window scaling off or stripped by a middlebox, or a small fixed SO_RCVBUF",
			"a slow receiver whose buffer fills (a step before zero_window)",
		},
		Remedies: []string{
			"compare the window with bandwidth x RTT; a 64 KiB window caps a 50 ms path at about 10 Mbit/s",
			"make sure both SYNs carry the window-scale option and that no firewall rewrites it",
			"raise net.ipv4.tcp_rmem's maximum and let autotuning work instead of setting SO_RCVBUF",
		},
	},
	WindowUpdate: {
		Name: "window_update", Severity: report.SeverityInfo, Level: PerPacket,
		Message: "the receiver opened its window",
		Wire: "A pure ACK that acknowledges nothing new and only changes the advertised window, typically after the " +
			"application read data from a full buffer. After a zero window it is the signal that lets the sender resume.",
		Rule: "Wireshark's rule: a segment without payload, SYN, FIN or RST, with a non-zero window different from the " +
			"previous window of its direction, at the next expected sequence number, and with an ACK number equal to " +
			"its direction's previous ACK.",
		Causes:   []string{"normal flow control: the receiving application consumed data"},
		Remedies: []string{"nothing to do; many of them together with zero_window point to a receiver that reads in bursts"},
	},
	KeepAlive: {
		Name: "keep_alive", Severity: report.SeverityInfo, Level: PerPacket,
		Message: "a keep-alive probe on an idle connection",
		Wire: "On an idle connection an endpoint sends a segment with the sequence number one below what it has sent " +
			"(zero or one garbage byte) to force the peer to answer with an ACK. It tests that the peer is still " +
			"there and refreshes firewall and NAT state. Linux sends the first probe after 2 hours idle " +
			"(net.ipv4.tcp_keepalive_time 7200 s), repeats every 75 s (tcp_keepalive_intvl) and gives up after 9 " +
			"unanswered probes (tcp_keepalive_probes), when the socket has SO_KEEPALIVE set.",
		Rule: "Wireshark's rule: a segment without SYN, FIN or RST, with zero or one byte of payload, whose sequence " +
			"number is the next expected sequence number of its direction minus one.",
		Causes: []string{
			"SO_KEEPALIVE on the socket, or an application, load balancer or database driver with its own keep-alive interval",
		},
		Remedies: []string{
			"nothing to fix; keep-alives are healthy on long-lived idle connections",
			"if idle connections die behind a NAT or firewall, set the keep-alive time below the middlebox's idle timeout (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT per socket, or the sysctls); 2 hours is longer than most of them",
		},
	},
	KeepAliveAck: {
		Name: "keep_alive_ack", Severity: report.SeverityInfo, Level: PerPacket,
		Message: "the answer to a keep-alive probe",
		Wire: "The peer's ACK in reply to a keep-alive probe: it repeats its ACK number and window, proving the " +
			"connection is still alive at both ends.",
		Rule: "Wireshark's rule: a segment without payload, SYN, FIN or RST, with a non-zero window equal to the previous " +
			"window of its direction, at the next expected sequence number, with an ACK number equal to its " +
			"direction's previous ACK, right after the peer sent a keep-alive.",
		Causes:   []string{"an answered keep-alive probe"},
		Remedies: []string{"nothing to do; a probe without an answer is the interesting case"},
	},
	OverlapMismatch: {
		Name: "overlap_mismatch", Severity: report.SeverityError, Level: PerPacket,
		Message: "retransmitted bytes differ from the first copy",
		Wire: "Two segments carried different bytes for the same sequence numbers. A correct sender retransmits exactly " +
			"what it sent before, so one of the copies did not come from the sender's stack, or was changed on the " +
			"way. Which copy the receiver used depends on its stack, which is what IDS evasion exploits.",
		Rule: "When payload retention is on, a segment whose payload overlaps bytes already captured at the same " +
			"sequence numbers in its direction and differs from them in at least one byte.",
		Causes: []string{
			"packet injection by an attacker or a censoring middlebox racing the real server",
			"deliberate IDS evasion (overlapping segments with different content)",
			"a broken middlebox or NIC offload that rewrites payload, or memory corruption on a host",
		},
		Remedies: []string{
			"compare TTL, IP ID and timing of the two copies: an injected copy usually differs from the real sender's packets",
			"capture at the endpoint to see which copy the receiver accepted",
			"disable suspicious offloads on the hosts involved and test again",
		},
	},
	InvalidFlags: {
		Name: "invalid_flags", Severity: report.SeverityError, Level: PerPacket,
		Message: "a flag combination that no correct stack sends",
		Wire: "A segment whose control flags contradict each other or the protocol: no flags at all (a NULL scan), SYN " +
			"with FIN or RST, FIN without ACK (every segment after the SYN carries ACK, so this is a FIN or XMAS " +
			"scan), or a SYN with payload that does not carry a TCP Fast Open option.",
		Rule: "Per packet, from the flags alone: no flags set; SYN+FIN; SYN+RST; FIN without ACK (including FIN+PSH+URG); " +
			"or SYN with payload and no TFO option.",
		Causes: []string{
			"port scanners and OS fingerprinting tools (nmap -sN, -sF, -sX and crafted probes)",
			"packet crafting or fuzzing tools",
			"a broken TCP stack or a middlebox that mangles flags",
		},
		Remedies: []string{
			"identify the source; scans from outside are usually blocked by dropping conntrack INVALID packets at the edge",
			"if an internal device sends them, update or replace its network stack or firmware",
		},
	},
	DataAfterClose: {
		Name: "data_after_close", Severity: report.SeverityError, Level: PerPacket,
		Message: "data sent after the sender's own FIN",
		Wire: "An endpoint sent a FIN, which occupies one sequence number and promises no more data, and later sent " +
			"payload beyond that sequence number. A correct stack never does this, and the peer must not accept " +
			"the bytes.",
		Rule: "A segment with payload whose sequence number is beyond the sequence number that its sender's first FIN " +
			"occupied (the FIN's seq plus its payload length).",
		Causes: []string{
			"two connections on the same 4-tuple seen as one, when the new connection's SYN was not captured",
			"injected or spoofed packets",
			"a broken TCP stack or middlebox",
		},
		Remedies: []string{
			"check for port reuse without a captured SYN (capture started late, or SYNs filtered out)",
			"compare TTL and IP ID with the endpoint's other packets to spot injection",
		},
	},
	DataAfterReset: {
		Name: "data_after_reset", Severity: report.SeverityWarning, Level: PerPacket,
		Message: "data sent after the connection was reset",
		Wire: "One side reset the connection, yet payload kept flowing on it afterwards. Either the RST never reached " +
			"the endpoint that keeps sending, or that endpoint refused it (RFC 5961: a RST whose sequence number is " +
			"not exactly the expected one is answered with a challenge ACK, not obeyed).",
		Rule: "A segment with payload and without RST, in either direction, after any RST was seen on the connection.",
		Causes: []string{
			"data already in flight when the RST was sent (one or two segments are normal)",
			"the RST was dropped by a firewall or lost, so the peer never learned of it",
			"a RST injected by a middlebox with a sequence number the endpoint rejects",
		},
		Remedies: []string{
			"look at the RST's sequence number against the receiver's expected one: an out-of-window RST is ignored by design",
			"capture at the endpoint that kept sending to see if the RST arrived",
			"if a middlebox injects resets, find which one (TTL and IP ID differ from the real peer's)",
		},
	},
	OutOfWindow: {
		Name: "out_of_window", Severity: report.SeverityWarning, Level: PerPacket,
		Message: "a segment outside the receiver's window, or an ACK for data not yet sent",
		Wire: "A segment carried data past the right edge of the window the receiver advertised (its last ACK plus its " +
			"scaled window), or acknowledged bytes the peer could not have sent yet. Receivers drop such data, and " +
			"stateful firewalls (conntrack, Suricata) mark such packets invalid.",
		Rule: "A segment with payload (or SYN/FIN) that ends beyond the right edge of the largest window the receiver " +
			"advertised, zero-window probes and keep-alives excepted; or an ACK number more than one beyond the " +
			"right edge that the ACK's own sender advertised.",
		Causes: []string{
			"window scaling misunderstood by a middlebox or the analysis, for example a scale option stripped from one SYN",
			"the handshake was not captured, so the window scale is unknown and windows look tiny",
			"injected packets or blind in-window attacks",
			"a broken TCP stack or a load balancer that rewrites sequence numbers",
		},
		Remedies: []string{
			"capture the handshake so window scales are known before judging",
			"check that both SYNs carry the window-scale option and that nothing on the path rewrites it",
			"if a firewall logs these as INVALID and drops them, compare its view of the window with this one",
		},
	},
	Reset: {
		Name: "reset", Severity: report.SeverityWarning, Level: PerFlow,
		Message: "an established connection was aborted by RST",
		Wire: "After the handshake completed, one side sent a RST: the connection was aborted, not closed. Data in " +
			"flight and unread buffers are discarded, and the other side's next call fails with ECONNRESET " +
			"(\"connection reset by peer\").",
		Rule: "Per flow, when it ends: conn_state RSTO (the originator sent the RST) or RSTR (the responder did) on a " +
			"connection whose two endpoints had both reached a synchronized state. Evidence is the first RST.",
		Causes: []string{
			"the application aborted on purpose: close() with SO_LINGER set to 0, or close() with unread data in the receive buffer (Linux then sends RST)",
			"the process crashed or was killed while the connection was open",
			"a load balancer, proxy or firewall reset the connection after its idle timeout",
			"data arrived for a socket that was already closed (for example after a FIN on a half-closed connection)",
		},
		Remedies: []string{
			"see which side sent the RST and when: right after a request usually means the application refused or crashed; after a long pause, a middlebox idle timeout",
			"compare the idle time before the RST with load balancer and firewall idle timeouts, and enable keep-alives below them",
			"check the application logs and crash reports at the time of the RST",
		},
	},
	CloseWaitLeak: {
		Name: "close_wait_leak", Severity: report.SeverityError, Level: PerFlow,
		Message: "an endpoint acknowledged its peer's FIN but never closed its side",
		Wire: "The peer sent FIN and this endpoint's kernel acknowledged it, moving the socket to CLOSE_WAIT. Only " +
			"the application can leave CLOSE_WAIT, by calling close() or shutdown(); the kernel never times it out. " +
			"A socket that stays there is a file descriptor the application forgot.",
		Rule: "Per flow, when it ends: an endpoint whose final state is CLOSE_WAIT and that entered it at least the " +
			"close-wait threshold (default 5 s) before the connection's last packet, i.e. it stayed there while " +
			"the connection was still live.",
		Causes: []string{
			"the application does not close sockets on every path, typically an error path or a connection pool that never checks for closed peers",
			"the thread owning the socket is blocked or deadlocked",
		},
		Remedies: []string{
			"the application must close its socket: find the code path that drops the connection without close()",
			"list the sockets and their owner: ss -tanp state close-wait",
			"a steadily growing CLOSE_WAIT count ends in \"too many open files\"; restarting only hides the leak",
		},
	},
	PortReuse: {
		Name: "port_reuse", Severity: report.SeverityNotice, Level: PerFlow,
		Message: "a new connection reused the 4-tuple of an earlier one",
		Wire: "A SYN opened a new connection on exactly the same addresses and ports as an earlier connection. That is " +
			"legal once the old one is gone, but if the old connection was still in TIME_WAIT on one side, the " +
			"new SYN may be refused or delayed, or stray packets of the old connection may corrupt the new one.",
		Rule: "Per flow: a pure SYN on a 4-tuple that already has a connection, with an initial sequence number different " +
			"from the first one seen in that direction (Wireshark's reused-ports rule), when the earlier connection " +
			"had finished or one of its endpoints was still in TIME_WAIT. The message says which.",
		Causes: []string{
			"a client making many connections to one service with a small ephemeral port range, so ports come round quickly",
			"a client that binds a fixed source port",
			"load tests and health checks at high connection rates",
		},
		Remedies: []string{
			"reuse connections (HTTP keep-alive, connection pools) instead of opening one per request",
			"widen the ephemeral range (net.ipv4.ip_local_port_range) and keep TCP timestamps on, which lets Linux accept a SYN on a TIME_WAIT tuple safely",
			"net.ipv4.tcp_tw_reuse helps outgoing connections only; never use tcp_tw_recycle (removed from Linux 4.12, it broke clients behind NAT)",
		},
	},
	StuckTimeWait: {
		Name: "stuck_time_wait", Severity: report.SeverityNotice, Level: PerFlow,
		Message: "traffic on a connection that should be in TIME_WAIT",
		Wire: "Both FINs were exchanged and acknowledged, so the active closer sits in TIME_WAIT and the connection is " +
			"over, yet packets other than a retransmitted FIN and its ACK kept arriving on it. Something on the " +
			"path, or the peer, did not notice the close.",
		Rule: "Per flow: after an endpoint entered TIME_WAIT, a segment on the same 4-tuple that is neither a new SYN " +
			"(which would start a new generation) nor a retransmitted FIN or the ACK answering it, within the " +
			"TIME_WAIT period (default 60 s).",
		Causes: []string{
			"the last ACK was lost and the peer retransmits its FIN with other packets, or keeps sending keep-alives",
			"a middlebox that missed the close and keeps the old state, or replays packets",
			"delayed duplicates of the old connection, the very thing TIME_WAIT protects against",
		},
		Remedies: []string{
			"check for loss of the final ACK on the path from the active closer",
			"look for middleboxes with their own TCP state (proxies, NAT, load balancers) between the endpoints",
		},
	},
	LongIdle: {
		Name: "long_idle", Severity: report.SeverityInfo, Level: PerFlow,
		Message: "the connection sat idle for a long time",
		Wire: "No packet crossed the connection for a long stretch while it stayed open. The endpoints still hold " +
			"state, but NAT devices, firewalls and load balancers on the path may have forgotten it, so the next " +
			"packet can be dropped or answered with RST.",
		Rule: "Per flow: the longest pause between two consecutive packets of an open connection reaches the long-idle " +
			"threshold (default 5 minutes, Zeek's tcp_inactivity_timeout).",
		Causes: []string{
			"pooled connections waiting for work, long polling, or an application that holds a connection it does not use",
			"an application stalled in the middle of a conversation",
		},
		Remedies: []string{
			"enable keep-alives with a time below the shortest idle timeout on the path (firewalls and NAT often use 5 to 60 minutes; Linux's default first probe after 2 hours is too late)",
			"limit how long pools keep idle connections, or use application-level pings",
		},
	},
	InvalidSegment: {
		Name: "invalid_segment", Severity: report.SeverityNotice, Level: PerPacket,
		Message: "a segment that does not fit the endpoints' states",
		Wire: "A segment that the receiver, in the state the analysis tracks for it, would reject or ignore under the " +
			"segment-arrival rules of RFC 9293: for example a segment outside the acceptable sequence range, an ACK " +
			"for something never sent during the handshake, or a flag that the state does not allow.",
		Rule: "Per packet: the endpoint state tracker's verdict for the segment is invalid under the RFC 9293 " +
			"segment-arrival checks for the current states (sequence acceptability, ACK acceptability, flags allowed " +
			"in that state).",
		Causes: []string{
			"stale packets of an earlier connection on the same 4-tuple",
			"a capture that missed packets, so the tracked state lags the real one",
			"injected or crafted packets, or a broken stack",
		},
		Remedies: []string{
			"look at the flow's transitions around the packet to see which states the tracker had reached",
			"rule out capture loss first (lost_segment, ack_unseen_segment on the same flow)",
		},
	},
	SynFlood: {
		Name: "syn_flood", Severity: report.SeverityError, Level: CaptureWide,
		Message: "many connection attempts to one service, few of them completed",
		Wire: "A service receives SYNs at a high rate and most handshakes never complete. Each attempt holds an entry " +
			"in the listener's SYN queue (SYN_RECV) while the server retransmits its SYN-ACK (Linux: 5 retries, about " +
			"63 s), so the queue fills and real clients are turned away. Spoofed floods come from many random " +
			"sources that never answer the SYN-ACK.",
		Rule: "Per destination address and port: new connection attempts (a retransmitted SYN is not counted again) are " +
			"counted in one-second buckets of capture time. While the SYNs in the sliding window (default 10 s) " +
			"average at least the rate threshold (default 100 SYN/s), an episode runs; when it ends, it is a flood " +
			"if the handshakes completed during it are under the completion threshold (default 20%) of its SYNs. " +
			"Reported with the peak SYN/s (busiest second), distinct sources, share of handshakes completed and span.",
		Causes: []string{
			"a denial-of-service attack, usually with spoofed source addresses",
			"a server so overloaded or misconfigured that it does not answer SYNs, with clients retrying hard",
			"a firewall or load balancer dropping SYN-ACKs or final ACKs while clients keep trying",
		},
		Remedies: []string{
			"keep SYN cookies on (net.ipv4.tcp_syncookies=1): the server answers without holding queue entries",
			"size the SYN queue: net.ipv4.tcp_max_syn_backlog and the listen backlog (net.core.somaxconn)",
			"rate-limit new connections per source at the edge (iptables hashlimit or nftables meters, a DDoS scrubbing service)",
			"watch the kernel's \"Possible SYN flooding on port\" messages and the ListenOverflows/ListenDrops counters",
		},
	},
	TimeWaitStorm: {
		Name: "time_wait_storm", Severity: report.SeverityWarning, Level: CaptureWide,
		Message: "so many connections enter TIME_WAIT that the ephemeral ports run out",
		Wire: "Every connection closed actively leaves its 4-tuple in TIME_WAIT on the side that sent the first FIN, for " +
			"2 MSL (60 s on Linux). A client that opens and closes many short connections to one service (ip:port) " +
			"from one address can hold only as many tuples as it has ephemeral ports (28232 by default on Linux), " +
			"so about 28232/60 = 470 new connections per second exhaust them, and connect() then fails with " +
			"EADDRNOTAVAIL or reuses tuples still in TIME_WAIT on the server.",
		Rule: "Per (client address, server address, server port), counting each connection once when its active closer " +
			"enters TIME_WAIT: the number in the trailing TIME_WAIT-length window (default 60 s) against the " +
			"ephemeral range (default 28232). Warns when it reaches the warning share (default 50%) of the range, or " +
			"when the rate over the last rate window (default 10 s) would exhaust the range within TIME_WAIT; an " +
			"error at the error share (default 90%). Reports the peak count, the peak rate, the seconds to exhaustion " +
			"and which side closed first.",
		Causes: []string{
			"a client that opens a new connection per request (no keep-alive, no pooling), common with HTTP/1.0 clients, scripts and health checks",
			"a server that closes first, leaving TIME_WAIT on the server side",
			"load tests against a single service from a single client address",
		},
		Remedies: []string{
			"reuse connections: HTTP keep-alive, connection pools, multiplexing (HTTP/2, gRPC)",
			"remember that the side that closes first holds TIME_WAIT: a server that closes first spares the client's ports but collects the TIME_WAIT sockets itself, up to net.ipv4.tcp_max_tw_buckets",
			"net.ipv4.tcp_tw_reuse=1 lets outgoing connections reuse TIME_WAIT tuples safely (needs TCP timestamps); it does not help the server side",
			"SO_REUSEADDR lets a server rebind its listening port while old connections are in TIME_WAIT; it does not add client ports",
			"widen net.ipv4.ip_local_port_range or spread connections over more client addresses or server ports",
			"never enable tcp_tw_recycle: it broke clients behind NAT and was removed in Linux 4.12",
		},
	},
	PortScan: {
		Name: "port_scan", Severity: report.SeverityWarning, Level: CaptureWide,
		Message: "one source probed many ports or hosts and most attempts failed",
		Wire: "One source address sends connection attempts to many destination ports (a vertical scan) or many hosts " +
			"(a horizontal scan), and most attempts fail: closed ports answer with RST (REJ), filtered ones do not " +
			"answer (S0), and a SYN scanner resets the open ones itself right after the SYN-ACK.",
		Rule: "Per source address, over a window of capture time anchored at its first attempt (default 5 min): a " +
			"failed attempt is a non-midstream flow whose handshake never completed (conn_state REJ, S0, SH, RSTOS0, " +
			"or flagged half_open or rejected). It is a scan when the distinct destination address:port pairs of the " +
			"failed attempts reach the target threshold (default 25) and failures are at least the failure share " +
			"(default 50%) of the source's attempts in the window, which keeps busy legitimate clients out.",
		Causes: []string{
			"a port scanner or worm probing the network",
			"a vulnerability scanner or inventory tool, run on purpose",
			"a misconfigured client cycling through a list of dead servers",
		},
		Remedies: []string{
			"identify the source; if it is not an authorised scanner, block it and check the host it runs on",
			"make sure only intended ports are reachable, and prefer dropping to rejecting at the edge",
			"for a client that cycles dead servers, fix its server list",
		},
	},
	RSTStorm: {
		Name: "rst_storm", Severity: report.SeverityWarning, Level: CaptureWide,
		Message: "one host sent very many RSTs in a short time",
		Wire: "A host emits resets at a high rate: it is refusing or aborting connections in bulk. Each RST aborts a " +
			"connection or refuses an attempt, so many of them mean many failing clients, a scan hitting closed " +
			"ports, or a device tearing connections down.",
		Rule: "Per sending address: RST segments counted in one-second buckets of capture time; a storm while the RSTs " +
			"in the sliding window (default 10 s) reach the count threshold (default 1000, Zeek's tcp_storm_thresh). " +
			"Reports the peak count in the window, the peak RST/s, the distinct peers and the span.",
		Causes: []string{
			"a server whose service is down, refusing every client (connection refused at scale)",
			"a scan against closed ports: the scanned host answers each probe with RST",
			"a firewall, IPS or load balancer resetting connections (policy, idle timeouts, failover)",
			"RST injection by a middlebox",
		},
		Remedies: []string{
			"look at the rejected and reset flows from that host to see which ports and clients are involved",
			"check the service's health and the device's policy logs at the time of the storm",
			"if the resets answer a scan, see port_scan",
		},
	},
	ConnectionFlood: {
		Name: "connection_flood", Severity: report.SeverityWarning, Level: CaptureWide,
		Message: "one source held an unusual number of established but idle connections",
		Wire: "One client completes many handshakes and then keeps the connections open while sending almost nothing. " +
			"Each one holds a worker, a file descriptor or a connection slot on the server; enough of them exhaust " +
			"the server's limit (the Slowloris attack on threaded web servers works this way).",
		Rule: "Per source address: a connection counts as idle when its handshake completed, it lasted at least the " +
			"minimum hold time (default 30 s), and it averaged at most the idle rate (default 16 payload bytes per " +
			"second, both directions). It is a flood when the idle connections from that source that were open at " +
			"the same moment reach the threshold (default 100).",
		Causes: []string{
			"a slow-connection denial of service (Slowloris and similar)",
			"a client with an oversized connection pool, or a leak of connections it never uses",
			"many users behind one NAT address holding idle keep-alive connections",
		},
		Remedies: []string{
			"limit concurrent connections per source (web server limits, iptables connlimit, load balancer settings)",
			"set request header and idle timeouts on the server so idle connections are closed",
			"for a client pool, cap its size and its idle time",
		},
	},
}
