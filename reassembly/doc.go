// Package reassembly follows the sequence numbers of each TCP connection, per
// direction, and classifies every segment the way Wireshark's TCP sequence
// analysis does (tshark's tcp.analysis.* flags), plus a few findings Wireshark
// does not make.
//
// A Tracker holds one connection, both directions. Feed it every segment in
// capture order with Add; each call returns a Result whose Class is a bitset
// of findings. Dir returns a direction's statistics, HandshakeRTT the
// three-way handshake's round-trip time.
//
// # Rules
//
// The tshark-compatible classes follow packet-tcp.c (tcp_analyze_sequence_number,
// Wireshark 4.x) rule by rule, in its order. "fwd" is the segment's direction,
// "rev" the other; nextseq is the highest seq+len seen in fwd (SYN and FIN count
// one); len is the payload length; "no S/F/R" means none of SYN, FIN, RST.
//
//	#   class                  rule                                                           then
//	1   ZeroWindowProbe        len==1 && seq==fwd.nextseq && rev.window==0                      skip 2–9; nextseq does not move
//	2   ZeroWindow             window==0, no S/F/R
//	3   LostSegment            seq > fwd.nextseq, no RST                                         GapBytes = seq-nextseq
//	4   KeepAlive              len<=1 && seq==fwd.nextseq-1, no S/F/R
//	5   WindowUpdate           len==0 && window!=0 && window!=fwd.window && seq==nextseq &&
//	                           ack==fwd.lastack, no S/F/R
//	6   WindowFull             len>0 && rev scale known && seq+len == rev.lastack +
//	                           rev.window<<scale (no shift right after rev's SYN), no S/F/R
//	7   KeepAliveAck           like a dup ACK, and rev's last segment was a KeepAlive            skip 8–9
//	8   ZeroWindowProbeAck     len==0 && window==0==fwd.window && seq==nextseq && ack is
//	                           fwd.lastack or +1, rev's last segment was a probe                 skip 9
//	9   DuplicateAck           len==0 && window!=0 && window==fwd.window && seq==nextseq &&
//	                           ack==fwd.lastack, no S/F/R                                        DupAckNum++
//	-   (always)               ack != fwd.lastack resets the dup-ACK count
//	10  AckUnseen              ACK && ack > rev's highest contiguous seq; but after a probe an
//	                           ACK of lastack+1 at nextseq is a WindowUpdate instead             edge jumps past known segments
//	11  (len>0 or SYN/FIN, not KeepAlive), first match wins:
//	    SpuriousRetransmission len>0 && seq+len <= rev.lastack
//	    (below only when seq < fwd.nextseq, except len>1 && seq==nextseq-1)
//	    FastRetransmission     within 20 ms of rev's last segment and: rev sent >=2 dup ACKs
//	                           for seq; or rev's SACK blocks cover > 2*MSS and not this
//	                           segment, rev.lastack==seq; or >=2 dup ACKs and no SACK block
//	                           holds the segment
//	    OutOfOrder             within the iRTT (3 ms if unknown) of rev's last segment, not
//	                           a copy of a remembered unacked segment, and it does not end
//	                           right at nextseq (unless nextseq was set by a pure ACK)
//	    Retransmission         otherwise                                                         RTO from the oldest unacked
//	                                                                                             copy at or above seq
//
// Wireshark reports a fast or spurious retransmission also as a retransmission
// (the filter tcp.analysis.retransmission matches all three); so does this
// package: FastRetransmission and SpuriousRetransmission come with the
// Retransmission bit. AnyRetransmission names the three.
//
// Window scaling: a SYN's option takes effect only if both SYNs carried it;
// a SYN without it makes both directions "not used" (shift 0); without the
// handshake the scale is unknown and windows are not scaled, and WindowFull is
// not evaluated against that direction's window. SYN windows are never scaled.
//
// The out-of-order threshold is Wireshark's initial RTT: from the latest SYN
// to the first segment with ACK and without SYN (WiresharkIRTT). HandshakeRTT
// is the stricter SYN → SYN-ACK → ACK from the SYN's sender.
//
// # Beyond tshark
//
//	class / field      meaning
//	InOrder            new payload at the expected sequence number
//	Overlap            payload partly seen before, partly new
//	GapFill            payload that filled a recorded hole (bytes new to the capture)
//	OverlapMismatch    retransmitted bytes differ from the first copy (Config.KeepPayload)
//	OutOfWindow        payload beyond the receiver's largest advertised right edge, or an
//	                   ACK more than one beyond the edge its sender advertised
//	NewBytes           payload bytes not seen before in this direction
//	RetransBytes       payload bytes seen before
//	GapBytes           sequence numbers skipped before the segment (with LostSegment)
//	UnseenAckBytes     how far an AckUnseen ACK reaches past the peer's contiguous data
//	MissedBytes        (DirStats) bytes proven sent, by a later sequence number or by
//	                   the peer's ACK, and never captured: holes not filled. Holes
//	                   proven only by ACKs usually mean capture loss, not network loss.
//
// The seen bytes of a direction are kept as one range minus a bounded list of
// holes (Config.MaxRanges-1); when it is full the lowest hole is forgotten and
// its bytes stay counted as missed. All sequence comparisons use serial
// arithmetic (package seqnum) and are correct across the 2^32 wrap.
//
// # Deliberate differences from Wireshark
//
//   - "Not set" is a flag, not the value 0: a sequence or ACK number that is 0
//     across the wrap is an ordinary value here.
//   - ACK numbers of segments without the ACK flag are not used to drop
//     remembered segments, and do not count as the peer's last ACK for the
//     spurious-retransmission rule.
//   - A SYN or FIN always advances nextseq by one, also when the record of
//     unacknowledged segments is full (Wireshark then forgets the one).
//   - SACK block containment uses serial comparisons.
//   - The unacknowledged-segment record is bounded by Config.MaxUnacked
//     (default 256, Wireshark 10000): beyond it a retransmitted copy is not
//     recognised and may count as out-of-order.
//
// # Memory and speed
//
// A Tracker is 560 bytes (unsafe.Sizeof on 64-bit) with no maps; the hole
// list (8 bytes a hole), the unacknowledged-segment list (24 bytes a segment)
// and the optional payload copy are allocated lazily, grow to their bounds at
// most, and are reused, so Add does not allocate on the steady path.
package reassembly
