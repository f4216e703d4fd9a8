// Package cli wires the commands to cobra. Each command has an options struct,
// a constructor that binds flags into it, and a plain run function that tests
// call directly with their own streams.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// Exit codes shared by every command.
const (
	ExitOK       = 0
	ExitViolated = 1 // check: a policy rule was violated
	ExitInput    = 2 // the input or the configuration is unusable
)

// ExitError carries an exit code with the error that caused it.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// IO holds the streams a command reads and writes.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	// OutIsTerminal says whether Out is a terminal, which picks the default format.
	OutIsTerminal bool
	// ErrIsTerminal says whether Err is a terminal, where a progress line
	// can be redrawn in place.
	ErrIsTerminal bool
	// progress is the --progress setting; outStreams says that the output
	// is written while the files are read (ndjson, CSV), which a progress
	// line on the same terminal would break up; now is the wall clock that
	// paces the progress line (tests set it).
	progress   progressMode
	outStreams bool
	now        func() time.Time
	// stopProfile ends the profiles of the hidden profiling flags, also when
	// the command failed.
	stopProfile func() error
}

// NewRoot builds the root command.
func NewRoot(s *IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "tcpflow-analyze",
		Short: "Explain what happened to every TCP connection in a capture",
		Long: `tcpflow-analyze follows every TCP connection in a packet capture, tracks both
endpoints' RFC 9293 states from the wire, and reports per flow what happened
and what went wrong.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var prof profileFlags
	prof.bind(root)
	s.stopProfile = prof.stop
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.AddCommand(newAnalyzeCmd(s))
	root.AddCommand(newExplainCmd(s))
	root.AddCommand(newCheckCmd(s))
	root.AddCommand(newLiveCmd(s))
	root.AddCommand(newGenCmd(s))
	root.AddCommand(newFlowCmd(s))
	return root
}

// Main runs the command line args and returns the exit code. It prints an error
// once, on the error stream.
func Main(args []string, in io.Reader, out, errw io.Writer) int {
	s := &IO{In: in, Out: out, Err: errw, OutIsTerminal: isTerminal(out), ErrIsTerminal: isTerminal(errw)}
	root := NewRoot(s)
	root.SetArgs(args)
	err := root.Execute()
	if perr := s.stopProfile(); perr != nil && err == nil {
		err = perr
	}
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(errw, "tcpflow-analyze:", err)
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitInput
}

// isTerminal reports whether the stream s is a terminal.
func isTerminal(s any) bool {
	f, ok := s.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// needFiles is the Args check of the commands that read captures.
func needFiles(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return &ExitError{ExitInput, fmt.Errorf("%s needs at least one capture file (or - for standard input); see %s --help", cmd.Name(), cmd.CommandPath())}
	}
	return nil
}
