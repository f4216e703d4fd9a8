// Package fsm tracks the TCP state of both endpoints of one connection, passively,
// from the segments seen on the wire, and reproduces Zeek's view of the same
// connection (its endpoint states, conn_state and history).
//
// # RFC 9293 states
//
// A Tracker holds one State per endpoint (CLOSED … TIME_WAIT). Each segment is
// first classified into one Event, in a fixed priority:
//
//	RST > SYN+ACK > SYN > data after FIN > FIN > ACK > none
//
// RST is split by a sanity check (RFC 5961 style: an out-of-window RST is Invalid,
// still reported, and changes nothing), SYN and SYN+ACK by whether they repeat the
// sender's ISN (retransmission: Ignored) or, for SYN+ACK, fail to acknowledge the
// receiver's SYN, and FIN and ACK by whether their ACK covers the receiver's
// pending SYN or FIN. A FIN counts as acknowledged only when ack == FIN's seq + 1
// (serial arithmetic, package seqnum): the tracker keeps each endpoint's FIN
// sequence number.
//
// Then one table, kept as data, gives for [event][role][state] the next state,
// a Verdict (Accepted, Ignored, Invalid) and a reason. Every segment moves both
// endpoints: its sender by the Sender column (CLOSED→SYN_SENT on sending SYN,
// ESTABLISHED→FIN_WAIT_1 on sending FIN, CLOSE_WAIT→LAST_ACK) and its receiver by
// the Receiver column (LISTEN→SYN_RECEIVED on SYN, SYN_SENT→ESTABLISHED on SYN-ACK,
// ESTABLISHED→CLOSE_WAIT on FIN, FIN_WAIT_1→FIN_WAIT_2 on the ACK of its FIN,
// FIN_WAIT_1→CLOSING on the peer's FIN without that ACK, FIN_WAIT_1→TIME_WAIT on
// a FIN+ACK covering it, LAST_ACK→CLOSED on the ACK of its FIN). The step's
// verdict is the worse of the two cells; an Invalid step moves neither endpoint.
// Table and Describe list every cell.
//
// The originator starts in CLOSED and the responder in LISTEN (it is assumed to
// listen once a SYN is sent to it). A connection whose first segment is not a SYN
// is picked up mid-stream: its history is lost to us, so both endpoints are taken
// as ESTABLISHED, except that a first SYN-ACK puts its sender in SYN_RECEIVED and
// the receiver in SYN_SENT. Where a capture misses one handshake segment the table
// assumes it arrived (for example, data from SYN_RECEIVED completes the handshake)
// rather than calling the rest of the connection invalid.
//
// TIME_WAIT ends after Config.TimeWait of capture time (default 60 s, Linux's
// 2×MSL); Step checks it before each segment and Expire can be called on idle
// connections. Timeline keeps the first TimelineCap−1 transitions and the newest.
//
// Memory: a Tracker is 368 bytes (two 32-byte endpoints and a 12-entry timeline of
// 24-byte transitions) with no pointers, so a flow table can hold it by value.
// Step does not allocate.
//
// # Zeek's view
//
// Zeek keeps its own, coarser endpoint states (INACTIVE, SYN_SENT, SYN_ACK_SENT,
// PARTIAL, ESTABLISHED, CLOSED, RESET). Type Zeek follows them packet by packet
// and derives conn_state (S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH,
// SHR, OTH, first matching rule wins) and the history string (s h a d f r c g t w
// i q ^; upper case for the originator; a d i q once per direction; s h f r again
// only when the sequence number differs from the previous packet with that flag;
// c g t w at the 1st, 10th, 100th … occurrence). It is written from the
// documented behaviour of Zeek's conn.log, not from Zeek's code. A Zeek is 184
// bytes and allocates only when the history passes 32 letters.
package fsm
