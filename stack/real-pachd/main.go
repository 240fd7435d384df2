// Command real-pachd runs Pachyderm's own pachd (v2.12.2, full mode, auth on) without Kubernetes,
// for the project's tests and demo: the same in-process wiring as Pachyderm's testpachd
// (src/testing/testpachd), with PostgreSQL reached directly (no pgbouncer), an embedded etcd,
// object storage in a local folder and pachd's real HTTP server (REST gateway /api/, /pfs/,
// /healthz). Pipelines (PPS) cannot run here: there is no Kubernetes to run their workers.
//
// It lives in a module under Pachyderm's module path so that it may import src/internal.
// When ready it prints one JSON line on stdout: {"ready":true,"grpc":"…","http":"…","version":"…"}.
// On failure it prints pachd's own error on stderr and exits non-zero; a port already in use is
// named (exit code 3).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/docker/go-units"
	etcdcli "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	etcdwal "go.etcd.io/etcd/server/v3/wal"
	"go.uber.org/zap/zapcore"

	"github.com/pachyderm/pachyderm/v2/src/internal/client"
	"github.com/pachyderm/pachyderm/v2/src/internal/dbutil"
	"github.com/pachyderm/pachyderm/v2/src/internal/errors"
	"github.com/pachyderm/pachyderm/v2/src/internal/log"
	lokiclient "github.com/pachyderm/pachyderm/v2/src/internal/lokiutil/client"
	"github.com/pachyderm/pachyderm/v2/src/internal/obj"
	"github.com/pachyderm/pachyderm/v2/src/internal/pachconfig"
	"github.com/pachyderm/pachyderm/v2/src/internal/pachd"
	"github.com/pachyderm/pachyderm/v2/src/internal/pctx"
	pachhttp "github.com/pachyderm/pachyderm/v2/src/server/http"
	"github.com/pachyderm/pachyderm/v2/src/version"
)

var (
	grpcPort  = flag.Int("grpc-port", 0, "loopback port for pachd's gRPC API (0: any free port)")
	httpPort  = flag.Int("http-port", 0, "loopback port for pachd's HTTP server: REST gateway under /api/ (0: any free port)")
	dataDir   = flag.String("data-dir", "", "folder for etcd's data and the object storage (required)")
	pgHost    = flag.String("pg-host", "127.0.0.1", "PostgreSQL host")
	pgPort    = flag.Int("pg-port", 5432, "PostgreSQL port")
	pgUser    = flag.String("pg-user", "pachyderm", "PostgreSQL user (trust authentication)")
	pgDB      = flag.String("pg-db", "pachyderm", "PostgreSQL database")
	rootToken = flag.String("root-token", "", "activate auth with this root token (required)")
	showVer   = flag.Bool("version", false, "print the pachd version and exit")
)

const exitPortInUse = 3

func main() {
	flag.Parse()
	if *showVer {
		fmt.Println(version.PrettyVersion())
		return
	}
	if *dataDir == "" || *rootToken == "" {
		fmt.Fprintln(os.Stderr, "real-pachd: -data-dir and -root-token are required")
		os.Exit(2)
	}
	log.InitPachdLogger()
	ctx, stop := signal.NotifyContext(pctx.Background("real-pachd"), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "real-pachd: %v\n", err)
		if errors.Is(err, syscall.EADDRINUSE) {
			os.Exit(exitPortInUse)
		}
		os.Exit(1)
	}
}

// listen opens a loopback listener, naming the port in the error when it is taken.
func listen(name string, port int) (net.Listener, error) {
	lis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, errors.Wrapf(err, "%s port %d", name, port)
	}
	return lis, nil
}

func run(ctx context.Context) error {
	grpcLis, err := listen("grpc", *grpcPort)
	if err != nil {
		return err
	}
	httpLis, err := listen("http", *httpPort)
	if err != nil {
		return err
	}

	// PostgreSQL, directly: pachd's migrations and its listener need a session-mode connection.
	dbOpts := []dbutil.Option{
		dbutil.WithHostPort(*pgHost, *pgPort),
		dbutil.WithDBName(*pgDB),
		dbutil.WithUserPassword(*pgUser, ""),
		dbutil.WithSSLMode("disable"),
	}
	db, err := dbutil.NewDB(ctx, dbOpts...)
	if err != nil {
		return errors.Wrap(err, "open PostgreSQL connection")
	}
	defer db.Close()
	directDB, err := dbutil.NewDB(ctx, dbOpts...)
	if err != nil {
		return errors.Wrap(err, "open direct PostgreSQL connection")
	}
	defer directDB.Close()

	objDir := filepath.Join(*dataDir, "objects")
	if err := os.MkdirAll(objDir, 0o755); err != nil {
		return errors.Wrap(err, "create object storage folder")
	}
	bucket, err := obj.NewBucket(ctx, obj.Local, objDir, "")
	if err != nil {
		return errors.Wrap(err, "open local object storage")
	}

	etcdClient, closeEtcd, err := startEtcd(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer closeEtcd()

	env := pachd.Env{
		DB:               db,
		DirectDB:         directDB,
		DBListenerConfig: dbutil.GetDSN(ctx, dbOpts...),
		Bucket:           bucket,
		EtcdClient:       etcdClient,
		Listener:         grpcLis,
		GetLokiClient:    func() (*lokiclient.Client, error) { return nil, errors.New("no loki") },
	}
	config := pachconfig.PachdFullConfiguration{
		GlobalConfiguration: pachconfig.GlobalConfiguration{
			PeerPort:  uint16(grpcLis.Addr().(*net.TCPAddr).Port),
			Namespace: "default",
		},
		PachdSpecificConfiguration: pachconfig.PachdSpecificConfiguration{
			StorageConfiguration: pachconfig.StorageConfiguration{
				StorageMemoryThreshold:    units.GB,
				StorageLevelFactor:        10,
				StorageCompactionMaxFanIn: 10,
				StorageMemoryCacheSize:    20,
			},
		},
		EnterpriseSpecificConfiguration: pachconfig.EnterpriseSpecificConfiguration{
			ActivateAuth:     true,
			AuthRootToken:    *rootToken,
			EnterpriseSecret: *rootToken,
		},
	}
	pd := pachd.NewFull(env, config, &pachd.FullOption{})

	errCh := make(chan error, 2)
	go func() { errCh <- errors.Wrap(pd.Run(ctx), "pachd") }()

	// pachd's HTTP server builds a client per request from the request's own token, so the
	// factory must hand out a client without the root token.
	clientFactory := func(ctx context.Context) *client.APIClient {
		c, err := pd.PachClient(ctx)
		if err != nil {
			panic(err) // PachClient never fails; it only waits for pachd's own client.
		}
		c.SetAuthToken("")
		return c
	}
	httpServer, err := pachhttp.New(ctx, 0, clientFactory)
	if err != nil {
		return errors.Wrap(err, "pachd HTTP server")
	}
	go func() { errCh <- errors.Wrap(httpServer.Server.Serve(httpLis), "pachd HTTP server") }()

	ready := make(chan struct{})
	go func() {
		pd.AwaitAuth(ctx)
		if ctx.Err() == nil {
			close(ready)
		}
	}()
	select {
	case err := <-errCh:
		return err
	case <-ready:
	}
	line, _ := json.Marshal(map[string]any{
		"ready":   true,
		"grpc":    grpcLis.Addr().String(),
		"http":    httpLis.Addr().String(),
		"version": version.PrettyVersion(),
	})
	fmt.Println(string(line))

	select {
	case err := <-errCh:
		return err
	case <-ctx.Done():
		httpServer.Server.Close() //nolint:errcheck
		return nil
	}
}

// startEtcd starts an embedded etcd on a free loopback port, with testpachd's settings.
func startEtcd(ctx context.Context, dataDir string) (*etcdcli.Client, func(), error) {
	etcdwal.SegmentSizeBytes = 1 * 1000 * 1000 // 1 MB
	cfg := embed.NewConfig()
	cfg.Dir = filepath.Join(dataDir, "etcd_data")
	cfg.WalDir = filepath.Join(dataDir, "etcd_wal")
	cfg.UnsafeNoFsync = true
	cfg.MaxTxnOps = 10000
	cfg.InitialElectionTickAdvance = false
	cfg.TickMs = 10
	cfg.ElectionMs = 50
	level := log.AddLoggerToEtcdServer(ctx, cfg)
	level.SetLevel(zapcore.ErrorLevel)
	lis, err := listen("etcd", 0)
	if err != nil {
		return nil, nil, err
	}
	clientURL := url.URL{Scheme: "http", Host: lis.Addr().String()}
	lis.Close() //nolint:errcheck // etcd opens it again; testpachd does the same.
	cfg.ListenPeerUrls = []url.URL{}
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	etcd, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, nil, errors.Wrap(err, "start etcd")
	}
	select {
	case <-etcd.Server.ReadyNotify():
	case <-ctx.Done():
		etcd.Close()
		return nil, nil, errors.Wrap(context.Cause(ctx), "wait for etcd")
	}
	clientCfg := log.GetEtcdClientConfig(ctx)
	clientCfg.Endpoints = []string{clientURL.String()}
	clientCfg.DialOptions = client.DefaultDialOptions()
	etcdClient, err := etcdcli.New(clientCfg)
	if err != nil {
		etcd.Close()
		return nil, nil, errors.Wrap(err, "etcd client")
	}
	return etcdClient, func() { etcdClient.Close(); etcd.Close() }, nil //nolint:errcheck
}
