package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
)

// GenOptions are the settings of the gen command.
type GenOptions struct {
	Output string // file to write; "" or "-" is standard output
	Mix    pcapgen.MixOptions
	Quiet  bool // no summary on the error stream
}

// DefaultGenOptions returns the gen command's defaults: about 2 M packets in
// 200 k connections, 1000 at a time, 10 k spoofed SYNs.
func DefaultGenOptions() GenOptions {
	return GenOptions{Mix: pcapgen.MixOptions{
		Packets: 2_000_000, Connections: 200_000, Concurrency: 1000, Seed: 1,
		FloodSources: 10_000, Loss: 0.002, Reuse: 0.01,
	}}
}

func newGenCmd(s *IO) *cobra.Command {
	o := DefaultGenOptions()
	cmd := &cobra.Command{
		Use:   "gen [flags]",
		Short: "Write a large synthetic capture of mixed TCP traffic, for benchmarks",
		Long: `gen writes a capture of realistic TCP traffic, the same bytes for the same flags:
short HTTP-like connections (request, response, the client closes; some refused,
some reset), bulk transfers with loss, drops before the capture point and
reordering, 4-tuples reused in TIME_WAIT, and a SYN flood from spoofed sources.
Connections run in --concurrency slots interleaved on the capture clock, so
memory stays small whatever the size. --packets counts every packet, the flood's
too; --connections counts the ordinary connections only. --pcapng, --ipv6,
--vlan and --cooked write the same connections in the forms real captures come
in. A summary goes to the error stream.`,
		Example: `  tcpflow-analyze gen -w /tmp/mix.pcap
  tcpflow-analyze gen --packets 10000000 --connections 1000000 -w /tmp/big.pcap
  tcpflow-analyze gen --packets 3000000 --connections 0 --flood-sources 1000000 -w /tmp/flood.pcap
  tcpflow-analyze gen --pcapng --ipv6 --vlan 100 -w /tmp/mix6.pcapng
  tcpflow-analyze gen --packets 20000 --connections 2000 | tcpflow-analyze analyze -o table -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return RunGen(&o, s)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Output, "write", "w", "", "file to write (default: standard output)")
	f.IntVar(&o.Mix.Packets, "packets", o.Mix.Packets, "packets to aim for, the flood included")
	f.IntVar(&o.Mix.Connections, "connections", o.Mix.Connections, "ordinary connections (the flood not included)")
	f.IntVar(&o.Mix.Concurrency, "concurrency", o.Mix.Concurrency, "connection slots: connections open at once")
	f.DurationVar(&o.Mix.Think, "think", o.Mix.Think, "mean idle time of a slot between its connections (0: back to back)")
	f.Uint64Var(&o.Mix.Seed, "seed", o.Mix.Seed, "seed: the same flags and seed give the same file")
	f.IntVar(&o.Mix.FloodSources, "flood-sources", o.Mix.FloodSources, "spoofed sources of a SYN flood (0: no flood)")
	f.IntVar(&o.Mix.FloodRate, "flood-rate", 50000, "flood SYNs per second of capture time")
	f.Float64Var(&o.Mix.Loss, "loss", o.Mix.Loss, "probability that a data segment is lost or reordered (0: none)")
	f.Float64Var(&o.Mix.Reuse, "reuse", o.Mix.Reuse, "probability that a connection reuses a 4-tuple in TIME_WAIT (0: none)")
	f.BoolVar(&o.Mix.NG, "pcapng", false, "write pcapng instead of pcap")
	f.BoolVar(&o.Mix.IPv6, "ipv6", false, "the same traffic over IPv6 (2001:db8::a.b.c.d for a.b.c.d)")
	f.Uint16Var(&o.Mix.VLAN, "vlan", 0, "tag every frame with this 802.1Q VLAN (0: none)")
	f.BoolVar(&o.Mix.Cooked, "cooked", false, "Linux cooked v2 headers (as tcpdump -i any writes) instead of Ethernet")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "print no summary")
	return cmd
}

// RunGen runs the gen command: it writes the capture o asks for to o.Output
// (standard output when empty or "-") and a summary to the error stream.
func RunGen(o *GenOptions, s *IO) error {
	mix := o.Mix
	// On the command line 0 means none; in MixOptions it means the default.
	if mix.Loss == 0 {
		mix.Loss = -1
	}
	if mix.Reuse == 0 {
		mix.Reuse = -1
	}
	if mix.Concurrency <= 0 {
		return &ExitError{ExitInput, errors.New("gen: --concurrency must be at least 1")}
	}
	w := s.Out
	var f *os.File
	if o.Output != "" && o.Output != "-" {
		var err error
		if f, err = os.Create(o.Output); err != nil {
			return &ExitError{ExitInput, fmt.Errorf("gen: %w", err)}
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	start := time.Now()
	st, err := pcapgen.WriteMix(bw, mix)
	if err != nil {
		return &ExitError{ExitInput, fmt.Errorf("gen: %w", err)}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
	}
	if !o.Quiet {
		el := time.Since(start)
		fmt.Fprintf(s.Err, "gen: %d packets, %d connections (%d bulk, %d refused, %d aborted, %d reused 4-tuples, %d loss events), %d flood SYNs, %s of capture time; %.1f s, %.2f M packets/s\n",
			st.Packets, st.Connections, st.Bulk, st.Refused, st.Aborted, st.Reused, st.LossEvents, st.FloodSYNs,
			st.Duration.Round(time.Millisecond), el.Seconds(), float64(st.Packets)/el.Seconds()/1e6)
	}
	return nil
}
