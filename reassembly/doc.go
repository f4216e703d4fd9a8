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
// The tshark-compatible classes follow packet-tcp.c (tcp_analyze_sequence_number)
// as tshark 4.0 runs it, rule by rule and in its order; that is the tshark that
// produced the corpus oracles. "fwd" is the segment's direction, "rev" the
// other; nextseq is the highest seq+len seen in fwd (SYN and FIN count one);
// len is the payload length; "no S/F/R" means none of SYN, FIN, RST.
//
//	#   class                  rule                                                           then
//	1   ZeroWindowProbe        len==1 && seq==fwd.nextseq && rev.window==0 (rev seen)           skip 2–9; nextseq does not move
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
//	10  AckUnseen              ACK && ack > rev's highest contiguous seq (maxseqtobeacked):
//	                           below rev.nextseq (a hole): report, the edge moves to nextseq;
//	                           beyond all rev data: report once until rev's own ACK changes.
//	                           After a probe, an ACK of lastack+1 at nextseq is a
//	                           WindowUpdate instead (the probe byte was taken).
//	11  (len>0 or SYN/FIN, not KeepAlive), first match wins:
//	    SpuriousRetransmission len>0 && seq+len <= rev.lastack
//	    (below only when seq < fwd.nextseq, except len>1 && seq==nextseq-1)
//	    FastRetransmission     rev sent >=2 dup ACKs for seq (rev.lastack==seq), within
//	                           20 ms of rev's latest segment
//	    OutOfOrder             within the iRTT (3 ms if unknown) of the segment that last
//	                           advanced nextseq, and seq+len(+1 SYN/FIN) != nextseq
//	    Retransmission         otherwise                                                         RTO from the oldest unacked
//	                                                                                             copy at or above seq
//
// A time delta that is negative (a capture that needs reordering) counts as
// huge, as in tshark 4.0: no fast retransmission, no out-of-order.
//
// The anchors' quote of packet-tcp.c is a newer Wireshark, whose rule 11 also
// has SACK-based fast retransmissions, times out-of-order segments from rev's
// latest segment, skips copies of unacknowledged segments and whose rule 10
// moves the edge past known segments. On the corpus those rules agree worse
// with tshark 4.0.17 (e.g. fast retransmissions 42 vs 33, out-of-order 24 vs
// 33, ACKed-unseen 72 vs 40 frames), so this package follows 4.0.
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
// # Deliberate differences from tshark 4.0
//
//   - "Not set" is a flag, not the value 0: a sequence or ACK number that is 0
//     (across the wrap) is an ordinary value here, and a direction's first
//     segment is never compared with zeroed state (tshark calls a first pure
//     ACK with seq 0 and ack 0 a window update).
//   - The unseen-ACK marker (Wireshark stores -1 in the peer's dup-ACK count)
//     does not count as two duplicate ACKs; tshark's count is unsigned, so it
//     calls the retransmission that follows an ACKed-unseen segment "fast".
//     Config.TsharkCompat restores tshark's behaviour for comparisons.
//   - ACK numbers of segments without the ACK flag are not used to drop
//     remembered segments, and do not count as the peer's last ACK for the
//     spurious-retransmission rule.
//   - A SYN or FIN always advances nextseq by one, also when the record of
//     unacknowledged segments is full (Wireshark then forgets the one).
//   - The probe-byte ACK (ack == lastack+1 after a zero-window probe) is a
//     ZeroWindowProbeAck, and in rule 10 a WindowUpdate, as in newer Wireshark;
//     tshark 4.0 calls it an ACKed-unseen segment. Config.TsharkCompat
//     restores that too.
//   - RTO counts from the oldest remembered transmission at or above the
//     segment's seq (newer Wireshark), not from the oldest overall; the
//     record is bounded by Config.MaxUnacked (default 256, Wireshark 10000).
//
// # Memory and speed
//
// A Tracker is 552 bytes (unsafe.Sizeof on 64-bit) with no maps; the hole
// list (8 bytes a hole), the unacknowledged-segment list (24 bytes a segment)
// and the optional payload copy are allocated lazily, grow to their bounds at
// most, and are reused, so Add does not allocate on the steady path.
//
// The payload copy is not a copy when the caller can read payload again: a
// RingPool with a reader (RingPool.SetReader) makes the trackers keep, for a
// segment with a Segment.PayloadPos, where its bytes lie (16 bytes a run, at
// most 16 runs a direction), and read them back only to compare a segment
// that overlaps them. What is found is the same (the same window, the same
// first copy of each byte); a segment without a position, or a window of
// more than 16 runs, turns the kept payload into a copy.
package reassembly
