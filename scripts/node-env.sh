# Sourced by the scripts that run the project (setup.sh, test.sh, with-node.sh): puts a Node.js of a supported
# line first on PATH. Supported: Node.js 22 and newer (package.json "engines"; 20 reached end of life on
# 2026-04-30). When the node on PATH is older, or CT_NODE_OLDEST=1 asks for the oldest supported line (CI sets
# it, so CI tests the oldest), the pinned Node.js 22 is installed once from the npm registry (the official
# binaries, packaged as node-linux-<arch>) into .cache/node.
NODE_OLDEST=22.23.5
ct_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [[ "${CT_NODE_OLDEST:-}" == 1 || $(ct_node_major) -lt 22 ]]; then
  case "$(uname -m)" in
    x86_64) ct_node_arch=x64 ;;
    aarch64 | arm64) ct_node_arch=arm64 ;;
    *) echo "[node] no Node.js 22 package for $(uname -m): install Node.js 22 or newer yourself" >&2; exit 1 ;;
  esac
  ct_node_dir="$PWD/.cache/node/$NODE_OLDEST"
  ct_node_bin="$ct_node_dir/node_modules/node-linux-$ct_node_arch/bin"
  if [[ ! -x "$ct_node_bin/node" ]]; then
    echo "[node] installing Node.js $NODE_OLDEST into .cache/node (the node on PATH is $(node --version 2>/dev/null || echo missing))" >&2
    npm install --prefix "$ct_node_dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-$ct_node_arch@$NODE_OLDEST" >&2
  fi
  export PATH="$ct_node_bin:$PATH"
fi
