// The Temporal web UI for the local `cluster` stack: the UI server of github.com/temporalio/ui-server/v2 (the one
// the Temporal CLI embeds), configured from flags and pointed at a cluster's frontend. A program of our own rather
// than `go install .../cmd/server@v2.58.1`, because two of that release's pinned dependencies are not served by
// the module proxy (go.mod here selects served patch releases of them). Built by scripts/temporal-cluster.sh.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/temporalio/ui-server/v2/server"
	"github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/server_options"
)

// staticConfig hands the same configuration to the server each time it asks.
type staticConfig struct{ cfg *config.Config }

func (s staticConfig) GetConfig() (*config.Config, error) { return s.cfg, nil }

func main() {
	address := flag.String("address", "127.0.0.1:7233", "the Temporal frontend's gRPC address")
	host := flag.String("host", "127.0.0.1", "the address the UI listens on")
	port := flag.Int("port", 8233, "the UI's HTTP port")
	namespace := flag.String("namespace", "default", "the namespace the UI opens")
	flag.Parse()

	cfg := &config.Config{
		TemporalGRPCAddress: *address,
		Host:                *host,
		Port:                *port,
		EnableUI:            true,
		DefaultNamespace:    *namespace,
		Distribution:        "server",
		DisableNewsFetch:    true, // no calls out of the machine
		HideLogs:            true,
		CORS:                config.CORS{AllowOrigins: []string{fmt.Sprintf("http://%s:%d", *host, *port)}},
	}
	s := server.NewServer(server_options.WithConfigProvider(staticConfig{cfg}))
	defer s.Stop()
	if err := s.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "temporal-ui-server: %v\n", err)
		os.Exit(1)
	}
}
