// Command tcpflow-analyze explains what happened to every TCP connection in a
// packet capture. See README.md for the commands and the report schema.
package main

import (
	"os"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
